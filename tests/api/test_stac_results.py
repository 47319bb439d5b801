"""The Earth-observation path end to end: the demo NDVI package runs on GeoTIFF bands
served over HTTP, and its output arrives on S3 as a STAC catalog that is valid where it lies,
each raster with a PNG quicklook as its item's thumbnail."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pystac
import pytest
import requests
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

from tests.api.deploying import CWL_YAML, unique
from tests.stac_data import download, http_server, stac_validate, write_band


@pytest.fixture(scope="module")
def bands(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bands")
    rng = np.random.default_rng(7)
    write_band(folder / "B04.tif", rng.integers(100, 1000, (16, 16)))
    write_band(folder / "B08.tif", rng.integers(1000, 3000, (16, 16)))
    with http_server(folder) as base:
        yield {"red": f"{base}/B04.tif", "nir": f"{base}/B08.tif"}


def test_ndvi_job_writes_a_valid_stac_catalog_to_s3(live, bands, tmp_path):
    body = {"inputs": {"red": {"href": bands["red"]}, "nir": {"href": bands["nir"]}}}
    r = live.post("/demo/wps3/processes/ndvi/jobs", json=body,
                  headers={"Prefer": "respond-async"})
    assert r.status_code == 201, r.text
    done = live.wait_for(r.headers["Location"], {"successful", "failed"}, deadline=180)
    assert done["status"] == "successful", done

    results = live.http.get(r.headers["Location"] + "/results").json()
    (output,) = results["outputs"]
    assert output["id"] == "ndvi_catalog"
    uri = json.loads(output["value"]["inlineValue"])["StacCatalogUri"]
    objects = live.server.services.objects
    prefix = f"demo/jobs/{done['jobID']}/ndvi_catalog/"
    assert uri == f"s3://{objects.bucket}/{prefix}catalog.json"

    # Valid where it lies: download the prefix as it is and validate it offline.
    download(objects, prefix, tmp_path)
    stac_validate(tmp_path / "catalog.json")

    catalog = pystac.Catalog.from_file(str(tmp_path / "catalog.json"))
    items = list(catalog.get_items(recursive=True))
    assert items, "the catalog holds no item"
    assets = [a for item in items for a in item.assets.values()]
    assert any("tiff" in (a.media_type or "") for a in assets)
    for asset in assets:
        href = asset.get_absolute_href()
        assert href and Path(href).exists() or href.startswith("s3://"), href

    # The OGC root links the output to its catalog served through the API, whose asset
    # hrefs download with plain HTTP.
    ogc = live.get(f"/demo/ogc-api/jobs/{done['jobID']}/results").json()
    catalog_url = live.url(f"/demo/ogc-api/jobs/{done['jobID']}/results/ndvi_catalog")
    assert ogc["ndvi_catalog"] == {"href": catalog_url, "type": "application/json"}
    (item,) = pystac.Catalog.from_file(catalog_url).get_items(recursive=True)
    cog = requests.get(item.assets["ndvi"].href, timeout=30)
    assert cog.status_code == 200
    assert cog.content == (tmp_path / "ndvi" / "ndvi.tif").read_bytes()


@pytest.fixture(scope="module")
def big_bands(tmp_path_factory):
    """Bands of 300 x 600 pixels: their quicklooks are shrunk to 128 x 256."""
    folder = tmp_path_factory.mktemp("big_bands")
    rng = np.random.default_rng(8)
    write_band(folder / "B04.tif", rng.integers(100, 1000, (300, 600)))
    write_band(folder / "B08.tif", rng.integers(1000, 3000, (300, 600)))
    with http_server(folder) as base:
        yield {"red": f"{base}/B04.tif", "nir": f"{base}/B08.tif"}


def _png_shape(url: str) -> tuple[int, int, int]:
    """(bands, rows, columns) of the PNG at ``url``, fetched with plain HTTP."""
    r = requests.get(url, timeout=30)
    assert r.status_code == 200, (url, r.status_code)
    assert r.content[:8] == b"\x89PNG\r\n\x1a\n"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # a picture, not a map
        with MemoryFile(r.content) as memory, memory.open() as png:
            assert png.driver == "PNG"
            return png.count, png.height, png.width


def _thumbnail(item: dict) -> dict:
    thumbnail = item["assets"]["thumbnail"]
    assert thumbnail["roles"] == ["thumbnail"] and thumbnail["type"] == "image/png"
    return thumbnail


def test_the_packages_own_catalog_gets_a_quicklook_of_its_raster(live, big_bands):
    body = {"inputs": {"red": {"href": big_bands["red"]}, "nir": {"href": big_bands["nir"]}}}
    r = live.post("/demo/ogc-api/processes/ndvi/execution", json=body,
                  headers={"Prefer": "respond-async"})
    assert r.status_code == 201, r.text
    done = live.wait_for(r.headers["Location"], {"successful", "failed"}, deadline=180)
    assert done["status"] == "successful", done
    job = f"/demo/ogc-api/jobs/{done['jobID']}"

    catalog_url = live.url(f"{job}/results/ndvi_catalog")
    item_url = f"{catalog_url}?path=ndvi/ndvi.json"
    item = live.http.get(item_url).json()
    thumbnail = _thumbnail(item)
    assert thumbnail["title"] == "Quicklook of NDVI"
    assert thumbnail["href"] == live.url(f"{job}/download/ndvi_catalog/ndvi/ndvi.thumbnail.png")
    # NDVI is float with NaN where both bands are 0 (nowhere here): grey, 2:1 like the band.
    assert _png_shape(thumbnail["href"]) == (1, 128, 256)

    # The Collection of all results lists the quicklook as a thumbnail too, downloadable.
    collection = live.get(f"{job}/results", headers={"Accept": "application/geo+json"}).json()
    listed = collection["assets"]["ndvi_catalog/ndvi/ndvi.thumbnail.png"]
    assert listed["roles"] == ["thumbnail"] and listed["href"] == thumbnail["href"]
    warnings = live.get(f"{job}/logs", params={"level": "warning"}).json()["logs"]
    assert not [w for w in warnings if "quicklook" in w["message"]]


def test_rasters_the_server_describes_get_a_quicklook_each(live, scene):
    r = live.post("/lab/ogc-api/processes/stac-assets/execution",
                  json={"inputs": {"scene": {"href": f"{scene.http}/catalog.json",
                                             "assets": ["B04"]}}},
                  headers={"Prefer": "respond-async"})
    assert r.status_code == 201, r.text
    done = live.wait_for(r.headers["Location"], {"successful", "failed"}, deadline=180)
    assert done["status"] == "successful", done
    rasters = live.url(f"/lab/ogc-api/jobs/{done['jobID']}/results/rasters")
    item = live.http.get(f"{rasters}?path=scene-B04/scene-B04.json").json()
    thumbnail = _thumbnail(item)
    assert thumbnail["title"] == "Quicklook of scene-B04.tif"
    assert _png_shape(thumbnail["href"]) == (1, 32, 32)  # as small as the band: not enlarged


# A package whose own catalog declares a GeoTIFF that is no TIFF at all.
BROKEN_RASTER = """
cwlVersion: v1.2
class: CommandLineTool
id: {pid}
requirements:
  InitialWorkDirRequirement:
    listing:
      - entryname: write.py
        entry: |
          import json, os
          os.makedirs("out/scene")
          open("out/scene/broken.tif", "wb").write(b"II*\\x00 not really")
          json.dump({{"type": "Catalog", "stac_version": "1.0.0", "id": "out", "description": "x",
                     "links": [{{"rel": "item", "href": "./scene/scene.json"}}]}},
                    open("out/catalog.json", "w"))
          json.dump({{"type": "Feature", "stac_version": "1.0.0", "id": "scene",
                     "geometry": None, "properties": {{"datetime": "2024-05-01T00:00:00Z"}},
                     "links": [], "assets": {{"data": {{"href": "./broken.tif",
                     "type": "image/tiff; application=geotiff", "roles": ["data"]}}}}}},
                    open("out/scene/scene.json", "w"))
baseCommand: [python3, write.py]
inputs: []
outputs:
  out:
    type: Directory
    outputBinding: {{glob: out}}
"""


def test_a_raster_without_a_quicklook_is_a_warning_in_the_job_log(live):
    pid = unique("broken-raster")
    r = live.post("/lab/ogc-api/processes", data=BROKEN_RASTER.format(pid=pid), headers=CWL_YAML)
    assert r.status_code == 201, r.text
    try:
        r = live.post(f"/lab/ogc-api/processes/{pid}/execution", json={"inputs": {}},
                      headers={"Prefer": "respond-async"})
        assert r.status_code == 201, r.text
        done = live.wait_for(r.headers["Location"], {"successful", "failed"}, deadline=180)
        assert done["status"] == "successful", done
        logs = live.http.get(r.headers["Location"] + "/logs", params={"level": "warning"})
        assert [e["message"] for e in logs.json()["logs"]] == [
            "no quicklook of scene/broken.tif: rasterio cannot open it"]
        item = live.get(f"/lab/ogc-api/jobs/{done['jobID']}/results/out",
                        params={"path": "scene/scene.json"}).json()
        assert set(item["assets"]) == {"data"}
    finally:
        live.delete(f"/lab/ogc-api/processes/{pid}")
