cwlVersion: v1.2
$graph:
  - class: Workflow
    id: convert
    label: Convert
    inputs:
      word: string
    outputs:
      said:
        type: File
        outputSource: say/out
    steps:
      say:
        run: "#say"
        in: {word: word}
        out: [out]
  - class: CommandLineTool
    id: say
    baseCommand: echo
    inputs:
      word:
        type: string
        inputBinding: {position: 1}
    outputs:
      out: stdout
