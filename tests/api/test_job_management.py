"""Job management through HTTP (OGC API - Processes Part 4, openEO batch jobs): create
without running, update, start, restart, stop, definition; each refused transition with
its status code, type URI and a message naming what is wrong."""

from __future__ import annotations

import psutil
import pytest

from tests.api.conftest import poll

OGC1 = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
LOCKED = "http://www.opengis.net/def/exceptions/ogcapi-processes-4/1.0/locked"
JOB_MANAGEMENT = "http://www.opengis.net/spec/ogcapi-processes-4/1.0/conf/job-management"


def _create(live, body, workspace="demo", root="ogc-api"):
    return live.post(f"/{workspace}/{root}/jobs", json=body)


def _sleeping(live, job_id):
    workdir = str(live.server.services.settings.data_dir / "jobs" / job_id)
    found = []
    for proc in psutil.process_iter(["cwd", "name"]):
        if (proc.info.get("cwd") or "").startswith(workdir):
            found.append(proc)
    return found


@pytest.mark.conformance(JOB_MANAGEMENT)
@pytest.mark.parametrize("root", ["ogc-api", "wps3"])
def test_create_update_start_restart(live, root):
    process_url = live.url(f"/demo/{root}/processes/echo")
    r = _create(live, {"process": process_url, "title": "greeting",
                       "inputs": {"stringInput": "first"}}, root=root)
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["status"] == "created"
    assert job["title"] == "greeting"
    location = r.headers["Location"]
    assert location == live.url(f"/demo/{root}/jobs/{job['jobID']}")
    # A created job does not run, is listed, and has no results yet.
    assert live.http.get(location).json()["status"] == "created"
    listed = live.get(f"/demo/{root}/jobs", params={"status": "created"}).json()["jobs"]
    assert job["jobID"] in [j["jobID"] for j in listed]
    not_ready = live.http.get(location + "/results")
    assert not_ready.status_code == 404
    assert not_ready.json()["type"] == OGC1 + "result-not-ready"

    definition = live.http.get(location + "/definition").json()
    assert definition == {"process": live.url(f"/demo/{root}/processes/echo"),
                          "title": "greeting", "inputs": {"stringInput": "first"}}

    r = live.http.patch(location, json={"inputs": {"stringInput": "second"}, "title": "hi"})
    assert r.status_code == 204, r.text
    definition = live.http.get(location + "/definition").json()
    assert definition["inputs"] == {"stringInput": "second"}
    assert definition["title"] == "hi"

    r = live.http.post(location + "/results")
    assert r.status_code == 202, r.text
    assert r.json()["status"] in ("accepted", "running", "successful")
    done = live.wait_for(location, {"successful", "failed"})
    assert done["status"] == "successful", done
    first = live.http.get(location + "/results").json()

    # A finished job may change, and starting it again replaces its results.
    assert live.http.patch(location, json={"inputs": {"stringInput": "third"}}).status_code == 204
    assert live.http.post(location + "/results").status_code == 202
    done = live.wait_for(location, {"successful", "failed"})
    assert done["status"] == "successful", done
    again = live.http.get(location + "/results").json()
    assert again != first
    assert "third" in str(again)


@pytest.mark.conformance(JOB_MANAGEMENT)
def test_update_and_start_while_queued_or_running_are_locked(live):
    r = _create(live, {"process": "sleep", "inputs": {"seconds": 300}}, workspace="lab")
    location = r.headers["Location"]
    job_id = r.json()["jobID"]
    try:
        assert live.http.post(location + "/results").status_code == 202
        for _ in range(2):  # once as soon as it is queued, once for sure running
            r = live.http.patch(location, json={"inputs": {"seconds": 1}})
            assert r.status_code == 423, r.text
            assert r.json()["type"] == LOCKED
            assert f"'{job_id}'" in r.json()["detail"]
            assert "cannot be changed" in r.json()["detail"]
            r = live.http.post(location + "/results")
            assert r.status_code == 423
            assert r.json()["type"] == LOCKED
            assert "cannot be started again" in r.json()["detail"]
            live.wait_for(location, {"running"})
    finally:
        live.http.delete(location)


@pytest.mark.conformance(JOB_MANAGEMENT)
def test_stop_keeps_record_logs_and_staged_outputs_dismiss_removes_them(live):
    objects = live.server.services.objects
    r = _create(live, {"process": "sleep", "inputs": {"seconds": 0}}, workspace="lab")
    location, job_id = r.headers["Location"], r.json()["jobID"]
    live.http.post(location + "/results")
    assert live.wait_for(location, {"successful", "failed"})["status"] == "successful"
    staged = objects.list_keys(f"lab/jobs/{job_id}/")
    assert staged

    # Run it again, long, and stop it midway: what the first run staged stays.
    live.http.patch(location, json={"inputs": {"seconds": 300}})
    live.http.post(location + "/results")
    poll(lambda: [p for p in _sleeping(live, job_id) if p.name() == "sleep"], bool, 60)
    r = live.http.delete(location + "/results")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "dismissed"
    assert "stopped" in r.json()["message"]
    poll(lambda: _sleeping(live, job_id), lambda procs: not procs, 30)
    assert live.http.get(location).json()["status"] == "dismissed"
    assert objects.list_keys(f"lab/jobs/{job_id}/") == staged
    messages = [e["message"] for e in live.http.get(location + "/logs").json()["logs"]]
    assert "job stopped on request" in messages
    assert any("sleep" in m for m in messages)  # cwltool's lines of the stopped run

    # Stopping again changes nothing; dismissing removes the staged objects.
    assert live.http.delete(location + "/results").json()["status"] == "dismissed"
    assert live.http.delete(location).status_code == 200
    assert objects.list_keys(f"lab/jobs/{job_id}/") == []
    assert live.http.get(location).json()["status"] == "dismissed"


def test_a_dismissed_job_can_be_started_again(live):
    r = _create(live, {"process": "echo", "inputs": {"stringInput": "back"}})
    location = r.headers["Location"]
    assert live.http.delete(location).json()["status"] == "dismissed"
    assert live.http.post(location + "/results").status_code == 202
    assert live.wait_for(location, {"successful", "failed"})["status"] == "successful"


@pytest.mark.parametrize(
    ("body", "status", "type_", "named"),
    [
        ({"inputs": {"stringInput": "x"}}, 422, OGC1 + "invalid-parameter-value", "'process'"),
        ({"process": "nope"}, 404, OGC1 + "no-such-process", "'nope'"),
        ({"process": "echo", "inputs": {"stringInput": 5}}, 400, OGC1 + "invalid-input",
         "'stringInput'"),
        ({"process": "echo", "inputs": {"stringInput": "x"}, "outputs": {"nope": {}}}, 400,
         OGC1 + "invalid-parameter-value", "'nope'"),
    ],
)
def test_create_refuses_bodies_it_cannot_take(live, body, status, type_, named):
    before = live.get("/demo/ogc-api/jobs", params={"limit": 1}).json()["numberMatched"]
    r = _create(live, body)
    assert r.status_code == status, r.text
    assert r.json()["type"] == type_
    assert named in r.json()["detail"]
    assert live.get("/demo/ogc-api/jobs", params={"limit": 1}).json()["numberMatched"] == before


def test_create_refuses_a_body_that_is_not_json(live):
    r = live.post("/demo/ogc-api/jobs", data="process=echo",
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415, r.text
    # The one standard URI for it is Part 2's; the server uses it on every endpoint.
    assert r.json()["type"] == (
        "http://www.opengis.net/def/exceptions/ogcapi-processes-2/1.0/unsupported-media-type")
    assert "application/x-www-form-urlencoded" in r.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        ({"colour": "red"}, 422, "'colour'"),
        ({"inputs": {"stringInput": 5}}, 400, "'stringInput'"),
        ({"inputs": {}}, 400, "'stringInput'"),
    ],
)
def test_update_refuses_changes_it_cannot_take(live, body, status, named):
    location = _create(live, {"process": "echo", "inputs": {"stringInput": "x"}}).headers[
        "Location"]
    r = live.http.patch(location, json=body)
    assert r.status_code == status, r.text
    assert named in r.json()["detail"]
    assert live.http.get(location + "/definition").json()["inputs"] == {"stringInput": "x"}


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("patch", ""), ("post", "/results"), ("delete", "/results"), ("get", "/definition"),
     ("get", "/logs"), ("get", "/estimate")],
)
def test_unknown_job_is_404_everywhere(live, method, suffix):
    kw = {"json": {"title": "x"}} if method == "patch" else {}
    r = getattr(live.http, method)(live.url(f"/demo/ogc-api/jobs/not-a-job{suffix}"), **kw)
    assert r.status_code == 404, r.text
    assert r.json()["type"] == OGC1 + "no-such-job"
    assert "'not-a-job'" in r.json()["detail"]


def test_conformance_claims_job_management(live):
    assert JOB_MANAGEMENT in live.get("/demo/ogc-api/conformance").json()["conformsTo"]


def test_a_job_stopped_and_started_at_once_runs_cleanly(live):
    r = _create(live, {"process": "sleep", "inputs": {"seconds": 300}}, workspace="lab")
    location, job_id = r.headers["Location"], r.json()["jobID"]
    live.http.post(location + "/results")
    poll(lambda: [p for p in _sleeping(live, job_id) if p.name() == "sleep"], bool, 60)
    live.http.delete(location + "/results")
    assert live.http.patch(location, json={"inputs": {"seconds": 0}}).status_code == 204
    assert live.http.post(location + "/results").status_code == 202
    done = live.wait_for(location, {"successful", "failed"})
    assert done["status"] == "successful", done
