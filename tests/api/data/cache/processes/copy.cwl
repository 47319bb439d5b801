cwlVersion: v1.2
class: CommandLineTool
id: copy
label: Copies a file, plain and in a STAC catalog
doc: >-
  Writes the content of its input file followed by the note to copied.txt, and the same
  text as the one asset of the one item of a STAC catalog. Fails when the note is "fail".
requirements:
  InitialWorkDirRequirement:
    listing:
      - entryname: make_copies.py
        entry: |
          import json
          import sys
          from pathlib import Path

          note = sys.argv[2] if len(sys.argv) > 2 else ""
          if note == "fail":
              sys.exit("asked to fail")
          text = Path(sys.argv[1]).read_text() + note
          Path("copied.txt").write_text(text)
          item_dir = Path("catalog", "item")
          item_dir.mkdir(parents=True)
          (item_dir / "copied.txt").write_text(text)
          catalog = {
              "type": "Catalog", "stac_version": "1.0.0", "id": "copies",
              "description": "The copy as a STAC catalog",
              "links": [{"rel": "root", "href": "./catalog.json"},
                        {"rel": "item", "href": "./item/item.json"}],
          }
          item = {
              "type": "Feature", "stac_version": "1.0.0", "id": "item",
              "geometry": None, "properties": {"datetime": "2024-06-01T00:00:00Z"},
              "links": [{"rel": "root", "href": "../catalog.json"},
                        {"rel": "parent", "href": "../catalog.json"}],
              "assets": {"data": {"href": "./copied.txt", "type": "text/plain",
                                  "roles": ["data"]}},
          }
          Path("catalog", "catalog.json").write_text(json.dumps(catalog))
          (item_dir / "item.json").write_text(json.dumps(item))
baseCommand: [python3, make_copies.py]
inputs:
  source:
    type: File
    inputBinding: {position: 1}
  note:
    type: string?
    inputBinding: {position: 2}
outputs:
  copied:
    type: File
    outputBinding: {glob: copied.txt}
  catalog:
    type: Directory
    outputBinding: {glob: catalog}
