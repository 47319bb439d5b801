# Chained graphs (tests/test_processgraphs.py): ports whose types the generated Workflow
# must declare too: named types (a SchemaDefRequirement's), and types holding the tool's
# own bindings, which a Workflow's types may not.
cwlVersion: v1.2
class: CommandLineTool
requirements:
  SchemaDefRequirement:
    types:
      - name: Colour
        type: enum
        symbols: [red, green, blue]
      - name: Size
        type: record
        fields:
          width:
            type: int
            inputBinding: {prefix: --width}
inputs:
  colour:
    type: Colour
    inputBinding: {position: 1}
  size:
    type: Size
    inputBinding: {position: 2}
  words:
    type:
      type: array
      items: string
      inputBinding: {prefix: --word}
    inputBinding: {position: 3}
  text:
    type: File
    inputBinding: {position: 4}
baseCommand: echo
stdout: out.txt
outputs:
  report:
    type:
      type: record
      fields:
        out:
          type: File
          outputBinding: {glob: out.txt}
