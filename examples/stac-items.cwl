cwlVersion: v1.2
class: CommandLineTool
id: stac-items
label: Writes a STAC catalog of small items
doc: >-
  Writes a self-contained STAC catalog holding `count` items, each with one text asset
  saying `word` (upper-cased when `case` is `upper`), and a summary file. Its results
  document shows the catalog as a qualified GeoJSON FeatureCollection of its items (the APEx
  dispatcher's way of reading results).
$namespaces:
  ades: https://ades.dev/cwl#
hints:
  ades:StacResults:
    form: feature-collection
requirements:
  InitialWorkDirRequirement:
    listing:
      - entryname: write_catalog.py
        entry: |
          import json
          import sys
          from pathlib import Path

          word, count, case = sys.argv[1], int(sys.argv[2]), sys.argv[3]
          text = word.upper() if case == "upper" else word
          out = Path("catalog")
          out.mkdir()
          links = [{"rel": "root", "href": "./catalog.json", "type": "application/json"}]
          for n in range(count):
              name = f"item-{n}"
              (out / name).mkdir()
              (out / name / "said.txt").write_text(f"{text} {n}\n")
              west = float(n)
              item = {
                  "type": "Feature", "stac_version": "1.0.0", "stac_extensions": [],
                  "id": name,
                  "geometry": {"type": "Polygon", "coordinates": [[
                      [west, 0.0], [west + 1, 0.0], [west + 1, 1.0], [west, 1.0], [west, 0.0]
                  ]]},
                  "bbox": [west, 0.0, west + 1, 1.0],
                  "properties": {"datetime": "2024-05-01T00:00:00Z"},
                  "assets": {"said": {"href": "./said.txt", "type": "text/plain",
                                      "roles": ["data"], "title": f"What item {n} says"}},
                  "links": [{"rel": "root", "href": "../catalog.json",
                             "type": "application/json"},
                            {"rel": "parent", "href": "../catalog.json",
                             "type": "application/json"}],
              }
              (out / name / f"{name}.json").write_text(json.dumps(item))
              links.append({"rel": "item", "href": f"./{name}/{name}.json",
                            "type": "application/geo+json"})
          catalog = {"type": "Catalog", "stac_version": "1.0.0", "id": "said",
                     "description": "What was said", "links": links}
          (out / "catalog.json").write_text(json.dumps(catalog))
          Path("summary.txt").write_text(f"{count} items\n")
baseCommand: [python3, write_catalog.py]
inputs:
  word:
    type: string
    doc: What every item says.
    inputBinding: {position: 1}
  count:
    type: int
    default: 2
    doc: How many items to write.
    inputBinding: {position: 2}
  case:
    type:
      type: enum
      symbols: [lower, upper]
    default: lower
    inputBinding: {position: 3}
outputs:
  items:
    type: Directory
    doc: A STAC catalog of the items.
    outputBinding: {glob: catalog}
  summary:
    type: File
    outputBinding: {glob: summary.txt}
