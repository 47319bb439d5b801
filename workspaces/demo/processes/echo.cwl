cwlVersion: v1.2
class: CommandLineTool
id: echo
label: Echo
doc: >-
  The OGC API - Processes test process: answers with exactly the string it was given,
  optionally after waiting a number of seconds, and echoes a value of mixed type.

$namespaces:
  s: https://schema.org/
  ades: https://ades.dev/cwl#
s:softwareVersion: 1.0.0

hints:
  - class: ades:JobControl
    jobControlOptions: [sync-execute, async-execute, dismiss]

# The string arrives as $0 and the pause as $1 (absent when not given). `sleep` runs first
# so the answer only appears once the pause is over; printf '%s' writes the string verbatim
# (no trailing newline, no escape processing).
baseCommand: [sh, -c, 'sleep "${1:-0}" && printf "%s" "$0" > echo.txt']

# A list, not a map: schema-salad sorts map keys, and OGC clients (the CITE suite among
# them) take the first input of the description as the plain string to send.
inputs:
  - id: stringInput
    type: string
    label: String input
    doc: The string to echo back.
    inputBinding:
      position: 1
  - id: pause
    type: float?
    label: Pause
    doc: Seconds to wait before answering.
    inputBinding:
      position: 2
  - id: mixedInput
    type: ["null", string, double]
    label: Mixed input
    doc: A string or a number, echoed back as mixedOutput.

outputs:
  - id: echoOutput
    type: string
    label: Echo output
    doc: The input string, unchanged.
    outputBinding:
      glob: echo.txt
      loadContents: true
      outputEval: $(self[0].contents)
  - id: mixedOutput
    type: ["null", string, double]
    label: Mixed output
    doc: mixedInput, unchanged (absent when mixedInput was not given).
    outputBinding:
      outputEval: $(inputs.mixedInput)
