# Fails in its second step, `ndvi`, whose stderr is captured to a file by `stderr:`.
cwlVersion: v1.2
$graph:
  - id: main
    class: Workflow
    inputs:
      scene: string
    outputs:
      ndvi:
        type: File
        outputSource: ndvi/ndvi
    steps:
      fetch:
        run: "#fetch"
        in: {scene: scene}
        out: [bands]
      ndvi:
        run: "#ndvi"
        in: {bands: fetch/bands}
        out: [ndvi]
  - id: fetch
    class: CommandLineTool
    baseCommand: echo
    inputs:
      scene:
        type: string
        inputBinding: {position: 1}
    stdout: bands.txt
    outputs:
      bands: {type: stdout}
  - id: ndvi
    class: CommandLineTool
    baseCommand: [sh, -c]
    arguments:
      - 'echo "scene `cat "$0"`" >&2; echo "ndvi: cannot read band B08" >&2; exit 3'
      - $(inputs.bands.path)
    inputs:
      bands: File
    stderr: ndvi.err
    outputs:
      ndvi:
        type: File
        outputBinding: {glob: ndvi.tif}
