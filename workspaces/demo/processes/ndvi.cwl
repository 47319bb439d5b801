cwlVersion: v1.2

$namespaces:
  s: https://schema.org/
s:softwareVersion: 1.0.0

$graph:
  - class: Workflow
    id: main
    label: NDVI
    doc: >-
      Computes the Normalized Difference Vegetation Index, (NIR - red) / (NIR + red),
      from a red and a near-infrared GeoTIFF band. The result is a Cloud-Optimized GeoTIFF
      described by a self-contained STAC catalog (one item, with its footprint, date and
      projection).

    inputs:
      red:
        type: File
        label: Red band
        doc: Single-band GeoTIFF of red reflectance.
      nir:
        type: File
        label: Near-infrared band
        doc: >-
          Single-band GeoTIFF of near-infrared reflectance; resampled onto the red band's
          grid when the grids differ.
      title:
        type: string?
        label: Title
        doc: Title of the STAC item and catalog (default "NDVI").

    outputs:
      ndvi_catalog:
        type: Directory
        label: NDVI catalog
        doc: STAC catalog (catalog.json) with one item whose asset is the NDVI COG.
        outputSource: compute/catalog

    steps:
      compute:
        run: "#compute_ndvi"
        in:
          red: red
          nir: nir
          title: title
        out: [catalog]

  - class: CommandLineTool
    id: compute_ndvi
    label: Compute NDVI
    doc: Runs the embedded ndvi.py with the python3 found on PATH (it needs rioxarray and pystac).

    requirements:
      InitialWorkDirRequirement:
        listing:
          - entryname: ndvi.py
            entry: |
              """Compute NDVI from a red and a NIR GeoTIFF band, write it as a Cloud-Optimized
              GeoTIFF and describe it in a self-contained STAC catalog."""
              import argparse
              import datetime as dt
              import sys
              from pathlib import Path

              import numpy as np
              import pystac
              import rioxarray
              from pystac.extensions.projection import ProjectionExtension


              def read_band(path):
                  data = rioxarray.open_rasterio(path, masked=True)
                  if data.sizes.get("band", 1) != 1:
                      sys.exit(f"{path}: expected a single-band GeoTIFF, got {data.sizes['band']} bands")
                  if data.rio.crs is None:
                      sys.exit(f"{path}: the GeoTIFF has no coordinate reference system")
                  return data.squeeze("band", drop=True).astype("float32")


              def acquired(band):
                  # The TIFF date tag when the band has one; otherwise the time of processing.
                  stamp = band.attrs.get("TIFFTAG_DATETIME")
                  if stamp:
                      try:
                          return dt.datetime.strptime(stamp, "%Y:%m:%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)
                      except ValueError:
                          pass
                  return dt.datetime.now(dt.timezone.utc)


              def main():
                  parser = argparse.ArgumentParser(description=__doc__)
                  parser.add_argument("--red", required=True)
                  parser.add_argument("--nir", required=True)
                  parser.add_argument("--title", default="NDVI")
                  parser.add_argument("--out", required=True)
                  args = parser.parse_args()

                  red = read_band(args.red)
                  nir = read_band(args.nir)
                  if nir.rio.crs != red.rio.crs or nir.shape != red.shape or nir.rio.transform() != red.rio.transform():
                      print("resampling the NIR band onto the red band's grid", flush=True)
                      nir = nir.rio.reproject_match(red)

                  total = nir + red
                  ndvi = ((nir - red) / total).where(total != 0)
                  ndvi = ndvi.astype("float32").rio.write_crs(red.rio.crs).rio.write_nodata(np.nan, encoded=False)
                  ndvi.name = "ndvi"

                  out = Path(args.out)
                  (out / "ndvi").mkdir(parents=True, exist_ok=True)
                  cog = out / "ndvi" / "ndvi.tif"
                  ndvi.rio.to_raster(cog, driver="COG")
                  print(f"wrote {cog} ({ndvi.sizes['y']} x {ndvi.sizes['x']} pixels)", flush=True)

                  west, south, east, north = ndvi.rio.transform_bounds("EPSG:4326")
                  footprint = {
                      "type": "Polygon",
                      "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
                  }
                  item = pystac.Item(
                      id="ndvi",
                      geometry=footprint,
                      bbox=[west, south, east, north],
                      datetime=acquired(red),
                      properties={"title": args.title},
                  )
                  projection = ProjectionExtension.ext(item, add_if_missing=True)
                  epsg = red.rio.crs.to_epsg()
                  if epsg:
                      projection.code = f"EPSG:{epsg}"
                  else:
                      projection.wkt2 = red.rio.crs.to_wkt()
                  projection.shape = [ndvi.sizes["y"], ndvi.sizes["x"]]
                  projection.transform = list(ndvi.rio.transform())[:6]
                  projection.bbox = list(ndvi.rio.bounds())
                  item.add_asset(
                      "ndvi",
                      pystac.Asset(
                          href=str(cog.resolve()),
                          title=args.title,
                          media_type=pystac.MediaType.COG,
                          roles=["data"],
                      ),
                  )

                  catalog = pystac.Catalog(id="ndvi", title=args.title, description="NDVI computed from red and NIR bands")
                  catalog.add_item(item)
                  catalog.normalize_hrefs(str(out.resolve()))
                  catalog.make_all_asset_hrefs_relative()
                  catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
                  print(f"wrote {out / 'catalog.json'}", flush=True)


              if __name__ == "__main__":
                  main()

    baseCommand: [python3, ndvi.py, --out, catalog]

    inputs:
      red:
        type: File
        inputBinding: {prefix: --red}
      nir:
        type: File
        inputBinding: {prefix: --nir}
      title:
        type: string?
        inputBinding: {prefix: --title}

    outputs:
      catalog:
        type: Directory
        outputBinding: {glob: catalog}
