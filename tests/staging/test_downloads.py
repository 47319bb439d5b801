"""Result hrefs people can open: a job's files linked to its download route, the route's
paths kept inside the job, and the direct URLs it redirects to (presigned by the session's
real S3, or public)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from ades.app import create_app
from ades.errors import NotAuthenticated
from ades.settings import Settings
from ades.staging.downloads import DownloadLinks, JobFiles, LinkSigner

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


def test_signed_links_open_their_own_path_until_they_expire():
    signer = LinkSigner("the-s3-secret", expires=600)
    files = JobFiles("ws/jobs/j", "http://host/ws/ogc-api/jobs/j/download", signer)
    url = files.url("ws/jobs/j/out/a b.tif")
    assert url.startswith("http://host/ws/ogc-api/jobs/j/download/out/a%20b.tif?expires=")
    query = dict(parse_qs(urlparse(url).query))
    expires, signature = query["expires"][0], query["signature"][0]
    path = "/ws/ogc-api/jobs/j/download/out/a b.tif"  # as the server sees it: decoded
    signer.verify(path, expires, signature)
    # Every replica with the same S3 secret agrees; another secret does not.
    LinkSigner("the-s3-secret", expires=1).verify(path, expires, signature)
    with pytest.raises(NotAuthenticated, match="signature does not match"):
        LinkSigner("another-secret", expires=600).verify(path, expires, signature)
    for other in (path.replace("/ws/", "/other/"), path + "x", path.replace("ogc-api", "wps3")):
        with pytest.raises(NotAuthenticated, match="signature does not match"):
            signer.verify(other, expires, signature)
    with pytest.raises(NotAuthenticated, match="signature does not match"):
        signer.verify(path, str(int(expires) + 1), signature)
    with pytest.raises(NotAuthenticated, match="expired at"):
        signer.verify(path, expires, signature, now=int(expires))
    with pytest.raises(NotAuthenticated, match="'expires' is None"):
        signer.verify(path, None, signature)
    assert abs(int(expires) - (time.time() + 600)) < 300


def test_a_public_bucket_url_is_refused_with_auth(object_store):
    with pytest.raises(ValueError, match=r"ADES_S3_PUBLIC_URL='https://data.example' with "
                                         r"ADES_AUTH=token: a public bucket"):
        DownloadLinks.check("https://data.example", 600, auth="token")
    with pytest.raises(ValueError, match="ADES_S3_PUBLIC_URL"):
        DownloadLinks(object_store, "https://data.example", signer=LinkSigner("s", 600))
    DownloadLinks.check("https://data.example", 600, auth="none")


def test_the_server_refuses_a_public_bucket_url_with_auth_before_starting(tmp_path):
    settings = Settings(
        data_dir=tmp_path / "data", s3_public_url="https://data.example", auth="oidc",
        oidc_issuer="https://id.example", oidc_audience="ades", allow_uncontained=True,
    )
    with pytest.raises(ValueError, match="ADES_S3_PUBLIC_URL=.* with ADES_AUTH=oidc"):
        create_app(settings)
    assert not (tmp_path / "data").exists()


def test_the_bucket_refuses_anonymous_reads(object_store):
    # Results reach plain HTTP clients through presigned or signed URLs only.
    object_store.put_bytes(b"bytes of a result", "ws/jobs/j/out/private.txt", "text/plain")
    plain = f"{object_store.endpoint}/{object_store.bucket}/ws/jobs/j/out/private.txt"
    r = requests.get(plain, timeout=10)
    assert r.status_code == 403, r.text
    assert b"bytes of a result" not in r.content and b"AccessDenied" in r.content
    listing = requests.get(f"{object_store.endpoint}/{object_store.bucket}", timeout=10)
    assert listing.status_code == 403 and b"private.txt" not in listing.content
