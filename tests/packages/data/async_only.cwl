cwlVersion: v1.2
class: CommandLineTool
id: slow
$namespaces:
  ades: https://ades.dev/cwl#
hints:
  - class: ades:JobControl
    jobControlOptions: [async-execute, dismiss]
baseCommand: "true"
inputs: []
outputs: []
