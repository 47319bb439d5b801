# Chained graphs (tests/test_processgraphs.py): takes a list of files, as a list of
# {"from_node": ...} references gives them.
cwlVersion: v1.2
class: CommandLineTool
id: gather
baseCommand: cat
inputs:
  files:
    type: File[]
    inputBinding: {position: 1}
stdout: gathered.txt
outputs:
  gathered: stdout
