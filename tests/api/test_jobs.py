"""Executing processes and managing their jobs through HTTP, under both roots: sync and
async execution, status, results, job lists, dismiss, failures and bad input."""

import json

import psutil
import pytest
import requests

from tests.api.conftest import poll
from tests.ogc_documents import validate

OGC1 = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
ASYNC = {"Prefer": "respond-async"}
HELLO = {"inputs": {"stringInput": "hello world"}}
CONF = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"


@pytest.mark.parametrize("response", [None, "raw"])
def test_sync_execute_answers_raw_by_default(live, response):
    """OGC API - Processes 1.0: ``response`` defaults to raw; one output is the value itself
    (mixedOutput, null when mixedInput is absent, is left out), as JSON unless the client
    prefers another type (tests/api/test_negotiation.py)."""
    body = {**HELLO, "response": response} if response else HELLO
    r = live.post("/demo/ogc-api/processes/echo/execution", json=body)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == "hello world"
    assert "Link" not in r.headers


def test_sync_document_response_is_the_results_document(live):
    body = {"inputs": {"stringInput": "hi", "mixedInput": 2.5}, "response": "document"}
    r = live.post("/demo/ogc-api/processes/echo/execution", json=body)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == {"echoOutput": "hi", "mixedOutput": 2.5}
    validate(r.json(), "results.yaml")
    assert "Link" not in r.headers


def test_sync_raw_with_two_outputs_is_multipart(live):
    body = {"inputs": {"stringInput": "hi", "mixedInput": "there"}, "response": "raw"}
    r = live.post("/demo/ogc-api/processes/echo/execution", json=body)
    assert r.status_code == 200, r.text
    media_type, boundary = r.headers["Content-Type"].split("; boundary=")
    assert media_type == "multipart/related"
    parts = r.content.split(b"--" + boundary.strip('"').encode())
    assert parts[0] == b"" and parts[-1] == b"--\r\n"
    bodies = {}
    for part in parts[1:-1]:
        head, data = part.strip(b"\r\n").split(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        bodies[headers["Content-ID"]] = (headers["Content-Type"], data)
    assert bodies == {
        "<echoOutput>": ("application/json", b'"hi"'),
        "<mixedOutput>": ("application/json", b'"there"'),
    }


def test_outputs_select_and_transmission_mode_reference_uploads_the_value(live):
    body = {
        "inputs": {"stringInput": "by reference", "mixedInput": 7},
        "outputs": {"echoOutput": {"transmissionMode": "reference"}},
        "response": "document",
    }
    r = live.post("/demo/ogc-api/processes/echo/execution", json=body)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert list(doc) == ["echoOutput"]  # mixedOutput was not asked for
    assert doc["echoOutput"]["type"] == "text/plain"
    # The link is a URL anyone can GET (the job's download route), not an s3:// URI.
    assert "/download/" in doc["echoOutput"]["href"]
    assert requests.get(doc["echoOutput"]["href"], timeout=10).content == b"by reference"


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"outputs": {"nope": {}}}, "output 'nope'"),
        ({"outputs": {"echoOutput": {"transmissionMode": "carrier-pigeon"}}}, "carrier-pigeon"),
        ({"response": "poem"}, "'response'"),
    ],
)
def test_bad_output_requests_are_400_and_store_nothing(live, extra, named):
    before = _job_count(live)
    r = live.post("/demo/ogc-api/processes/echo/execution", json={**HELLO, **extra})
    assert r.status_code == 400, r.text
    assert r.json()["type"] == OGC1 + "invalid-parameter-value"
    assert named in r.json()["detail"]
    assert _job_count(live) == before


def test_execute_without_content_type_reads_json(live):
    r = live.post("/demo/ogc-api/processes/echo/execution", data=json.dumps(HELLO))
    assert r.status_code == 200, r.text
    assert r.json() == "hello world"


def test_errors_are_json_unless_problem_json_is_asked_for(live):
    r = live.get("/demo/ogc-api/jobs/not-a-job")
    assert r.headers["Content-Type"] == "application/json"
    r = live.get("/demo/ogc-api/jobs/not-a-job", headers={"Accept": "application/problem+json"})
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["status"] == 404


def test_prefer_wait_is_applied(live):
    r = live.post(
        "/demo/ogc-api/processes/echo/execution", json=HELLO, headers={"Prefer": "wait=30"}
    )
    assert r.status_code == 200
    assert r.headers["Preference-Applied"] == "wait=30"


@pytest.mark.conformance(CONF + "core")
@pytest.mark.parametrize("path", ["execution", "jobs"])
def test_async_execute_creates_a_job(live, path):
    r = live.post(f"/demo/ogc-api/processes/echo/{path}", json=HELLO, headers=ASYNC)
    assert r.status_code == 201, r.text
    assert r.headers["Preference-Applied"] == "respond-async"
    location = r.headers["Location"]
    assert location.startswith(live.base + "/demo/ogc-api/jobs/")
    status = r.json()
    validate(status, "statusInfo.yaml")
    assert status["status"] in ("accepted", "running", "successful")
    assert status["processID"] == "echo"
    assert location.endswith(status["jobID"])

    done = live.wait_for(location, {"successful", "failed"})
    validate(done, "statusInfo.yaml")
    assert done["status"] == "successful", done
    assert done["progress"] == 100
    for key in ("created", "started", "finished", "updated"):
        assert key in done
    rels = {link["rel"]: link["href"] for link in done["links"]}
    assert rels["self"] == location
    assert rels["status"] == location
    results_url = rels["http://www.opengis.net/def/rel/ogc/1.0/results"]
    results = live.http.get(results_url)
    assert results.status_code == 200
    assert results.json() == {"echoOutput": "hello world"}
    validate(results.json(), "results.yaml")


def test_job_is_listed_at_once_and_status_has_no_results_link_before_success(live):
    r = live.post("/lab/ogc-api/processes/sleep/execution", json={"inputs": {"seconds": 60}},
                  headers=ASYNC)
    job_id = r.json()["jobID"]
    try:
        listed = live.get("/lab/ogc-api/jobs").json()
        assert job_id in [j["jobID"] for j in listed["jobs"]]
        status = live.http.get(r.headers["Location"]).json()
        rels = [link["rel"] for link in status["links"]]
        assert "http://www.opengis.net/def/rel/ogc/1.0/results" not in rels
        not_ready = live.get(f"/lab/ogc-api/jobs/{job_id}/results")
        assert not_ready.status_code == 404
        assert not_ready.json()["type"] == OGC1 + "result-not-ready"
        assert job_id in not_ready.json()["detail"]
    finally:
        live.delete(f"/lab/ogc-api/jobs/{job_id}")


def test_wps3_execute_status_and_results_shapes(live):
    r = live.post("/demo/wps3/processes/echo/jobs", json=HELLO, headers=ASYNC)
    assert r.status_code == 201
    location = r.headers["Location"]
    assert location.startswith(live.base + "/demo/wps3/jobs/")
    done = live.wait_for(location, {"successful", "failed"})
    assert done["status"] == "successful"
    status_link = next(link for link in done["links"] if link["rel"] == "status")
    assert status_link["title"] == "Status location"
    results = live.http.get(location + "/results").json()
    assert results["outputs"][0]["id"] == "echoOutput"
    assert results["outputs"][0]["value"] == {"inlineValue": "hello world"}
    assert results["outputs"][0]["time"].endswith("Z")

    listing = live.get("/demo/wps3/jobs").json()
    assert listing["numberTotal"] >= 1
    assert listing["links"][0]["rel"] == "self"
    assert done["jobID"] in [j["jobID"] for j in listing["jobs"]]


@pytest.mark.conformance(CONF + "job-list")
def test_job_list_pages_newest_first(live):
    ids = []
    for word in ("one", "two", "three"):
        r = live.post("/demo/ogc-api/processes/echo/execution",
                      json={"inputs": {"stringInput": word}}, headers=ASYNC)
        ids.append(r.json()["jobID"])
    for job_id in ids:
        live.wait_for(live.url(f"/demo/ogc-api/jobs/{job_id}"), {"successful", "failed"})
    page = live.get("/demo/ogc-api/jobs", params={"limit": 2}).json()
    validate(page, "jobList.yaml")
    assert [j["jobID"] for j in page["jobs"]] == [ids[2], ids[1]]
    assert page["numberMatched"] >= 3
    nxt = next(link["href"] for link in page["links"] if link["rel"] == "next")
    assert live.http.get(nxt).json()["jobs"][0]["jobID"] == ids[0]


def test_async_only_process_answers_201_without_prefer(live):
    r = live.post("/lab/ogc-api/processes/async-only/execution", json={"inputs": {"word": "hi"}})
    assert r.status_code == 201
    assert "Preference-Applied" in r.headers
    done = live.wait_for(r.headers["Location"], {"successful", "failed"})
    assert done["status"] == "successful", done


def _processes_in(folder: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cwd"]):
        cwd = proc.info.get("cwd") or ""
        if cwd.startswith(folder):
            found.append(proc)
    return found


@pytest.mark.conformance(CONF + "dismiss")
def test_dismiss_running_job_kills_its_processes(live):
    r = live.post("/lab/ogc-api/processes/sleep/execution", json={"inputs": {"seconds": 300}},
                  headers=ASYNC)
    job_id = r.json()["jobID"]
    workdir = str(live.server.services.settings.data_dir / "jobs" / job_id)
    poll(lambda: [p for p in _processes_in(workdir) if p.name() == "sleep"], bool, deadline=60)

    d = live.delete(f"/lab/ogc-api/jobs/{job_id}")
    assert d.status_code == 200
    validate(d.json(), "statusInfo.yaml")
    assert d.json()["status"] == "dismissed"
    poll(lambda: _processes_in(workdir), lambda procs: not procs, deadline=30)
    # The job stays readable (as the README says): only its results are gone.
    status = live.get(f"/lab/ogc-api/jobs/{job_id}")
    assert status.status_code == 200
    assert status.json()["status"] == "dismissed"
    assert live.get(f"/lab/ogc-api/jobs/{job_id}/logs").status_code == 200
    gone = live.get(f"/lab/ogc-api/jobs/{job_id}/results")
    assert gone.status_code == 404
    assert gone.json()["type"] == OGC1 + "no-such-job"


def test_dismiss_finished_job_removes_its_results(live):
    r = live.post("/demo/ogc-api/processes/echo/execution", json=HELLO, headers=ASYNC)
    job_id = r.json()["jobID"]
    live.wait_for(r.headers["Location"], {"successful"})
    objects = live.server.services.objects
    prefix = f"demo/jobs/{job_id}/"
    d = live.delete(f"/demo/wps3/jobs/{job_id}")
    assert d.status_code == 200
    assert d.json()["status"] == "dismissed"
    assert objects.list_keys(prefix) == []
    assert live.get(f"/demo/ogc-api/jobs/{job_id}/results").status_code == 404


def test_failing_step_says_which_step_and_why(live):
    r = live.post("/lab/ogc-api/processes/fail/execution", json={"inputs": {"message": "x y"}},
                  headers=ASYNC)
    done = live.wait_for(r.headers["Location"], {"successful", "failed"})
    assert done["status"] == "failed"
    message = done["message"]
    assert "explode" in message
    assert "3" in message
    assert "band B04 is missing" in message
    assert done["failure"]["category"] == "application"
    results = live.http.get(r.headers["Location"] + "/results")
    # The application failed, not the server: a 4xx, never a 5xx.
    assert results.status_code == 422
    assert results.json()["type"] == OGC1 + "job-failed"
    assert "band B04 is missing" in results.json()["detail"]


def test_sync_failure_reports_the_failure(live):
    r = live.post("/lab/ogc-api/processes/fail/execution", json={"inputs": {"message": "x y"}})
    assert r.status_code == 422
    assert r.json()["type"] == OGC1 + "job-failed"
    assert "explode" in r.json()["detail"]


def _job_count(live, workspace="demo"):
    return live.get(f"/{workspace}/ogc-api/jobs", params={"limit": 1}).json()["numberMatched"]


BAD_INPUTS = [
    ({"inputs": {}}, "stringInput"),
    ({"inputs": {"stringInput": "a", "pause": "abc"}}, "pause"),
    ({"inputs": {"stringInput": 42}}, "stringInput"),
    ({"inputs": {"stringInput": "a", "colour": "red"}}, "colour"),
]


@pytest.mark.parametrize("root", ["ogc-api", "wps3"])
@pytest.mark.parametrize(("body", "named"), BAD_INPUTS)
def test_bad_inputs_are_400_naming_the_input_and_store_nothing(live, root, body, named):
    before = _job_count(live)
    r = live.post(f"/demo/{root}/processes/echo/execution", json=body, headers=ASYNC)
    assert r.status_code == 400, r.text
    problem = r.json()
    assert problem["type"] == OGC1 + "invalid-input"
    assert f"'{named}'" in problem["detail"]
    validate(problem, "exception.yaml")
    assert _job_count(live) == before


@pytest.mark.parametrize(
    ("data", "named"),
    [("{not json", "JSON"), ("[1, 2]", "object"), ('{"inputs": 5}', "inputs")],
)
def test_malformed_bodies_are_400(live, data, named):
    before = _job_count(live)
    r = live.post("/demo/ogc-api/processes/echo/execution", data=data,
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["type"] == OGC1 + "invalid-parameter-value"
    assert named in r.json()["detail"]
    assert _job_count(live) == before


def test_bad_prefer_wait_is_400(live):
    r = live.post("/demo/ogc-api/processes/echo/execution", json=HELLO,
                  headers={"Prefer": "wait=soon"})
    assert r.status_code == 400
    assert "wait=soon" in r.json()["detail"]


def test_execute_unknown_process_is_404(live):
    r = live.post("/demo/ogc-api/processes/nope/execution", json=HELLO)
    assert r.status_code == 404
    assert r.json()["type"] == OGC1 + "no-such-process"
    assert "'nope'" in r.json()["detail"]


@pytest.mark.parametrize("suffix", ["", "/results"])
def test_unknown_job_is_404(live, suffix):
    r = live.get(f"/demo/ogc-api/jobs/not-a-job{suffix}")
    assert r.status_code == 404
    assert r.json()["type"] == OGC1 + "no-such-job"
    assert "'not-a-job'" in r.json()["detail"]
    assert live.delete("/demo/ogc-api/jobs/not-a-job").status_code == 404


def test_jobs_of_one_workspace_are_not_visible_in_another(live):
    r = live.post("/demo/ogc-api/processes/echo/execution", json=HELLO, headers=ASYNC)
    job_id = r.json()["jobID"]
    assert live.get(f"/lab/ogc-api/jobs/{job_id}").status_code == 404
    live.wait_for(r.headers["Location"], {"successful", "failed"})


def test_jobs_beyond_max_jobs_wait_as_accepted(live):
    """The live server runs at most ADES_MAX_JOBS=2 jobs at once; a third waits, accepted."""
    assert live.server.services.settings.max_jobs == 2
    urls = []
    try:
        for _ in range(3):
            r = live.post("/lab/ogc-api/processes/sleep/execution",
                          json={"inputs": {"seconds": 300}}, headers=ASYNC)
            assert r.status_code == 201
            urls.append(r.headers["Location"])
        statuses = poll(lambda: [live.http.get(u).json()["status"] for u in urls],
                        lambda s: s[:2] == ["running", "running"], deadline=60)
        assert statuses[2] == "accepted"
        # Dismissing a running job frees its slot: the waiting one starts.
        live.delete(urls[0].removeprefix(live.base))
        live.wait_for(urls[2], {"running"}, deadline=60)
    finally:
        for url in urls:
            live.delete(url.removeprefix(live.base))


def test_results_of_a_pausing_echo_are_not_ready_until_it_ends(live):
    r = live.post("/demo/ogc-api/processes/echo/execution",
                  json={"inputs": {"stringInput": "later", "pause": 60}}, headers=ASYNC)
    location = r.headers["Location"]
    try:
        not_ready = live.http.get(location + "/results")
        assert not_ready.status_code == 404
        assert not_ready.json()["type"] == OGC1 + "result-not-ready"
    finally:
        live.http.delete(location)


def test_the_header_forms_ogc_clients_send_are_understood(live):
    """As the CITE suite sends them: a charset on the body's type, a space after the
    preference, and no Accept header on the status request."""
    r = live.post("/demo/ogc-api/processes/echo/execution", data=json.dumps(HELLO),
                  headers={"Content-Type": "application/json; charset=UTF-8",
                           "Prefer": "respond-async "})
    assert r.status_code == 201, r.text
    status = live.http.get(r.headers["Location"], headers={"Accept": None})
    assert status.headers["Content-Type"] == "application/json"
    live.wait_for(r.headers["Location"], {"successful"})


def test_wps3_executes_at_the_process_url_as_the_eoepca_ades_does(live):
    """Seed 003's table: POST /{workspace}/wps3/processes/{id} creates a job (201)."""
    r = live.post("/demo/wps3/processes/echo", json=HELLO, headers=ASYNC)
    assert r.status_code == 201, r.text
    assert r.headers["Location"].startswith(live.base + "/demo/wps3/jobs/")
    done = live.wait_for(r.headers["Location"], {"successful", "failed"})
    assert done["status"] == "successful", done
