# Runs until the file named by its input exists, then succeeds.
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c, 'while [ ! -e "$0" ]; do sleep 0.05; done; echo done']
inputs:
  flag: {type: string, inputBinding: {position: 1}}
outputs:
  said: {type: stdout}
