# Prints what a package can see of the environment: its own, and that of the process that
# started it (cwltool, without a container), which /proc shows to the same user.
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c]
arguments:
  - |
    env
    echo "--- parent $PPID"
    tr '\0' '\n' < /proc/$PPID/environ
stdout: environment.txt
inputs: []
outputs:
  environment: {type: stdout}
