# Chained graphs (tests/test_processgraphs.py): writes a text into a file and counts it.
cwlVersion: v1.2
class: CommandLineTool
id: write
label: Write
doc: Writes a text into text.txt, and says how many characters it has.
requirements:
  InlineJavascriptRequirement: {}
baseCommand: [sh, -c, 'printf "%s" "$0" > text.txt']
inputs:
  text:
    type: string
    inputBinding: {position: 1}
outputs:
  file:
    type: File
    outputBinding: {glob: text.txt}
  length:
    type: int
    outputBinding:
      glob: text.txt
      loadContents: true
      outputEval: $(self[0].contents.length)
