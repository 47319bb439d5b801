# Succeeds: a workflow whose one step is scattered over the words, each element in a tool
# that asks for 512 MiB and 1 to 2 cores.
cwlVersion: v1.2
$graph:
  - id: main
    class: Workflow
    requirements:
      ScatterFeatureRequirement: {}
    inputs:
      words: string[]
    outputs:
      shouted:
        type: File[]
        outputSource: shout/shouted
    steps:
      shout:
        run: "#shout"
        scatter: word
        in: {word: words}
        out: [shouted]
  - id: shout
    class: CommandLineTool
    requirements:
      ResourceRequirement: {ramMin: 512, coresMin: 1, coresMax: 2}
    baseCommand: [sh, -c]
    arguments: ['echo "$0" | tr a-z A-Z; echo "shouted $0" >&2', $(inputs.word)]
    inputs:
      word: string
    stdout: shouted.txt
    outputs:
      shouted: {type: stdout}
