cwlVersion: v1.2
# Version 2 of app.cwl (the README replaces the deployed process 'snuggs' with it):
# the same inputs and outputs, another greeting and version.
$namespaces:
  s: https://schema.org/
s:softwareVersion: 1.3.0

$graph:
  - class: Workflow
    id: snuggs
    label: Greet someone
    doc: Writes "Hello again, <name>!" to greeting.txt.
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
    baseCommand: [printf, "Hello again, %s!\n"]
    inputs:
      name:
        type: string
        inputBinding: {position: 1}
    stdout: greeting.txt
    outputs:
      greeting:
        type: stdout
