"""Result hrefs people can open: presigned by the session's real S3, or public."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from ades.app import create_app
from ades.settings import Settings
from ades.staging.downloads import DownloadLinks


def test_presigned_urls_download_the_bytes_and_expire_as_configured(object_store):
    uri = object_store.put_bytes(b"result bytes", "ws/jobs/j/out/a b.txt", "text/plain")
    links = DownloadLinks(object_store, expires=600)
    url = links.href(uri)
    r = requests.get(url, timeout=10)
    assert (r.status_code, r.content) == (200, b"result bytes")
    query = parse_qs(urlparse(url).query)
    if "X-Amz-Expires" in query:  # SigV4
        assert query["X-Amz-Expires"] == ["600"]
    else:  # SigV2: an absolute epoch
        assert abs(int(query["Expires"][0]) - (time.time() + 600)) < 300
    assert links.expires_at() is not None


def test_public_urls_and_foreign_hrefs(object_store):
    links = DownloadLinks(object_store, public_url="https://data.example.org/results/")
    uri = object_store.uri("ws/jobs/j/out/a b.tif")
    assert links.href(uri) == "https://data.example.org/results/ws/jobs/j/out/a%20b.tif"
    assert links.expires_at() is None
    # What does not lie in the results bucket is left alone.
    assert links.href("https://elsewhere.example/x.tif") == "https://elsewhere.example/x.tif"
    assert links.href("s3://another-bucket/x.tif") == "s3://another-bucket/x.tif"
    assert links.key_of(uri) == "ws/jobs/j/out/a b.tif"


@pytest.mark.parametrize("expires", [0, 7 * 24 * 3600 + 1])
def test_a_presign_lifetime_s3_would_refuse_is_refused_at_start(object_store, expires):
    with pytest.raises(ValueError, match=f"ADES_PRESIGN_EXPIRES={expires}: presigned URLs live"):
        DownloadLinks(object_store, expires=expires)
    DownloadLinks(object_store, public_url="https://data.example.org", expires=expires)


def test_the_server_refuses_such_a_setting_before_starting_anything(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", presign_expires=10**7)
    with pytest.raises(ValueError, match="ADES_PRESIGN_EXPIRES=10000000"):
        create_app(settings)
    assert not (tmp_path / "data").exists()
