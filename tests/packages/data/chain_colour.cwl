# Chained graphs (tests/test_processgraphs.py): inputs of named types (a
# SchemaDefRequirement's), given as values of the Workflow a chain becomes.
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
          width: int
inputs:
  colour:
    type: Colour
    inputBinding: {position: 1}
  size:
    type: Size
    inputBinding: {position: 2, valueFrom: $(self.width)}
  text:
    type: File
    inputBinding: {position: 3}
baseCommand: echo
stdout: out.txt
outputs:
  out: stdout
