"""Stage-out of CWL output objects to the session's real S3."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pystac
import pytest

from ades.staging.stage_out import StageOutError, stage_out
from tests.stac_data import download, stac_validate, write_band


def _file(path: Path) -> dict:
    return {"class": "File", "location": path.as_uri(), "path": str(path), "basename": path.name}


def _dir(path: Path) -> dict:
    return {"class": "Directory", "location": path.as_uri(), "path": str(path),
            "basename": path.name}


def _local_catalog(root: Path) -> Path:
    """A self-contained catalog the way an application writes one: relative links, an item in
    its own folder, an asset beside it."""
    root.mkdir()
    catalog = pystac.Catalog("out", "an output")
    item = pystac.Item("scene", {"type": "Point", "coordinates": [3.5, 51.0]},
                       [3.5, 51.0, 3.5, 51.0], pystac.utils.str_to_datetime("2024-05-01T00:00:00Z"),
                       {})
    catalog.add_item(item)
    catalog.normalize_hrefs(str(root))
    (root / "scene").mkdir()
    (root / "scene" / "data.tif").write_bytes(b"II*\x00 pretend tiff")
    item.add_asset("data", pystac.Asset("./data.tif", media_type=pystac.MediaType.COG,
                                        roles=["data"]))
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    (root / "README.txt").write_text("not part of the STAC")
    return root


def test_literals_stay_inline_and_files_are_uploaded(object_store, tmp_path):
    report = tmp_path / "report.json"
    report.write_text('{"ok": true}')
    results = stage_out({"n": 3, "s": "x", "none": None, "report": _file(report)},
                        object_store, "ws/jobs/j1")
    assert results["n"] == {"value": 3}
    assert results["s"] == {"value": "x"}
    assert results["none"] == {"value": None}
    uri = f"s3://{object_store.bucket}/ws/jobs/j1/report/report.json"
    assert results["report"] == {"href": uri, "type": "application/json"}
    assert object_store.get_bytes("ws/jobs/j1/report/report.json") == b'{"ok": true}'


def test_arrays_of_files_keep_their_order(object_store, tmp_path):
    files = []
    for i in range(3):
        (tmp_path / f"f{i}.txt").write_text(str(i))
        files.append(_file(tmp_path / f"f{i}.txt"))
    results = stage_out({"many": files}, object_store, "ws/jobs/j2")
    assert [r["href"].rsplit("/", 2)[-2:] for r in results["many"]] == [
        ["0", "f0.txt"], ["1", "f1.txt"], ["2", "f2.txt"]]


def test_a_stac_catalog_is_valid_where_it_lies(object_store, tmp_path):
    folder = _local_catalog(tmp_path / "catalog_out")
    results = stage_out({"cat": _dir(folder)}, object_store, "ws/jobs/j3")
    prefix = "ws/jobs/j3/cat/"
    assert results["cat"] == {"href": f"s3://{object_store.bucket}/{prefix}catalog.json",
                              "type": "application/json", "stac": True}
    keys = object_store.list_keys(prefix)
    assert sorted(k[len(prefix):] for k in keys) == [
        "README.txt", "catalog.json", "scene/data.tif", "scene/scene.json"]

    down = tmp_path / "down"
    for key in keys:
        (down / key[len(prefix):]).parent.mkdir(parents=True, exist_ok=True)
        object_store.download_file(key, down / key[len(prefix):])
    catalog = json.loads((down / "catalog.json").read_text())
    assert {link["href"] for link in catalog["links"] if link["rel"] == "item"} == {
        "./scene/scene.json"}
    item = json.loads((down / "scene" / "scene.json").read_text())
    assert item["assets"]["data"]["href"] == (
        f"s3://{object_store.bucket}/{prefix}scene/data.tif")
    stac_validate(down / "catalog.json")


def test_a_plain_directory_is_uploaded_as_it_is(object_store, tmp_path):
    folder = tmp_path / "plain"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.txt").write_text("a")
    results = stage_out({"d": _dir(folder)}, object_store, "ws/jobs/j4")
    assert results["d"] == {"href": f"s3://{object_store.bucket}/ws/jobs/j4/d/plain/",
                            "type": "application/x-directory"}
    assert object_store.list_keys("ws/jobs/j4/") == ["ws/jobs/j4/d/plain/sub/a.txt"]


def test_an_empty_directory_is_kept_as_a_folder_marker(object_store, tmp_path):
    folder = tmp_path / "a_dir"
    folder.mkdir()
    results = stage_out({"d": [_dir(folder)]}, object_store, "ws/jobs/j7")
    assert results["d"] == [{"href": f"s3://{object_store.bucket}/ws/jobs/j7/d/0/a_dir/",
                             "type": "application/x-directory"}]
    assert object_store.list_keys("ws/jobs/j7/") == ["ws/jobs/j7/d/0/a_dir/"]


def test_names_are_kept_as_the_tool_wrote_them(object_store, tmp_path):
    folder = tmp_path / "A:Gln2Cys_result"
    folder.mkdir()
    (folder / "A:Gln2Cys").write_text("colon")
    (folder / "with space #1.txt").write_text("space")
    (tmp_path / "re:sult").write_text("log")
    results = stage_out({"d": _dir(folder), "log": _file(tmp_path / "re:sult")}, object_store,
                        "ws/jobs/j6")
    assert object_store.list_keys("ws/jobs/j6/") == [
        "ws/jobs/j6/d/A:Gln2Cys_result/A:Gln2Cys",
        "ws/jobs/j6/d/A:Gln2Cys_result/with space #1.txt",
        "ws/jobs/j6/log/re:sult",
    ]
    # URIs encode what a URI cannot hold as it is, and read back as the same keys.
    assert results["d"]["href"] == f"s3://{object_store.bucket}/ws/jobs/j6/d/A:Gln2Cys_result/"
    assert results["log"]["href"] == f"s3://{object_store.bucket}/ws/jobs/j6/log/re:sult"
    spaced = object_store.uri("ws/jobs/j6/d/A:Gln2Cys_result/with space #1.txt")
    assert spaced.endswith("/with%20space%20%231.txt")
    assert object_store.key_of(spaced) == "ws/jobs/j6/d/A:Gln2Cys_result/with space #1.txt"


def test_a_broken_catalog_fails_the_stage_out(object_store, tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "catalog.json").write_text("{not json")
    with pytest.raises(StageOutError, match="catalog.json is not a readable STAC catalog"):
        stage_out({"cat": _dir(folder)}, object_store, "ws/jobs/j5")


def test_a_missing_asset_is_named(object_store, tmp_path):
    folder = _local_catalog(tmp_path / "gone")
    (folder / "scene" / "data.tif").unlink()
    with pytest.raises(StageOutError, match="asset scene/data.tif"):
        stage_out({"cat": _dir(folder)}, object_store, "ws/jobs/j6")


def test_rasters_without_a_catalog_get_one_made_from_the_rasters(object_store, tmp_path):
    folder = tmp_path / "rasters"
    (folder / "sub").mkdir(parents=True)
    write_band(folder / "ndvi.tif", np.full((8, 8), 5))
    write_band(folder / "sub" / "utm.tif", np.full((8, 8), 7), crs="EPSG:32631")
    (folder / "notes.txt").write_text("kept beside the catalog")
    when = datetime(2024, 7, 1, 12, tzinfo=UTC)
    calls = []
    results = stage_out({"out": _dir(folder)}, object_store, "ws/jobs/j7", when=when,
                        on_output=lambda *a: calls.append(a))
    assert calls == [("out", 1, 1)]
    prefix = "ws/jobs/j7/out/"
    assert results["out"] == {"href": f"s3://{object_store.bucket}/{prefix}catalog.json",
                              "type": "application/json", "stac": True}

    down = download(object_store, prefix, tmp_path / "down")
    stac_validate(down / "catalog.json")
    assert (down / "notes.txt").read_text() == "kept beside the catalog"
    items = {i.id: i for i in pystac.Catalog.from_file(str(down / "catalog.json")).get_items()}
    assert set(items) == {"ndvi", "sub-utm"}
    utm = items["sub-utm"]
    assert utm.datetime == when
    assert utm.properties.get("proj:code", utm.properties.get("proj:epsg")) in ("EPSG:32631", 32631)
    west, south, east, north = utm.bbox
    assert 2.99 < west < east < 3.02 and 51.0 < south < north < 51.2  # UTM 31N → lon/lat
    assert utm.assets["data"].href == f"s3://{object_store.bucket}/{prefix}sub/utm.tif"
    assert "data" in utm.assets["data"].roles
    assert object_store.get_bytes(f"{prefix}sub/utm.tif") == (folder / "sub/utm.tif").read_bytes()


def test_an_unreadable_raster_is_named(object_store, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "broken.tif").write_bytes(b"not a tiff")
    with pytest.raises(StageOutError, match="broken.tif of output 'out' is not a readable raster"):
        stage_out({"out": _dir(folder)}, object_store, "ws/jobs/j8")


def test_files_of_many_parts_are_stored_byte_for_byte_and_described(object_store, tmp_path):
    folder = _local_catalog(tmp_path / "big_out")
    data = np.random.default_rng(12).bytes(9 * 1024 * 1024 + 7)  # more than one 8 MiB part
    (folder / "scene" / "data.tif").write_bytes(data)
    loose = tmp_path / "loose.bin"
    loose.write_bytes(data[::-1])
    results = stage_out({"cat": _dir(folder), "loose": _file(loose)}, object_store,
                        "ws/jobs/big")
    prefix = "ws/jobs/big/cat/"
    assert object_store.get_bytes(f"{prefix}scene/data.tif") == data
    assert object_store.get_bytes("ws/jobs/big/loose/loose.bin") == data[::-1]
    assert results["loose"] == {"href": f"s3://{object_store.bucket}/ws/jobs/big/loose/loose.bin",
                                "type": "application/octet-stream"}
    item = json.loads(object_store.get_bytes(f"{prefix}scene/scene.json"))
    assert item["assets"]["data"]["href"] == f"s3://{object_store.bucket}/{prefix}scene/data.tif"
    assert item["assets"]["data"]["type"] == pystac.MediaType.COG
    assert object_store.sizes(prefix)[f"{prefix}scene/data.tif"] == len(data)


def test_each_raster_of_a_catalog_gets_a_quicklook_beside_it(object_store, tmp_path):
    folder = tmp_path / "looks"
    (folder / "sub").mkdir(parents=True)
    write_band(folder / "ndvi.tif", np.arange(64).reshape(8, 8))
    write_band(folder / "sub" / "utm.tif", np.full((8, 8), 7), crs="EPSG:32631")
    told: list[str] = []
    stage_out({"out": _dir(folder)}, object_store, "ws/jobs/q1", on_warning=told.append)
    prefix = "ws/jobs/q1/out/"
    assert told == []
    assert {k[len(prefix):] for k in object_store.list_keys(prefix)} >= {
        "ndvi.tif", "ndvi.thumbnail.png", "sub/utm.tif", "sub/utm.thumbnail.png"}
    down = download(object_store, prefix, tmp_path / "down")
    stac_validate(down / "catalog.json")
    item = json.loads((down / "sub-utm" / "sub-utm.json").read_text())
    assert item["assets"]["thumbnail"] == {
        "href": f"s3://{object_store.bucket}/{prefix}sub/utm.thumbnail.png",
        "type": "image/png", "title": "Quicklook of utm.tif", "roles": ["thumbnail"]}
    assert object_store.get_bytes(f"{prefix}sub/utm.thumbnail.png")[:4] == b"\x89PNG"


def test_a_raster_without_a_quicklook_is_a_warning_not_a_failure(object_store, tmp_path):
    folder = _local_catalog(tmp_path / "pretend")  # its COG is not a TIFF at all
    told: list[str] = []
    results = stage_out({"cat": _dir(folder)}, object_store, "ws/jobs/q2", on_warning=told.append)
    assert results["cat"]["stac"] is True
    assert told == ["no quicklook of scene/data.tif: rasterio cannot open it"]
    item = json.loads(object_store.get_bytes("ws/jobs/q2/cat/scene/scene.json"))
    assert set(item["assets"]) == {"data"}


def test_quicklooks_can_be_left_out(object_store, tmp_path):
    folder = tmp_path / "plain_rasters"
    folder.mkdir()
    write_band(folder / "ndvi.tif", np.arange(64).reshape(8, 8))
    stage_out({"out": _dir(folder)}, object_store, "ws/jobs/q3", quicklooks=False)
    assert {k.rsplit("/", 1)[-1] for k in object_store.list_keys("ws/jobs/q3/")} == {
        "catalog.json", "ndvi.json", "ndvi.tif"}
