"""The Earth-observation path end to end: the demo NDVI package runs on GeoTIFF bands
served over HTTP, and its output arrives on S3 as a STAC catalog that is valid where it lies."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pystac
import pytest
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

STAC_VALIDATE = Path(__file__).resolve().parents[3] / "shared" / "tools" / "stac_validate.py"


def _band(path: Path, values: np.ndarray) -> None:
    y = np.linspace(51.1, 51.0, values.shape[0])
    x = np.linspace(3.5, 3.6, values.shape[1])
    da = xr.DataArray(values.astype("uint16"), coords={"y": y, "x": x}, dims=("y", "x"))
    da.rio.write_crs("EPSG:4326", inplace=True)
    da.rio.to_raster(path)


@pytest.fixture(scope="module")
def bands(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bands")
    rng = np.random.default_rng(7)
    _band(folder / "B04.tif", rng.integers(100, 1000, (16, 16)))
    _band(folder / "B08.tif", rng.integers(1000, 3000, (16, 16)))
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield {"red": f"{base}/B04.tif", "nir": f"{base}/B08.tif"}
    httpd.shutdown()


def _download(objects, prefix: str, into: Path) -> None:
    for key in objects.list_keys(prefix):
        target = into / key[len(prefix):]
        target.parent.mkdir(parents=True, exist_ok=True)
        objects.download_file(key, target)


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
    _download(objects, prefix, tmp_path)
    check = subprocess.run([sys.executable, str(STAC_VALIDATE), str(tmp_path / "catalog.json")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    catalog = pystac.Catalog.from_file(str(tmp_path / "catalog.json"))
    items = list(catalog.get_items(recursive=True))
    assert items, "the catalog holds no item"
    assets = [a for item in items for a in item.assets.values()]
    assert any("tiff" in (a.media_type or "") for a in assets)
    for asset in assets:
        href = asset.get_absolute_href()
        assert href and Path(href).exists() or href.startswith("s3://"), href

    # The OGC root gives the same output as a link to the catalog.
    ogc = live.get(f"/demo/ogc-api/jobs/{done['jobID']}/results").json()
    assert ogc["ndvi_catalog"]["href"] == uri
