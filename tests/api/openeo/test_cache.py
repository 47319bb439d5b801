"""The result cache under the openEO root (workspace cache, where the test servers turn it
on): a batch job or a synchronous request identical to an earlier successful job takes its
results; ``"cache": false`` makes it run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.api.conftest import Live
from tests.http_files import Files, file_server

ROOT = "/cache/openeo/1.2"


@pytest.fixture(scope="module")
def files() -> Iterator[Files]:
    with file_server() as served:
        yield served


def _graph(href: str, note: str) -> dict:
    node = {"process_id": "copy", "arguments": {"source": {"href": href}, "note": note}}
    return {"process_graph": {"copy1": {**node, "result": True}}}


def _run_batch(live: Live, href: str, note: str, **more) -> dict:
    """Create and start an openEO batch job; its OGC status document once it ended."""
    r = live.post(f"{ROOT}/jobs", json={"process": _graph(href, note), **more})
    assert r.status_code == 201, r.text
    job_id = r.headers["OpenEO-Identifier"]
    assert live.post(f"{ROOT}/jobs/{job_id}/results").status_code == 202
    ended = {"successful", "failed", "dismissed"}
    return live.wait_for(live.url(f"/cache/ogc-api/jobs/{job_id}"), ended)


def test_an_identical_batch_job_reuses_results_unless_it_says_cache_false(live: Live, files):
    href = files.put(f"/{uuid.uuid4().hex}.txt", b"openeo", etag='"o1"')
    first = _run_batch(live, href, "-1")
    assert first["status"] == "successful", first
    assert "reusedFrom" not in first

    second = _run_batch(live, href, "-1")
    assert second["status"] == "successful", second
    assert second["reusedFrom"] == first["jobID"]
    # openEO sees a finished job whose files are its own copies.
    doc = live.get(f"{ROOT}/jobs/{second['jobID']}/results").json()
    assert doc["properties"]["openeo:status"] == "finished"
    hrefs = [asset["href"] for asset in doc["assets"].values()]
    assert hrefs and all(f"/jobs/{second['jobID']}/" in h for h in hrefs)
    assert b"openeo-1" in live.http.get(hrefs[0]).content

    third = _run_batch(live, href, "-1", cache=False)
    assert third["status"] == "successful", third
    assert "reusedFrom" not in third


def test_an_identical_synchronous_request_reuses_results(live: Live, files):
    href = files.put(f"/{uuid.uuid4().hex}.txt", b"sync", etag='"s1"')
    first = _run_batch(live, href, "-2")
    r = live.post(f"{ROOT}/result", json={"process": _graph(href, "-2")})
    assert r.status_code == 200, r.text
    status = live.get(f"/cache/ogc-api/jobs/{r.headers['OpenEO-Identifier']}").json()
    assert status["reusedFrom"] == first["jobID"]
    assert b"sync-2" in r.content
