cwlVersion: v1.2
class: CommandLineTool
id: stac-assets
label: Copies the assets of a STAC input
doc: >-
  Takes a STAC reference (staged in by the server as a local catalog), lists the assets of
  its items and copies each asset file into an output directory without a catalog.json, so
  the server has to describe the rasters in it by itself; also writes a plain directory.
requirements:
  InitialWorkDirRequirement:
    listing:
      - entryname: copy_assets.py
        entry: |
          import shutil
          import sys
          from pathlib import Path

          import pystac

          catalog = pystac.Catalog.from_file(str(Path(sys.argv[1]) / "catalog.json"))
          out = Path("rasters")
          out.mkdir()
          names = []
          for item in catalog.get_items(recursive=True):
              for key, asset in item.assets.items():
                  source = Path(asset.get_absolute_href())
                  shutil.copy(source, out / (item.id + "-" + source.name))
                  names.append(item.id + "/" + key)
          Path("assets.txt").write_text("\n".join(sorted(names)) + "\n")
          Path("notes").mkdir()
          Path("notes", "README.txt").write_text(str(len(names)) + " assets copied\n")
baseCommand: [python3, copy_assets.py]
inputs:
  scene:
    type: Directory
    label: STAC scene
    doc: A STAC Item, Catalog or Collection (href), staged in with its assets.
    inputBinding: {position: 1}
outputs:
  rasters:
    type: Directory
    outputBinding: {glob: rasters}
  listing:
    type: File
    outputBinding: {glob: assets.txt}
  notes:
    type: Directory
    doc: A plain directory (no rasters, no catalog).
    outputBinding: {glob: notes}
