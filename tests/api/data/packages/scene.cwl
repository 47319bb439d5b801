cwlVersion: v1.2
class: CommandLineTool
id: scene
label: Writes a small STAC scene and a note
doc: >-
  Two result files, one located: a STAC catalog whose one item (a footprint, a date) has
  a text asset holding the text given, and beside it a plain note.
requirements:
  InitialWorkDirRequirement:
    listing:
      - entryname: scene.py
        entry: |
          import json
          import sys
          from pathlib import Path

          tile = Path("scene", "tile")
          tile.mkdir(parents=True)
          (tile / "band.txt").write_text(sys.argv[1])
          Path("note.txt").write_text("a note on " + sys.argv[1])
          ring = [[4.0, 50.0], [5.0, 50.0], [5.0, 51.0], [4.0, 51.0], [4.0, 50.0]]
          item = {
              "type": "Feature", "stac_version": "1.0.0", "id": "tile",
              "geometry": {"type": "Polygon", "coordinates": [ring]},
              "bbox": [4.0, 50.0, 5.0, 51.0],
              "properties": {"datetime": "2024-05-01T10:00:00Z"},
              "assets": {"band": {"href": "./band.txt", "type": "text/plain",
                                  "roles": ["data"], "title": "The band"}},
              "links": [{"rel": "root", "href": "../catalog.json"},
                        {"rel": "parent", "href": "../catalog.json"}],
          }
          (tile / "tile.json").write_text(json.dumps(item))
          catalog = {
              "type": "Catalog", "stac_version": "1.0.0", "id": "scene",
              "description": "One tile",
              "links": [{"rel": "root", "href": "./catalog.json"},
                        {"rel": "item", "href": "./tile/tile.json"}],
          }
          Path("scene", "catalog.json").write_text(json.dumps(catalog))
baseCommand: [python3, scene.py]
inputs:
  text: {type: string, inputBinding: {position: 1}}
outputs:
  scene: {type: Directory, outputBinding: {glob: scene}}
  note: {type: File, outputBinding: {glob: note.txt}}
