# Three steps in a row; each writes a few lines to stderr, pausing between them.
cwlVersion: v1.2
$graph:
  - id: main
    class: Workflow
    label: Three steps in a row
    requirements:
      StepInputExpressionRequirement: {}
    inputs:
      pause: {type: float, default: 0.3}
    outputs:
      result:
        type: File
        outputSource: third/out
    steps:
      first:
        run: "#talk"
        in: {pause: pause, name: {valueFrom: first}}
        out: [out]
      second:
        run: "#talk"
        in: {pause: pause, name: {valueFrom: second}}
        out: [out]
      third:
        run: "#talk"
        in: {pause: pause, name: {valueFrom: third}}
        out: [out]
  - id: talk
    class: CommandLineTool
    baseCommand: [sh, -c]
    arguments:
      - 'for i in 1 2 3 4; do echo "$1 says $i" >&2; sleep "$0"; done; echo "$1" > out.txt'
      - $(inputs.pause)
      - $(inputs.name)
    inputs:
      pause: float
      name: string
    outputs:
      out: {type: File, outputBinding: {glob: out.txt}}
