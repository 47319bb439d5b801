{"cwlVersion": "v1.2", "class": "CommandLineTool", "baseCommand": "true",
 "inputs": {"n": {"type": "int", "default": 3}}, "outputs": {}}
