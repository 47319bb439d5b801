# Chained graphs (tests/test_processgraphs.py): a $graph package (#main and a tool) that
# turns a text file into capitals, as text and as a one-column CSV table.
cwlVersion: v1.2
$graph:
  - class: Workflow
    id: main
    label: Upper
    inputs:
      source: File
      header:
        type: string
        default: text
    outputs:
      text:
        type: File
        outputSource: upper/text
      table:
        type: File
        outputSource: upper/table
    steps:
      upper:
        run: "#upper"
        in: {source: source, header: header}
        out: [text, table]
  - class: CommandLineTool
    id: upper
    baseCommand:
      - sh
      - -c
      - 'tr a-z A-Z < "$0" > upper.txt && printf "%s\n%s\n" "$1" "$(cat upper.txt)" > upper.csv'
    inputs:
      source:
        type: File
        inputBinding: {position: 1}
      header:
        type: string
        inputBinding: {position: 2}
    outputs:
      text:
        type: File
        outputBinding: {glob: upper.txt}
      table:
        type: File
        outputBinding: {glob: upper.csv}
