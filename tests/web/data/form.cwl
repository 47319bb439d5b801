# Every kind of input the execute form draws: a string, an integer with a default, an
# optional number, an enum, a boolean, an array of strings and an optional File.
cwlVersion: v1.2
class: CommandLineTool
id: form
label: Every kind of input
doc: Writes its string input back; the other inputs only shape the form.
$namespaces:
  s: https://schema.org/
s:softwareVersion: 0.1.0
baseCommand: [sh, -c, 'printf "%s x%s" "$0" "$1" > out.txt']
inputs:
  - id: name
    type: string
    label: Name
    doc: Who to greet.
    inputBinding: {position: 1}
  - id: count
    type: int
    default: 3
    label: Count
    inputBinding: {position: 2}
  - id: ratio
    type: double?
    label: Ratio
  - id: mode
    type:
      type: enum
      symbols: [fast, slow]
    default: fast
    label: Mode
  - id: verbose
    type: boolean
    default: false
    label: Verbose
  - id: tags
    type: string[]?
    label: Tags
  - id: scene
    type: File?
    label: Scene
    doc: A GeoTIFF to look at.
outputs:
  - id: greeting
    type: string
    outputBinding:
      glob: out.txt
      loadContents: true
      outputEval: $(self[0].contents)
