cwlVersion: v1.2
class: CommandLineTool
id: greet
label: Greet
$namespaces:
  s: https://schema.org/
s:softwareVersion: 0.1.0
baseCommand: python3
arguments: [-c, 'import sys; sys.stdout.write(sys.argv[1] + ", " + sys.argv[2])']
inputs:
  greeting: {type: string, default: Hello, inputBinding: {position: 1}}
  name: {type: string, inputBinding: {position: 2}}
stdout: out.txt
outputs:
  message:
    type: string
    outputBinding:
      glob: out.txt
      loadContents: true
      outputEval: $(self[0].contents)
