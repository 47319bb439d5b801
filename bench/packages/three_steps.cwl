# The benchmark's workflow: three steps, the first scattered over the words, each a small
# shell tool, and File outputs to stage out.
cwlVersion: v1.2
class: Workflow
id: three_steps
label: Three steps
doc: Shouts each word (scattered), joins the shouts, counts their lines.
requirements:
  ScatterFeatureRequirement: {}
inputs:
  words: string[]
outputs:
  joined: {type: File, outputSource: join/joined}
  counted: {type: File, outputSource: count/counted}
steps:
  shout:
    run:
      class: CommandLineTool
      baseCommand: [sh, -c, 'printf "%s\n" "$0" | tr a-z A-Z']
      inputs:
        word: {type: string, inputBinding: {position: 1}}
      stdout: shout.txt
      outputs:
        loud: {type: stdout}
    in: {word: words}
    scatter: word
    out: [loud]
  join:
    run:
      class: CommandLineTool
      baseCommand: cat
      inputs:
        parts: {type: 'File[]', inputBinding: {position: 1}}
      stdout: joined.txt
      outputs:
        joined: {type: stdout}
    in: {parts: shout/loud}
    out: [joined]
  count:
    run:
      class: CommandLineTool
      baseCommand: [sh, -c, 'wc -l < "$0"']
      inputs:
        text: {type: File, inputBinding: {position: 1}}
      stdout: counted.txt
      outputs:
        counted: {type: stdout}
    in: {text: join/joined}
    out: [counted]
