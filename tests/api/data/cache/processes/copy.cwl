cwlVersion: v1.2
class: CommandLineTool
id: copy
label: Copies a file, plain and in a STAC catalog
doc: >-
  Writes the content of its input file followed by the note to copied.txt, and the same
  text as the one asset of a STAC catalog. Fails when the note is "fail".
requirements:
  InitialWorkDirRequirement:
    listing:
      - entryname: copy.py
        entry: |
          import sys
          from datetime import datetime, timezone
          from pathlib import Path

          import pystac

          note = sys.argv[2] if len(sys.argv) > 2 else ""
          if note == "fail":
              sys.exit("asked to fail")
          text = Path(sys.argv[1]).read_text() + note
          Path("copied.txt").write_text(text)
          folder = Path("catalog").resolve()
          (folder / "item").mkdir(parents=True)
          (folder / "item" / "copied.txt").write_text(text)
          item = pystac.Item("item", None, None, datetime(2024, 6, 1, tzinfo=timezone.utc), {})
          item.add_asset("data", pystac.Asset(str(folder / "item" / "copied.txt"),
                                              media_type="text/plain", roles=["data"]))
          catalog = pystac.Catalog("copies", "The copy as a STAC catalog")
          catalog.add_item(item)
          catalog.normalize_hrefs(str(folder))
          catalog.make_all_asset_hrefs_relative()
          catalog.save(pystac.CatalogType.SELF_CONTAINED)
baseCommand: [python3, copy.py]
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
