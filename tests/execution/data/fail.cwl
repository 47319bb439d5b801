# Fails: exit code 3 after two lines on stderr; the script spans lines, as real ones do.
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c]
arguments:
  - |
    echo "reading band B04" >&2
    echo "error: band B08 missing from scene" >&2
    exit 3
inputs: []
outputs: []
