# Succeeds: a File and a string output, run by the server's python3, with a container hint.
cwlVersion: v1.2
$graph:
  - id: main
    class: CommandLineTool
    hints:
      DockerRequirement:
        dockerPull: docker.io/library/python:3.12-slim
    baseCommand: [python3, -c]
    arguments:
      - |
        import sys
        name = sys.argv[1]
        open("greeting.txt", "w").write(f"hello {name}\n")
        open("python.txt", "w").write(sys.prefix)
        print(f"greeted {name}", file=sys.stderr)
    inputs:
      name:
        type: string
        inputBinding: {position: 1}
    outputs:
      greeting:
        type: File
        outputBinding: {glob: greeting.txt}
      python:
        type: string
        outputBinding:
          glob: python.txt
          loadContents: true
          outputEval: $(self[0].contents)
