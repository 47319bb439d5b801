# Runs until it is cancelled, and shrugs off SIGTERM: only SIGKILL ends it.
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c]
arguments: ["trap '' TERM; sleep 300"]
inputs: []
outputs: []
