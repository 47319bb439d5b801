"""The Earth-observation path end to end: the demo NDVI package runs on GeoTIFF bands
served over HTTP, and its output arrives on S3 as a STAC catalog that is valid where it lies."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pystac
import pytest
import requests

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
