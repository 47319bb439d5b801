"""openEO batch jobs: driven by the real openeo client where a client would do it, by plain
HTTP for the exact statuses and error documents; the same jobs seen under the OGC root."""

from __future__ import annotations

import openeo
import pytest
from openeo.rest import JobFailedException, OpenEoApiError

from tests.api.conftest import Live, Secured, poll
from tests.api.deploying import CWL_YAML, package, unique

ROOT = "/demo/openeo/1.2"
OGC = "/demo/ogc-api"


def graph(process_id: str = "echo", namespace: str | None = "demo", **arguments) -> dict:
    node = {"process_id": process_id, "arguments": arguments, "result": True}
    if namespace:
        node["namespace"] = namespace
    return {"process_graph": {"run1": node}}


def create(live: Live, process: dict | None = None, root: str = ROOT, **members) -> str:
    body = {"process": process or graph(stringInput="hi"), **members}
    r = live.post(f"{root}/jobs", json=body)
    assert r.status_code == 201, r.text
    assert not r.content
    job_id = r.headers["OpenEO-Identifier"]
    assert r.headers["Location"] == live.url(f"{root}/jobs/{job_id}")
    return job_id


def running(live: Live, job_id: str, root: str = ROOT) -> dict:
    return poll(lambda: live.get(f"{root}/jobs/{job_id}").json(),
                lambda d: d["status"] == "running", deadline=60)


def assert_error(r, status: int, code: str, *named: str) -> dict:
    assert r.status_code == status, r.text
    doc = r.json()
    assert doc["code"] == code, doc
    assert set(doc) == {"id", "code", "message", "links"}, doc
    for name in named:
        assert name in doc["message"], doc
    return doc


def test_a_job_through_the_openeo_client_from_creation_to_deletion(live: Live):
    connection = openeo.connect(live.url(ROOT))
    listed = {p["id"] for p in connection.list_processes()}
    assert {"echo", "ndvi"} <= listed
    cube = connection.datacube_from_process("echo", namespace="demo", stringInput="hello")
    job = cube.create_job(out_format="JSON", title="client run", description="from the client")
    sent = job.describe()
    assert sent["status"] == "created"
    assert sent["title"] == "client run"
    assert sent["description"] == "from the client"
    # The graph as the client sent it, save_result node and all.
    nodes = sent["process"]["process_graph"]
    assert {n["process_id"] for n in nodes.values()} == {"echo", "save_result"}

    printed: list[str] = []
    job.start_and_wait(print=printed.append, max_poll_interval=0.3)
    seen = [line.rsplit(": ", 1)[1].split(" ")[0] for line in printed if "progress" in line]
    assert seen[-1] == "finished"
    assert set(seen) <= {"queued", "running", "finished"}, printed
    done = job.describe()
    assert done["progress"] == 100
    assert done["created"].endswith("Z") and done["updated"].endswith("Z")

    logs = job.logs(level="info")
    assert logs and all(entry["level"] in ("info", "warning", "error") for entry in logs)
    assert any("accepted" in entry["message"] for entry in logs)

    assert job.job_id in {j["id"] for j in connection.list_jobs()}
    ogc = live.get(f"{OGC}/jobs/{job.job_id}").json()
    assert ogc["status"] == "successful"
    assert ogc["processID"] == "echo"

    estimate = live.get(f"{ROOT}/jobs/{job.job_id}/estimate").json()
    assert estimate["duration"].startswith("PT")

    job.delete()
    with pytest.raises(OpenEoApiError) as caught:
        job.describe()
    assert caught.value.http_status_code == 404
    assert caught.value.code == "JobNotFound"
    assert job.job_id in caught.value.message
    assert job.job_id not in {j["id"] for j in connection.list_jobs()}
    # Under the OGC root the record stays, dismissed and without its results.
    assert live.get(f"{OGC}/jobs/{job.job_id}").json()["status"] == "dismissed"


def test_a_running_job_is_locked_and_stops_keeping_its_record(live: Live):
    connection = openeo.connect(live.url(ROOT))
    cube = connection.datacube_from_process(
        "echo", namespace="demo", stringInput="slow", pause=30
    )
    job = cube.create_job(auto_add_save_result=False)
    job.start()
    running(live, job.job_id)
    r = live.http.patch(live.url(f"{ROOT}/jobs/{job.job_id}"), json={"title": "late"})
    assert_error(r, 400, "JobLocked", job.job_id, "running")
    assert_error(live.post(f"{ROOT}/jobs/{job.job_id}/results"), 400, "JobLocked", job.job_id)
    logs = live.get(f"{ROOT}/jobs/{job.job_id}/logs").json()
    assert [link["rel"] for link in logs["links"]] == ["next"]  # more may come

    job.stop()
    assert job.status() == "canceled"
    assert live.get(f"{OGC}/jobs/{job.job_id}").json()["status"] == "dismissed"
    assert any("stopped" in entry["message"] for entry in job.logs(level="warning"))


def test_a_failing_job_raises_with_its_error_log(live: Live):
    connection = openeo.connect(live.url("/lab/openeo/1.2"))
    cube = connection.datacube_from_process("fail", namespace="lab", message="red")
    job = cube.create_job(auto_add_save_result=False)
    printed: list[str] = []
    with pytest.raises(JobFailedException) as caught:
        job.start_and_wait(print=printed.append, max_poll_interval=0.3)
    assert "error" in str(caught.value)
    errors = caught.value.job.logs(level="error")
    assert errors and {entry["level"] for entry in errors} == {"error"}
    assert any("band B04 is missing from" in entry["message"] for entry in errors)
    # The client shows the error log when the job fails.
    assert any("band B04 is missing" in str(line) for line in printed)


def test_the_job_document_has_what_it_was_created_with(live: Live):
    process = graph(stringInput="kept", pause=0)
    job_id = create(live, process, title="t", description="d", plan="free", budget=3,
                    log_level="warning", cache=False)
    r = live.get(f"{ROOT}/jobs/{job_id}")
    doc = r.json()
    assert doc["process"] == process
    assert (doc["title"], doc["description"], doc["plan"], doc["budget"]) == ("t", "d", "free", 3)
    assert doc["log_level"] == "warning"
    assert doc["status"] == "created"
    assert isinstance(doc["progress"], int | float)
    kept = live.server.services.jobs.get("demo", job_id).request["openeo"]
    assert kept["cache"] is False
    # The same job under the OGC root, its inputs from the graph.
    definition = live.get(f"{OGC}/jobs/{job_id}/definition").json()
    assert definition["inputs"] == {"stringInput": "kept", "pause": 0}
    assert definition["title"] == "t"


def test_cache_defaults_to_true(live: Live):
    job_id = create(live)
    assert live.server.services.jobs.get("demo", job_id).request["openeo"]["cache"] is True


def test_a_job_created_under_the_ogc_root_shows_as_a_one_node_graph(live: Live):
    r = live.post(f"{OGC}/jobs", json={"process": "echo", "inputs": {"stringInput": "ogc"}})
    assert r.status_code == 201, r.text
    job_id = r.json()["jobID"]
    doc = live.get(f"{ROOT}/jobs/{job_id}").json()
    (node,) = doc["process"]["process_graph"].values()
    assert node == {"process_id": "echo", "namespace": "demo",
                    "arguments": {"stringInput": "ogc"}, "result": True}
    assert doc["status"] == "created"


def test_patch_changes_title_description_and_replans_the_graph(live: Live):
    pid = unique("greeter")
    r = live.post(f"{OGC}/processes", data=package("greet", pid), headers=CWL_YAML)
    assert r.status_code == 201, r.text
    job_id = create(live)
    new = graph(pid, name="world")
    r = live.http.patch(live.url(f"{ROOT}/jobs/{job_id}"),
                        json={"title": "new", "description": "changed", "process": new})
    assert r.status_code == 204, r.text
    assert not r.content
    doc = live.get(f"{ROOT}/jobs/{job_id}").json()
    assert (doc["title"], doc["description"], doc["process"]) == ("new", "changed", new)
    # The job runs the new process from now on, also as the OGC root sees it.
    definition = live.get(f"{OGC}/jobs/{job_id}/definition").json()
    assert definition["process"].endswith(f"/processes/{pid}")
    assert definition["inputs"] == {"name": "world"}
    # A title alone leaves the graph as it is.
    r = live.http.patch(live.url(f"{ROOT}/jobs/{job_id}"), json={"title": "again"})
    assert r.status_code == 204, r.text
    assert live.get(f"{ROOT}/jobs/{job_id}").json()["process"] == new
    # An estimate needs past runs of the process: a new one has none.
    r = live.get(f"{ROOT}/jobs/{job_id}/estimate")
    assert_error(r, 404, "NotFound", pid)
    live.delete(f"{OGC}/processes/{pid}")


def test_jobs_are_listed_newest_first_with_a_next_link(live: Live):
    older, newer = create(live), create(live)
    page = live.get(f"{ROOT}/jobs", params={"limit": 1}).json()
    assert [j["id"] for j in page["jobs"]] == [newer]
    (next_link,) = [link["href"] for link in page["links"] if link["rel"] == "next"]
    following = live.http.get(next_link).json()
    assert [j["id"] for j in following["jobs"]] == [older]
    assert set(page["jobs"][0]) >= {"id", "status", "created", "updated", "progress"}


def test_logs_page_by_offset_and_filter_by_level(live: Live):
    job_id = create(live)
    live.http.patch(live.url(f"{ROOT}/jobs/{job_id}"), json={"title": "logged"})
    live.delete(f"{ROOT}/jobs/{job_id}/results")  # not running: nothing to stop
    first = live.get(f"{ROOT}/jobs/{job_id}/logs", params={"limit": 1}).json()
    assert len(first["logs"]) == 1
    entry = first["logs"][0]
    assert set(entry) == {"id", "level", "message", "time"}
    assert "created" in entry["message"]
    (next_link,) = [link["href"] for link in first["links"] if link["rel"] == "next"]
    second = live.http.get(next_link).json()
    assert "updated" in second["logs"][0]["message"]
    assert second["logs"][0]["id"] != entry["id"]
    assert live.get(f"{ROOT}/jobs/{job_id}/logs", params={"level": "error"}).json()["logs"] == []
    after = live.get(f"{ROOT}/jobs/{job_id}/logs", params={"offset": entry["id"]}).json()
    assert entry["id"] not in {e["id"] for e in after["logs"]}


def test_a_log_offset_that_is_no_entry_id_is_a_bad_request_naming_it(live: Live):
    job_id = create(live)
    r = live.get(f"{ROOT}/jobs/{job_id}/logs", params={"offset": "yesterday"})
    assert_error(r, 400, "BadRequest", "'offset'", "yesterday")


def test_a_job_kept_at_log_level_warning_shows_no_info(live: Live):
    job_id = create(live, log_level="warning")
    doc = live.get(f"{ROOT}/jobs/{job_id}/logs", params={"level": "debug"}).json()
    assert doc["level"] == "warning"
    assert doc["logs"] == []


def test_a_created_job_is_deleted_and_gone(live: Live):
    job_id = create(live)
    r = live.delete(f"{ROOT}/jobs/{job_id}")
    assert r.status_code == 204, r.text
    assert_error(live.get(f"{ROOT}/jobs/{job_id}"), 404, "JobNotFound", job_id)
    assert_error(live.delete(f"{ROOT}/jobs/{job_id}"), 404, "JobNotFound", job_id)


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("patch", ""), ("delete", ""), ("post", "/results"), ("delete", "/results"),
     ("get", "/logs"), ("get", "/estimate")],
)
def test_an_unknown_job_is_job_not_found(live: Live, method: str, suffix: str):
    kw = {"json": {"title": "x"}} if method == "patch" else {}
    r = live.http.request(method.upper(), live.url(f"{ROOT}/jobs/no-such-job{suffix}"), **kw)
    assert_error(r, 404, "JobNotFound", "no-such-job")


@pytest.mark.parametrize(
    ("body", "status", "code", "named"),
    [
        ({"title": "no graph"}, 400, "ProcessGraphMissing", ["'process'"]),
        ({"process": {"title": "no graph"}}, 400, "ProcessGraphMissing", ["'process_graph'"]),
        ({"process": {"process_graph": {"a": {"process_id": "echo", "arguments": {}}}}},
         400, "ProcessGraphInvalid", ["result"]),
        ({"process": {"process_graph": {"x": {"process_id": "nope", "arguments": {},
                                              "result": True}}}},
         400, "ProcessUnsupported", ["'x'", "'nope'"]),
        ({"process": graph(namespace="lab", stringInput="a")}, 400, "ProcessUnsupported",
         ["'lab'"]),
        ({"process": graph(stringInput=7)}, 400, "ProcessParameterInvalid", ["'stringInput'"]),
        ({"process": graph(stringInput="a", loud=True)}, 400, "ProcessParameterInvalid",
         ["'loud'"]),
        ({"process": graph()}, 400, "ProcessParameterInvalid", ["'stringInput'"]),
        ({"process": graph(stringInput="a"), "cache": "yes"}, 400, "BadRequest", ["'cache'"]),
        ({"process": graph(stringInput="a"), "log_level": "loud"}, 400, "BadRequest",
         ["log_level"]),
        ({"process": "echo"}, 400, "BadRequest", ["process"]),
    ],
)
def test_a_job_that_cannot_be_made_is_refused_by_name(live: Live, body, status, code, named):
    before = live.get(f"{ROOT}/jobs", params={"limit": 1}).json()["jobs"]
    assert_error(live.post(f"{ROOT}/jobs", json=body), status, code, *named)
    assert live.get(f"{ROOT}/jobs", params={"limit": 1}).json()["jobs"] == before


def test_a_patch_with_a_graph_that_cannot_run_changes_nothing(live: Live):
    job_id = create(live)
    bad = graph(stringInput="a", loud=1)
    r = live.http.patch(live.url(f"{ROOT}/jobs/{job_id}"), json={"title": "x", "process": bad})
    assert_error(r, 400, "ProcessParameterInvalid", "'loud'")
    doc = live.get(f"{ROOT}/jobs/{job_id}").json()
    assert doc["title"] is None
    assert doc["process"] == graph(stringInput="hi")


def test_basic_authentication_as_the_openeo_client_does_it(secured: Secured):
    connection = openeo.connect(secured.live.url(ROOT))
    connection.authenticate_basic("demo", secured.tokens["demo"])
    cube = connection.datacube_from_process("echo", namespace="demo", stringInput="auth")
    job = cube.create_job(auto_add_save_result=False)
    assert job.status() == "created"
    assert job.job_id in {j["id"] for j in connection.list_jobs()}
    other = openeo.connect(secured.live.url("/lab/openeo/1.2"))
    other.authenticate_basic("lab", secured.tokens["lab"])
    with pytest.raises(OpenEoApiError) as caught:
        other.job(job.job_id).describe()
    assert caught.value.http_status_code == 404
    job.delete()
