"""The client's session: the bearer token reaches the API's origin only (result links may
lead to presigned S3 URLs or other hosts), and job references are ids or URLs."""

from __future__ import annotations

import pytest
import requests

from ades.client.http import Api, UsageError, exit_code


def _auth(api: Api, url: str) -> str | None:
    prepared = requests.Request("GET", url).prepare()
    return api.http.auth(prepared).headers.get("Authorization")


def test_the_token_goes_to_the_api_origin_only():
    api = Api("http://a.example:8000/demo/ogc-api/", "secret")
    assert api.url == "http://a.example:8000/demo/ogc-api"
    assert _auth(api, "http://a.example:8000/demo/ogc-api/jobs/1") == "Bearer secret"
    assert _auth(api, "http://a.example:9000/bucket/key?X-Amz-Signature=1") is None
    assert _auth(api, "https://a.example:8000/demo") is None
    # A job named by its URL is the API's too.
    assert api.job_url("http://b.example/ws/ogc-api/jobs/2") == "http://b.example/ws/ogc-api/jobs/2"
    assert _auth(api, "http://b.example/ws/ogc-api/jobs/2/results") == "Bearer secret"


def test_job_ids_and_urls():
    api = Api("http://a.example/demo/ogc-api")
    assert api.job_url("abc") == "http://a.example/demo/ogc-api/jobs/abc"
    with pytest.raises(UsageError, match="job 'a/b': give a job id or a job URL"):
        api.job_url("a/b")
    with pytest.raises(UsageError, match="give --url or set ADES_URL"):
        Api(None).job_url("abc")
    with pytest.raises(UsageError, match="job 'ftp://x/jobs/1': not an http"):
        Api(None).job_url("ftp://x/jobs/1")


def test_exit_codes_of_statuses():
    assert [exit_code(s) for s in ("successful", "failed", "dismissed", "running",
                                   "accepted")] == [0, 1, 3, 4, 4]
