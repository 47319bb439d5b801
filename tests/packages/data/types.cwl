cwlVersion: v1.2
class: CommandLineTool
label: Every input type
doc: A tool whose inputs cover each CWL type the schema mapping knows.
requirements:
  SchemaDefRequirement:
    types:
      - name: Colour
        type: enum
        symbols: [red, green, blue]
baseCommand: "true"
inputs:
  text: string
  count: int
  big: long
  ratio: float
  precise: double
  flag: boolean
  maybe: string?
  level:
    type: [ "null", int ]
  choice:
    type:
      type: enum
      symbols: [low, high]
  colour: Colour
  colours: Colour[]
  image: File
  folder: Directory
  images: File[]
  folders: Directory[]?
  words: string[]
  nested:
    type:
      type: array
      items:
        type: array
        items: int
  options:
    type:
      type: record
      fields:
        size: int
        label: string?
  anything: Any
  tuned:
    type: float
    default: 0.5
    label: Tuned
    doc: A number with a default.
  mode:
    type:
      type: enum
      symbols: [fast, slow]
    default: fast
  either:
    type: [int, string]
outputs:
  out: stdout
  log:
    type: File
    outputBinding: {glob: log.txt}
  results:
    type: Directory
    outputBinding: {glob: results}
  many:
    type: File[]
    outputBinding: {glob: "*.tif"}
  value:
    type: int?
    outputBinding:
      glob: log.txt
      loadContents: true
      outputEval: $(self[0].size)
