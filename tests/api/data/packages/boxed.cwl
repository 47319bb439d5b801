cwlVersion: v1.2
class: Workflow
id: boxed
inputs:
  name: string
outputs:
  out: {type: File, outputSource: hello/out}
steps:
  hello:
    run:
      class: CommandLineTool
      requirements:
        DockerRequirement: {dockerPull: "docker.io/library/alpine:3.20"}
      baseCommand: echo
      inputs:
        name: {type: string, inputBinding: {position: 1}}
      outputs:
        out: stdout
    in: {name: name}
    out: [out]
