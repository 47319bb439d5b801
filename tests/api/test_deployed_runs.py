"""Deployed processes at work: a $graph package with scatter, a sub-workflow, arrays,
enums, records, optional inputs and defaults run end to end with results on S3; replace
changes what the next job runs; undeploy; isolation between workspaces; and a restart."""

import pytest

from tests.api.conftest import serve, server_settings
from tests.api.deploying import CONF2, CWL_YAML, OGC1, package, unique
from tests.ogc_documents import validate


def deploy(live, text, workspace="lab"):
    r = live.post(f"/{workspace}/ogc-api/processes", data=text, headers=CWL_YAML)
    assert r.status_code == 201, r.text
    return r.json()


def run(live, process_id, inputs, workspace="lab"):
    """Execute asynchronously, wait for the job; its final status document."""
    r = live.post(f"/{workspace}/ogc-api/processes/{process_id}/execution",
                  json={"inputs": inputs}, headers={"Prefer": "respond-async"})
    assert r.status_code == 201, r.text
    return live.wait_for(r.headers["Location"], {"successful", "failed", "dismissed"})


def results(live, status):
    job_url = next(link["href"] for link in status["links"] if link["rel"] == "self")
    r = live.http.get(job_url + "/results")
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def snuggs(live):
    pid = unique("snuggs")
    doc = deploy(live, package("snuggs", pid))
    return pid, doc


def test_graph_package_is_described_with_arrays_enums_records_optionals_defaults(live, snuggs):
    pid, deployed = snuggs
    assert deployed["version"] == "1.2.0"
    # Tools without a container image break the Best Practice: warned, not refused.
    assert any("'say' names no container image" in w for w in deployed["warnings"])
    doc = live.get(f"/lab/ogc-api/processes/{pid}").json()
    validate(doc, "process.yaml")
    inputs = doc["inputs"]
    assert inputs["words"]["schema"] == {"type": "array", "items": {"type": "string"}}
    assert (inputs["words"]["minOccurs"], inputs["words"]["maxOccurs"]) == (1, "unbounded")
    assert inputs["mode"]["schema"] == {"type": "string", "enum": ["loud", "quiet"],
                                        "default": "loud"}
    assert inputs["mode"]["minOccurs"] == 0
    assert inputs["repeat"]["schema"] == {"type": "integer", "default": 2}
    assert inputs["suffix"]["minOccurs"] == 0
    style = inputs["style"]["schema"]
    assert style["type"] == "object" and style["required"] == ["prefix"]
    assert set(style["properties"]) == {"prefix", "times"}
    assert inputs["style"]["minOccurs"] == 0
    assert doc["outputs"]["gathered"]["schema"]["type"] == "object"


def test_graph_package_runs_with_every_input_given_results_on_s3(live, snuggs):
    pid, _ = snuggs
    status = run(live, pid, {"words": ["ab", "Cd"], "mode": "quiet", "repeat": 1,
                             "suffix": "!", "style": {"prefix": ">", "times": 2}})
    assert status["status"] == "successful", status["message"]
    out = results(live, status)
    assert out["lines"] == [">>ab!", ">>cd!"]
    assert out["gathered"]["href"].startswith(live.base)  # a link people can open
    # Where it lies on S3: the job's record keeps the s3:// URI.
    href = live.server.services.jobs.get("lab", status["jobID"]).results["gathered"]["href"]
    objects = live.server.services.objects
    prefix = href.removeprefix(f"s3://{objects.bucket}/").rstrip("/")
    lines_key = next(k for k in objects.list_keys(prefix) if k.endswith("lines.txt"))
    assert objects.get_bytes(lines_key).decode() == ">>ab!\n>>cd!\n"


def test_graph_package_applies_defaults_to_omitted_inputs(live, snuggs):
    pid, _ = snuggs
    status = run(live, pid, {"words": ["hi"]})
    assert status["status"] == "successful", status["message"]
    assert results(live, status)["lines"] == ["HI HI"]


def test_an_empty_array_scatters_over_nothing(live, snuggs):
    # [] is a valid value of the required string[] that the workflow scatters over.
    pid, _ = snuggs
    status = run(live, pid, {"words": []})
    assert status["status"] == "successful", status["message"]
    assert results(live, status)["lines"] == []


@pytest.mark.parametrize(
    ("inputs", "named"),
    [
        ({"words": ["a"], "mode": "shouty"}, "'mode'"),
        ({"words": ["a"], "style": {"times": 2}}, "'style'"),
        ({"mode": "loud"}, "'words'"),
    ],
)
def test_inputs_are_checked_against_the_deployed_description(live, snuggs, inputs, named):
    pid, _ = snuggs
    r = live.post(f"/lab/ogc-api/processes/{pid}/execution", json={"inputs": inputs})
    assert r.status_code == 400
    assert r.json()["type"] == OGC1 + "invalid-input"
    assert named in r.json()["detail"]


@pytest.mark.conformance(CONF2 + "deploy-replace-undeploy")
def test_replace_changes_what_the_next_job_runs(live):
    pid = unique("greet")
    deploy(live, package("greet", pid))
    assert results(live, run(live, pid, {"name": "Ed"})) == {"message": "Hello, Ed"}

    replaced = package("greet", pid).replace("default: Hello", "default: Bonjour")
    for root in ("ogc-api", "wps3"):
        r = live.put(f"/lab/{root}/processes/{pid}", data=replaced, headers=CWL_YAML)
        assert r.status_code == 204, r.text
        assert r.content == b""
    doc = live.get(f"/lab/ogc-api/processes/{pid}").json()
    assert doc["inputs"]["greeting"]["schema"]["default"] == "Bonjour"
    assert live.get(f"/lab/ogc-api/processes/{pid}/package").text == replaced
    assert results(live, run(live, pid, {"name": "Ed"})) == {"message": "Bonjour, Ed"}


def test_replace_must_keep_the_process_id(live):
    pid = unique("greet")
    deploy(live, package("greet", pid))
    other = package("greet", unique("other"))
    r = live.put(f"/lab/ogc-api/processes/{pid}", data=other, headers=CWL_YAML)
    assert r.status_code == 400
    assert f"'{pid}'" in r.json()["detail"]
    invalid = live.put(f"/lab/ogc-api/processes/{pid}", data=package("invalid"),
                       headers=CWL_YAML)
    assert invalid.status_code == 400 and "strng" in invalid.json()["detail"]
    # Neither touched the deployed package.
    assert live.get(f"/lab/ogc-api/processes/{pid}/package").text == package("greet", pid)


@pytest.mark.conformance(CONF2 + "deploy-replace-undeploy")
def test_undeploy_then_execute_is_404_and_past_jobs_stay_readable(live):
    pid = unique("greet")
    deploy(live, package("greet", pid))
    done = run(live, pid, {"name": "Flo"})
    assert live.delete(f"/lab/ogc-api/processes/{pid}").status_code == 204

    for r in (
        live.post(f"/lab/ogc-api/processes/{pid}/execution", json={"inputs": {"name": "x"}}),
        live.get(f"/lab/ogc-api/processes/{pid}"),
        live.get(f"/lab/ogc-api/processes/{pid}/package"),
        live.delete(f"/lab/ogc-api/processes/{pid}"),
    ):
        assert r.status_code == 404
        assert r.json()["type"] == OGC1 + "no-such-process"
    assert pid not in [p["id"] for p in live.get("/lab/ogc-api/processes").json()["processes"]]
    assert live.get(f"/lab/ogc-api/jobs/{done['jobID']}").json()["status"] == "successful"
    assert results(live, done) == {"message": "Hello, Flo"}


def test_same_package_in_two_workspaces_makes_two_independent_processes(live):
    pid = unique("greet")
    deploy(live, package("greet", pid), "lab")
    deploy(live, package("greet", pid).replace("default: Hello", "default: Hej"), "demo")

    def listed(workspace):
        processes = live.get(f"/{workspace}/ogc-api/processes?limit=1000").json()["processes"]
        return {p["id"]: p["mutable"] for p in processes}

    assert listed("lab")[pid] is True and listed("demo")[pid] is True
    assert listed("demo")["echo"] is False
    assert live.delete(f"/demo/ogc-api/processes/{pid}").status_code == 204
    assert pid not in listed("demo")
    assert results(live, run(live, pid, {"name": "Gus"})) == {"message": "Hello, Gus"}
    assert live.get(f"/strict/ogc-api/processes/{pid}").status_code == 404


def test_deployed_processes_survive_a_restart(seaweedfs, tmp_path):
    settings = server_settings(tmp_path, seaweedfs, bucket="ades-restart-tests")
    pid = unique("greet")
    with serve(settings) as first:
        deploy(first, package("greet", pid))
        job = run(first, pid, {"name": "Hal"})
    with serve(settings) as second:
        doc = second.get(f"/lab/ogc-api/processes/{pid}").json()
        assert (doc["id"], doc["mutable"]) == (pid, True)
        assert second.get(f"/lab/ogc-api/jobs/{job['jobID']}").json()["status"] == "successful"
        assert results(second, run(second, pid, {"name": "Ivy"})) == {"message": "Hello, Ivy"}
        alias = f"{pid}-0_1_0"
        assert second.get(f"/lab/ogc-api/processes/{alias}").json()["id"] == pid
        assert second.delete(f"/lab/ogc-api/processes/{pid}").status_code == 204
    with serve(settings) as third:
        assert third.get(f"/lab/ogc-api/processes/{pid}").status_code == 404


def test_a_job_runs_the_package_it_was_accepted_with(live):
    """Replace and undeploy land while the job waits for a worker: it still runs the
    package its inputs were checked against."""
    pid = unique("greet")
    deploy(live, package("greet", pid))
    # Both workers (max_jobs=2) busy, so the next job waits in the queue.
    sleepers = []
    for _ in range(2):
        r = live.post("/lab/ogc-api/processes/sleep/execution", json={"inputs": {"seconds": 120}},
                      headers={"Prefer": "respond-async"})
        sleepers.append(r.headers["Location"])
    for url in sleepers:
        live.wait_for(url, {"running"})
    waiting = []
    for _ in range(2):
        r = live.post(f"/lab/ogc-api/processes/{pid}/execution", json={"inputs": {"name": "Jo"}},
                      headers={"Prefer": "respond-async"})
        assert r.json()["status"] == "accepted"
        waiting.append(r.headers["Location"])
    replaced = package("greet", pid).replace("default: Hello", "default: Salut")
    assert live.put(f"/lab/ogc-api/processes/{pid}", data=replaced,
                    headers=CWL_YAML).status_code == 204
    assert live.delete(f"/lab/ogc-api/processes/{pid}").status_code == 204
    assert live.http.get(waiting[0]).json()["status"] == "accepted"
    for url in sleepers:
        assert live.http.delete(url).status_code == 200
    for url in waiting:
        done = live.wait_for(url, {"successful", "failed"})
        assert results(live, done) == {"message": "Hello, Jo"}
