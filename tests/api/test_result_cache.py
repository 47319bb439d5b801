"""The result cache through HTTP, in the cache workspace (where the test servers turn it on):
an identical job completes from an earlier one's results without running, and keeps them
when that job is dismissed; anything that differs, a no-cache request, a failed earlier
job or the process's ades:Cache hint makes the job run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.api.conftest import Live
from tests.http_files import Files, file_server

ROOT = "/cache/ogc-api"
ASYNC = {"Prefer": "respond-async"}
NO_CACHE = {"Cache-Control": "no-cache"}
GEOJSON = "application/geo+json"
# A log entry of every run, which a job taking another's results never writes.
RAN = "staged in inputs"


@pytest.fixture(scope="module")
def files() -> Iterator[Files]:
    with file_server() as served:
        yield served


def _body(href: str, note: str | None = None, **more) -> dict:
    inputs: dict = {"source": {"href": href}}
    if note is not None:
        inputs["note"] = note
    return {"inputs": inputs, **more}


def _submit(live: Live, body: dict, process: str = "copy", headers: dict | None = None) -> str:
    r = live.post(f"{ROOT}/processes/{process}/execution", json=body,
                  headers={**ASYNC, **(headers or {})})
    assert r.status_code == 201, r.text
    return r.headers["Location"]


def _ended(live: Live, location: str) -> dict:
    return live.wait_for(location, {"successful", "failed", "dismissed"})


def _logs(live: Live, job_id: str) -> list[str]:
    r = live.get(f"{ROOT}/jobs/{job_id}/logs")
    assert r.status_code == 200, r.text
    return [entry["message"] for entry in r.json()["logs"]]


def _ran(live: Live, status: dict) -> bool:
    """Whether the job's latest run ran its application (rather than taking another job's
    results)."""
    logs = _logs(live, status["jobID"])
    starts = [i for i, m in enumerate(logs) if m.startswith("job accepted")]
    logs = logs[starts[-1]:]
    reused = any(m.startswith("results reused from job") for m in logs)
    assert ("reusedFrom" in status) is reused is (RAN not in logs), (status, logs)
    return not reused


def _file(live: Live, job_id: str) -> bytes:
    doc = live.get(f"{ROOT}/jobs/{job_id}/results").json()
    href = doc["copied"]["href"]
    assert f"/jobs/{job_id}/" in href, href
    r = live.http.get(href)
    assert r.status_code == 200, r.text
    return r.content


def _stac_assets(live: Live, job_id: str) -> dict[str, bytes]:
    """Every asset of the job's results as a STAC Collection, downloaded, by name."""
    r = live.get(f"{ROOT}/jobs/{job_id}/results", headers={"Accept": GEOJSON})
    assert r.status_code == 200, r.text
    assets = r.json()["assets"]
    downloaded = {}
    for name, asset in assets.items():
        assert f"/jobs/{job_id}/" in asset["href"], asset
        got = live.http.get(asset["href"])
        assert got.status_code == 200, (name, got.text)
        downloaded[name] = got.content
    return downloaded


def test_an_identical_job_takes_the_results_of_the_first_which_it_keeps_when_that_is_gone(
    live, files
):
    href = files.put(f"/{uuid.uuid4().hex}.txt", b"alpha", etag='"a1"')
    first = _ended(live, _submit(live, _body(href, "-1")))
    assert first["status"] == "successful", first
    assert _ran(live, first)

    # Synchronous: the answer is the results, of a job of its own (its id in the links).
    r = live.post(f"{ROOT}/processes/copy/execution",
                  json=_body(href, "-1", response="document"))
    assert r.status_code == 200, r.text
    second_id = r.json()["copied"]["href"].split("/jobs/")[1].split("/")[0]
    assert second_id != first["jobID"]
    second = live.get(f"{ROOT}/jobs/{second_id}").json()
    assert second["status"] == "successful"
    assert second["reusedFrom"] == first["jobID"]
    assert first["jobID"] in second["message"]
    assert not _ran(live, second)
    assert f"results reused from job {first['jobID']}" in " ".join(_logs(live, second_id))
    # The EOEPCA root says so too.
    assert live.get(f"/cache/wps3/jobs/{second_id}").json()["reusedFrom"] == first["jobID"]

    # A Part 4 job of the same definition takes them too when started.
    r = live.post(f"{ROOT}/jobs", json={"process": "copy", **_body(href, "-1")})
    assert r.status_code == 201, r.text
    created = r.headers["Location"]
    assert live.http.post(created + "/results").status_code == 202
    third = _ended(live, created)
    assert third["status"] == "successful"
    assert not _ran(live, third)

    originals = _stac_assets(live, first["jobID"])
    assert _file(live, first["jobID"]) == b"alpha-1"
    assert live.delete(f"{ROOT}/jobs/{first['jobID']}").status_code == 200

    # The copies are the jobs' own: whole after the original's results were deleted.
    for job_id in (second_id, third["jobID"]):
        assert _file(live, job_id) == b"alpha-1"
        assert _stac_assets(live, job_id) == originals
        item = live.get(f"{ROOT}/jobs/{job_id}/results/catalog",
                        params={"path": "item/item.json"}).json()
        asset = item["assets"]["data"]["href"]
        assert f"/jobs/{job_id}/" in asset and live.http.get(asset).content == b"alpha-1"

    # Started again without the cache, the Part 4 job runs.
    assert live.http.post(created + "/results", headers=NO_CACHE).status_code == 202
    again = _ended(live, created)
    assert again["status"] == "successful"
    assert _ran(live, again)
    assert _file(live, again["jobID"]) == b"alpha-1"


def test_other_inputs_a_changed_etag_or_no_cache_make_the_job_run(live, files):
    path = f"/{uuid.uuid4().hex}.txt"
    href = files.put(path, b"beta", etag='"b1"')
    first = _ended(live, _submit(live, _body(href)))
    assert first["status"] == "successful", first
    other_note = _submit(live, _body(href, "!"))
    no_cache = _submit(live, _body(href), headers=NO_CACHE)
    for location, content in ((other_note, b"beta!"), (no_cache, b"beta")):
        status = _ended(live, location)
        assert status["status"] == "successful", status
        assert _ran(live, status)
        assert _file(live, status["jobID"]) == content

    # Same URL, new content: the server's ETag says so.
    files.put(path, b"gamma", etag='"b2"')
    changed = _ended(live, _submit(live, _body(href)))
    assert changed["status"] == "successful", changed
    assert _ran(live, changed)
    assert _file(live, changed["jobID"]) == b"gamma"


def test_a_failed_job_is_never_reused(live, files):
    href = files.put(f"/{uuid.uuid4().hex}.txt", b"delta", etag='"d1"')
    for _ in range(2):
        status = _ended(live, _submit(live, _body(href, "fail")))
        assert status["status"] == "failed", status
        assert _ran(live, status)


def test_the_ades_cache_hint_of_a_process_makes_its_jobs_always_run(live):
    body = {"inputs": {"text": uuid.uuid4().hex}}
    for _ in range(2):
        status = _ended(live, _submit(live, body, process="uncached"))
        assert status["status"] == "successful", status
        assert _ran(live, status)
    # The hint is the server's: cwltool's remarks about it are no concern of the user's.
    r = live.get(f"{ROOT}/jobs/{status['jobID']}/logs", params={"level": "warning"})
    assert r.json()["logs"] == []
