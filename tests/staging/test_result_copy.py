"""A job's results copied under another job's prefix (the result cache), on the session's
real S3: every object copied, the STAC documents and the result records naming the copies,
and the copy whole once the original is deleted."""

from __future__ import annotations

import json

import pytest

from ades.staging.result_copy import copy_results, relocated
from ades.staging.stage_out import as_references, stage_out
from tests.stac_data import download, stac_validate
from tests.staging.test_stage_out import _dir, _file, _local_catalog


def test_a_copy_names_its_own_objects_and_outlives_the_original(object_store, tmp_path):
    (tmp_path / "report.txt").write_text("all good")
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.txt").write_text("a")
    outputs = {
        "cat": _dir(_local_catalog(tmp_path / "catalog_out")),
        "report": [_file(tmp_path / "report.txt")],
        "plain": _dir(plain),
        "n": 3,
    }
    source, target = "ws/jobs/original", "ws/jobs/reuser"
    results = stage_out(outputs, object_store, source)
    results = as_references(results, {"n": {"transmissionMode": "reference"}}, object_store,
                            source)

    copied = copy_results(object_store, results, source, target)

    old, new = object_store.uri(source + "/"), object_store.uri(target + "/")
    assert copied == json.loads(json.dumps(results).replace(old, new))
    assert old not in json.dumps(copied)
    keys = object_store.list_keys(source + "/")
    assert [k.replace(source, target, 1) for k in keys] == object_store.list_keys(target + "/")
    object_store.delete_prefix(source + "/")

    # Whole without the original: the catalog's asset hrefs are the copy's own.
    down = download(object_store, target + "/cat/", tmp_path / "down")
    item = json.loads((down / "scene" / "scene.json").read_text())
    assert item["assets"]["data"]["href"] == new + "cat/scene/data.tif"
    assert (down / "scene" / "data.tif").read_bytes() == b"II*\x00 pretend tiff"
    stac_validate(down / "catalog.json")
    assert object_store.get_bytes(target + "/report/0/report.txt") == b"all good"
    assert object_store.get_bytes(target + "/n/value.json") == b"3"
    assert object_store.get_bytes(target + "/plain/plain/a.txt") == b"a"
    # Objects keep their media type.
    assert object_store.open(target + "/report/0/report.txt").content_type == "text/plain"


def test_a_copy_of_results_whose_objects_vanished_is_a_key_error(object_store, tmp_path):
    (tmp_path / "x.txt").write_text("x")
    results = stage_out({"x": _file(tmp_path / "x.txt")}, object_store, "ws/jobs/gone")
    copied = copy_results(object_store, results, "ws/jobs/gone", "ws/jobs/first")
    assert object_store.get_bytes("ws/jobs/first/x/x.txt") == b"x"
    assert copied["x"]["href"].endswith("/ws/jobs/first/x/x.txt")
    # Deleted behind the server's back (an S3 lifecycle rule): named, nothing copied.
    object_store.delete_prefix("ws/jobs/gone/")
    with pytest.raises(KeyError, match="ws/jobs/gone/x/x.txt is gone"):
        copy_results(object_store, results, "ws/jobs/gone", "ws/jobs/second")
    assert object_store.list_keys("ws/jobs/second/") == []


def test_relocation_touches_only_strings_that_start_with_the_old_prefix():
    value = {"href": "s3://b/ws/jobs/a/x", "other": "see s3://b/ws/jobs/a/x",
             "list": ["s3://b/ws/jobs/a/", 1, None], "n": 2.5}
    assert relocated(value, "s3://b/ws/jobs/a/", "s3://b/ws/jobs/b/") == {
        "href": "s3://b/ws/jobs/b/x", "other": "see s3://b/ws/jobs/a/x",
        "list": ["s3://b/ws/jobs/b/", 1, None], "n": 2.5}


def test_objects_are_copied_server_side_and_etags_tell_contents_apart(object_store):
    object_store.put_bytes(b"one", "etag/a.txt", "text/plain")
    object_store.copy("etag/a.txt", "etag/b.txt")
    assert object_store.get_bytes("etag/b.txt") == b"one"
    assert object_store.etag("etag/b.txt") == object_store.etag("etag/a.txt")
    object_store.put_bytes(b"two", "etag/a.txt")
    assert object_store.etag("etag/b.txt") != object_store.etag("etag/a.txt")
    with pytest.raises(KeyError):
        object_store.etag("etag/missing.txt")
    with pytest.raises(KeyError):
        object_store.copy("etag/missing.txt", "etag/c.txt")

