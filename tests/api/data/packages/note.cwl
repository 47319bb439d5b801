cwlVersion: v1.2
class: CommandLineTool
id: note
label: Writes a note
doc: One result file, not located, holding the text given.
baseCommand: [sh, -c, 'printf "%s" "$0" > note.txt']
inputs:
  text: {type: string, inputBinding: {position: 1}}
outputs:
  note: {type: File, outputBinding: {glob: note.txt}}
