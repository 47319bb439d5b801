cwlVersion: v1.2
$namespaces:
  s: https://schema.org/
s:softwareVersion: 2.0.1
$graph:
  - class: Workflow
    id: tidy
    label: Tidy
    doc: Copies a staged-in folder (a STAC catalog) to a staged-out one.
    inputs:
      source:
        type: Directory
    outputs:
      copied:
        type: Directory
        outputSource: copy/copied
    steps:
      copy:
        run: "#copy"
        in: {source: source}
        out: [copied]
  - class: CommandLineTool
    id: copy
    hints:
      DockerRequirement:
        dockerPull: docker.io/library/python:3.12-slim
    baseCommand: [cp, -r]
    arguments: [$(inputs.source.path), copied]
    inputs:
      source: Directory
    outputs:
      copied:
        type: Directory
        outputBinding: {glob: copied}
