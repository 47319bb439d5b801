"""The download route every result href points to, ``…/jobs/{id}/download/{path}``: a
302 to a URL made now when the S3 is reachable by clients, the bytes streamed (with Range)
when it is not, and never an object outside the job."""

from __future__ import annotations

import dataclasses

import pytest
import requests

from tests.api.conftest import serve, server_settings

OGC1 = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
BY_REFERENCE = {
    "outputs": {"echoOutput": {"transmissionMode": "reference"}},
    "response": "document",
}


def _file_job(live, text: str, workspace: str = "demo") -> tuple[str, str]:
    """A successful echo job whose output is a file: (job id, the file's href)."""
    body = {"inputs": {"stringInput": text}, **BY_REFERENCE}
    r = live.post(f"/{workspace}/ogc-api/processes/echo/execution", json=body)
    assert r.status_code == 200, r.text
    href = r.json()["echoOutput"]["href"]
    job_id = href.split("/jobs/", 1)[1].split("/", 1)[0]
    assert href.startswith(live.url(f"/{workspace}/ogc-api/jobs/{job_id}/download/"))
    return job_id, href


@pytest.fixture(scope="module")
def streaming(seaweedfs, tmp_path_factory):
    settings = server_settings(tmp_path_factory.mktemp("streaming"), seaweedfs)
    with serve(dataclasses.replace(settings, result_downloads="stream")) as server:
        yield server


def test_with_a_reachable_s3_the_route_redirects_to_a_url_made_now(live, seaweedfs):
    _, href = _file_job(live, "redirected")
    r = live.http.get(href, allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"].startswith(seaweedfs.endpoint)
    assert requests.get(href, timeout=10).content == b"redirected"


def test_without_one_the_route_streams_the_file_and_honours_range(streaming):
    _, href = _file_job(streaming, "streamed bytes")
    r = streaming.http.get(href, allow_redirects=False)
    assert (r.status_code, r.content) == (200, b"streamed bytes")
    assert r.headers["Content-Type"].startswith("text/plain")
    assert r.headers["Accept-Ranges"] == "bytes"
    part = streaming.http.get(href, headers={"Range": "bytes=0-7"})
    assert (part.status_code, part.content) == (206, b"streamed")
    assert part.headers["Content-Range"] == "bytes 0-7/14"
    outside = streaming.http.get(href, headers={"Range": "bytes=100-200"})
    assert outside.status_code == 416
    assert outside.json()["type"] == OGC1 + "invalid-parameter-value"
    assert "bytes=100-200" in outside.json()["detail"]


@pytest.mark.parametrize("server", ["live", "streaming"])
def test_only_the_jobs_own_files_are_reachable(server, request):
    live = request.getfixturevalue(server)
    job_id, href = _file_job(live, "mine")
    other_id, other_href = _file_job(live, "another job's")
    other_path = other_href.split("/download/", 1)[1]
    route = live.url(f"/demo/ogc-api/jobs/{job_id}/download/")
    for path in (
        f"%2E%2E/{other_id}/{other_path}",  # ../<other job>/<its file>
        f"..%2F{other_id}%2F{other_path}",
        f"x/%2E%2E/%2E%2E/{other_id}/{other_path}",
        "no-such-file.txt",
    ):
        r = live.http.get(route + path, allow_redirects=False)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["type"] == OGC1 + "not-found"
        assert f"job '{job_id}' has no result file '" in r.json()["detail"]
    # The other job's own route serves it.
    assert requests.get(other_href, timeout=10).content == b"another job's"


def test_the_route_of_an_unknown_or_unfinished_job_is_a_404(live):
    r = live.get("/demo/ogc-api/jobs/no-such-job/download/x.txt")
    assert (r.status_code, r.json()["type"]) == (404, OGC1 + "no-such-job")
    assert "no-such-job" in r.json()["detail"]
    job_id, _ = _file_job(live, "demo's")
    r = live.get(f"/lab/ogc-api/jobs/{job_id}/download/x.txt")  # another workspace
    assert (r.status_code, r.json()["type"]) == (404, OGC1 + "no-such-job")
    r = live.post("/demo/ogc-api/processes/echo/execution", headers={"Prefer": "respond-async"},
                  json={"inputs": {"stringInput": "slow", "pause": 30}})
    running = r.json()["jobID"]
    try:
        r = live.get(f"/demo/ogc-api/jobs/{running}/download/echoOutput/x.txt")
        assert (r.status_code, r.json()["type"]) == (404, OGC1 + "result-not-ready")
        assert running in r.json()["detail"]
    finally:
        live.delete(f"/demo/ogc-api/jobs/{running}")
