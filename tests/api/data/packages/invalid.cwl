cwlVersion: v1.2
class: CommandLineTool
id: broken
baseCommand: echo
inputs:
  name: {type: strng}
outputs: []
