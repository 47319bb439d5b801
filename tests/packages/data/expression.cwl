cwlVersion: v1.2
class: ExpressionTool
label: Double
doc:
  - Doubles a number.
  - Written as an ExpressionTool.
requirements:
  InlineJavascriptRequirement: {}
inputs:
  x: int
outputs:
  doubled: int
expression: "$({doubled: inputs.x * 2})"
