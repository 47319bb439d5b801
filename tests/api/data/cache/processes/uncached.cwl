cwlVersion: v1.2
class: CommandLineTool
id: uncached
label: Echoes a string, never from the result cache
doc: Its ades:Cache hint turns the result cache off for its jobs.
$namespaces:
  ades: https://ades.dev/cwl#
hints:
  - class: ades:Cache
    enabled: false
baseCommand: [sh, -c, 'printf "%s" "$0" > out.txt']
inputs:
  text:
    type: string
    inputBinding: {position: 1}
outputs:
  echoed:
    type: string
    outputBinding:
      glob: out.txt
      loadContents: true
      outputEval: $(self[0].contents)
