cwlVersion: v1.2
# A sample application package for the README's deploy examples: a $graph whose workflow
# "snuggs" runs one tool, "say", that writes a greeting to a file. It names no container
# image, so the server deploys it with a Best Practice warning and runs the tool from its
# own environment.
$namespaces:
  s: https://schema.org/
s:softwareVersion: 1.2.0

$graph:
  - class: Workflow
    id: snuggs
    label: Greet someone
    doc: Writes "Hello, <name>!" to greeting.txt.
    inputs:
      name:
        type: string
        label: Who to greet
        default: world
    outputs:
      greeting:
        type: File
        outputSource: say/greeting
    steps:
      say:
        run: "#say"
        in:
          name: name
        out: [greeting]

  - class: CommandLineTool
    id: say
    baseCommand: [printf, "Hello, %s!\n"]
    inputs:
      name:
        type: string
        inputBinding: {position: 1}
    stdout: greeting.txt
    outputs:
      greeting:
        type: stdout
