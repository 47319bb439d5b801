cwlVersion: v1.2
class: Workflow
id: fail
label: Fails in its second step
doc: A two-step workflow whose second step writes to stderr and exits 3.
inputs:
  message: string
outputs:
  result:
    type: File
    outputSource: explode/out
steps:
  prepare:
    run:
      class: CommandLineTool
      baseCommand: [sh, -c, 'printf "%s" "$0" > prepared.txt']
      inputs:
        message: {type: string, inputBinding: {position: 1}}
      outputs:
        prepared: {type: File, outputBinding: {glob: prepared.txt}}
    in: {message: message}
    out: [prepared]
  explode:
    run:
      class: CommandLineTool
      baseCommand: [sh, -c, 'echo "band B04 is missing from $0" >&2; exit 3']
      inputs:
        prepared: {type: File, inputBinding: {position: 1}}
      outputs:
        out: {type: File, outputBinding: {glob: never.txt}}
    in: {prepared: prepare/prepared}
    out: [out]
