"""Result hrefs people can open: a job's files linked to its download route, the route's
paths kept inside the job, and the direct URLs it redirects to (presigned by the session's
real S3, or public)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from ades.app import create_app
from ades.settings import Settings
from ades.staging.downloads import DownloadLinks, JobFiles

FILES = JobFiles("ws/jobs/j", "http://host/ws/ogc-api/jobs/j/download")


def test_the_jobs_own_objects_link_to_its_download_route(object_store):
    links = DownloadLinks(object_store)
    uri = object_store.uri("ws/jobs/j/out/a b.tif")
    assert links.href(uri, FILES) == "http://host/ws/ogc-api/jobs/j/download/out/a%20b.tif"
    # Another job's object is not reachable through this job's route: it gets a direct URL.
    other = links.href(object_store.uri("ws/jobs/k/out/x.tif"), FILES)
    assert other.startswith(object_store.endpoint) and "/ws/jobs/k/out/x.tif" in other
    # What does not lie in the results bucket is left alone.
    assert links.href("https://elsewhere.example/x.tif", FILES) == "https://elsewhere.example/x.tif"
    assert links.href("s3://another-bucket/x.tif", FILES) == "s3://another-bucket/x.tif"
    assert links.key_of(uri) == "ws/jobs/j/out/a b.tif"


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("out/a.tif", "ws/jobs/j/out/a.tif"),
        ("out/sub/", "ws/jobs/j/out/sub"),
        ("../k/out/a.tif", None),
        ("out/../../k/a.tif", None),
        ("out/./a.tif", None),
        ("out//a.tif", None),
        ("/etc/passwd", None),
        ("..", None),
        (".", None),
        ("", None),
        ("out\\..\\..\\k", None),
    ],
)
def test_route_paths_stay_inside_the_job(path, key):
    assert FILES.key(path) == key


def test_presigned_urls_download_the_bytes_and_expire_as_configured(object_store):
    object_store.put_bytes(b"result bytes", "ws/jobs/j/out/a b.txt", "text/plain")
    url = DownloadLinks(object_store, expires=600).direct("ws/jobs/j/out/a b.txt")
    r = requests.get(url, timeout=10)
    assert (r.status_code, r.content) == (200, b"result bytes")
    query = parse_qs(urlparse(url).query)
    if "X-Amz-Expires" in query:  # SigV4
        assert query["X-Amz-Expires"] == ["600"]
    else:  # SigV2: an absolute epoch
        assert abs(int(query["Expires"][0]) - (time.time() + 600)) < 300


def test_public_urls(object_store):
    links = DownloadLinks(object_store, public_url="https://data.example.org/results/")
    assert links.direct("ws/jobs/j/out/a b.tif") == (
        "https://data.example.org/results/ws/jobs/j/out/a%20b.tif"
    )


@pytest.mark.parametrize("expires", [0, 7 * 24 * 3600 + 1])
def test_a_presign_lifetime_s3_would_refuse_is_refused_at_start(object_store, expires):
    with pytest.raises(ValueError, match=f"ADES_PRESIGN_EXPIRES={expires}: presigned URLs live"):
        DownloadLinks(object_store, expires=expires)
    DownloadLinks(object_store, public_url="https://data.example.org", expires=expires)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"presign_expires": 10**7}, "ADES_PRESIGN_EXPIRES=10000000"),
        ({"result_downloads": "teleport"}, "ADES_RESULT_DOWNLOADS='teleport'"),
    ],
)
def test_the_server_refuses_such_a_setting_before_starting_anything(tmp_path, settings, message):
    with pytest.raises(ValueError, match=message):
        create_app(Settings(data_dir=tmp_path / "data", **settings))
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("settings", "streams"),
    [
        ({}, True),  # the embedded S3: only 127.0.0.1 reaches it
        ({"s3_endpoint": "https://s3.example"}, False),
        ({"s3_public_url": "https://data.example"}, False),
        ({"s3_endpoint": "https://s3.example", "result_downloads": "stream"}, True),
        ({"result_downloads": "redirect"}, False),
    ],
)
def test_how_the_route_serves_files_by_default(settings, streams):
    assert Settings(**settings).streams_downloads is streams
