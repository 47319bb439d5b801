# Runs until it is cancelled.
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sleep, "300"]
inputs: []
outputs: []
