cwlVersion: v1.2
$namespaces:
  s: https://schema.org/
s:softwareVersion: 1.2.0
$graph:
  - class: Workflow
    id: snuggs
    label: Snuggs
    doc: Says every word in its own sub-workflow, then gathers the lines in a folder.
    requirements:
      ScatterFeatureRequirement: {}
      SubworkflowFeatureRequirement: {}
      StepInputExpressionRequirement: {}
    inputs:
      words:
        type: string[]
        label: Words to say
      mode:
        type:
          type: enum
          symbols: [loud, quiet]
        default: loud
      repeat:
        type: int
        default: 2
      suffix:
        type: string?
      style:
        type:
          - "null"
          - type: record
            fields:
              prefix: string
              times: int?
    outputs:
      lines:
        type: string[]
        outputSource: each/line
      gathered:
        type: Directory
        outputSource: gather/folder
    steps:
      each:
        run: "#say_one"
        scatter: word
        in:
          word: words
          # The sub-workflow takes the symbol as a plain string.
          mode: {source: mode, valueFrom: $(self)}
          repeat: repeat
          suffix: suffix
          style: style
        out: [line]
      gather:
        run: "#gather"
        in:
          lines: each/line
        out: [folder]
  - class: Workflow
    id: say_one
    inputs:
      word: string
      mode: string
      repeat: int
      suffix: string?
      style:
        type:
          - "null"
          - type: record
            fields:
              prefix: string
              times: int?
    outputs:
      line:
        type: string
        outputSource: say/line
    steps:
      say:
        run: "#say"
        in:
          word: word
          mode: mode
          repeat: repeat
          suffix: suffix
          style: style
        out: [line]
  - class: CommandLineTool
    id: say
    baseCommand: python3
    arguments:
      - -c
      - |
        import argparse, sys
        p = argparse.ArgumentParser()
        p.add_argument("word"); p.add_argument("--mode"); p.add_argument("--repeat", type=int)
        p.add_argument("--suffix", default=""); p.add_argument("--prefix", default="")
        p.add_argument("--times", type=int, default=1)
        a = p.parse_args()
        word = a.word.upper() if a.mode == "loud" else a.word.lower()
        sys.stdout.write(a.prefix * a.times + " ".join([word] * a.repeat) + a.suffix)
    inputs:
      word: {type: string, inputBinding: {position: 1}}
      mode: {type: string, inputBinding: {prefix: --mode}}
      repeat: {type: int, inputBinding: {prefix: --repeat}}
      suffix: {type: string?, inputBinding: {prefix: --suffix}}
      style:
        type:
          - "null"
          - type: record
            fields:
              prefix: {type: string, inputBinding: {prefix: --prefix}}
              times: {type: int?, inputBinding: {prefix: --times}}
    stdout: line.txt
    outputs:
      line:
        type: string
        outputBinding:
          glob: line.txt
          loadContents: true
          outputEval: $(self[0].contents)
  - class: CommandLineTool
    id: gather
    baseCommand: python3
    arguments:
      - -c
      - |
        import os, sys
        os.makedirs("gathered")
        with open("gathered/lines.txt", "w") as f:
            f.write("\n".join(sys.argv[1:]) + "\n")
    inputs:
      lines: {type: "string[]", inputBinding: {position: 1}}
    outputs:
      folder:
        type: Directory
        outputBinding: {glob: gathered}
