cwlVersion: v1.2
$namespaces:
  s: https://schema.org/
s:softwareVersion: 2.1.0
$graph:
  - class: Workflow
    id: main
    label: Greeting workflow
    doc: Greets someone through one tool step.
    inputs:
      who:
        type: string
        label: Who
        doc: The name to greet.
    outputs:
      greeting:
        type: File
        outputSource: greet/out
    steps:
      greet:
        run: "#greet"
        in:
          who: who
        out: [out]
  - class: CommandLineTool
    id: greet
    baseCommand: echo
    inputs:
      who:
        type: string
        inputBinding: {position: 1}
    outputs:
      out: stdout
