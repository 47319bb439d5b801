# A tool that asks for 2 GiB to 3 GiB of memory and 2 cores, as a hint.
cwlVersion: v1.2
class: CommandLineTool
hints:
  ResourceRequirement: {ramMin: 2048, ramMax: 3072, coresMin: 2}
baseCommand: "true"
inputs: []
outputs: []
