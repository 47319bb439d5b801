# Fails in the second of three scattered jobs of step `tile`, inside a subworkflow.
cwlVersion: v1.2
$graph:
  - id: main
    class: Workflow
    requirements:
      SubworkflowFeatureRequirement: {}
    inputs:
      codes: int[]
    outputs: []
    steps:
      tiles:
        run: "#tiles"
        in: {codes: codes}
        out: []
  - id: tiles
    class: Workflow
    requirements:
      ScatterFeatureRequirement: {}
    inputs:
      codes: int[]
    outputs: []
    steps:
      tile:
        run: "#tile"
        scatter: code
        in: {code: codes}
        out: []
  - id: tile
    class: CommandLineTool
    baseCommand: [sh, -c]
    arguments: ['echo "tile exits $0" >&2; exit $0', $(inputs.code)]
    inputs:
      code: int
    outputs: []
