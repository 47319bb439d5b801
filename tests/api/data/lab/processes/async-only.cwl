cwlVersion: v1.2
class: CommandLineTool
id: async-only
label: Runs only as a job
$namespaces:
  ades: https://ades.dev/cwl#
hints:
  ades:JobControl:
    jobControlOptions: [async-execute, dismiss]
baseCommand: [echo]
inputs:
  word: {type: string, inputBinding: {position: 1}}
stdout: word.txt
outputs:
  said: {type: stdout}
