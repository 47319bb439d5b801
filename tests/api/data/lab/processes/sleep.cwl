cwlVersion: v1.2
class: CommandLineTool
id: sleep
label: Sleeps
doc: Waits the given number of seconds, then writes a file.
baseCommand: [sh, -c, 'sleep "$0" && echo done > slept.txt']
inputs:
  seconds: {type: float, inputBinding: {position: 1}}
outputs:
  slept: {type: File, outputBinding: {glob: slept.txt}}
