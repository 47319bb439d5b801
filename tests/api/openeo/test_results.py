"""openEO results and synchronous processing, driven by the real openEO Python client: a
job run through the workspace's OGC root is read back as a STAC Item whose asset links
open without credentials; a job not finished is JobNotFinished, a failed one a 424 with
its last error log entry; POST /result answers the one file a graph made, a tar of
several, and an openEO error for each way it can fail."""

from __future__ import annotations

import dataclasses
import io
import json
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import openeo
import pystac
import pytest
import requests
from openeo.rest import OpenEoApiError
from requests.structures import CaseInsensitiveDict
from stac_pydantic import Item

from ades.api.openeo.results import results_item
from ades.model import Job, JobStatus
from ades.staging.stac_results import ResultFiles
from tests.api.conftest import Live, Secured, poll
from tests.api.deploying import CWL_YAML, package, unique

ROOT = "/demo/openeo/1.2"
FILE_EXTENSION = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
ENDED = {"successful", "failed", "dismissed"}
# The graph as it is, without the save_result node the client adds: a tar of several files
# is no output format of a process, and other tests want the process's own formats.
AS_IS = {"auto_add_save_result": False}
# A job that fails at stage-in as soon as it runs: nothing runs for long.
DOOMED = {"red": {"href": "s3://no-such-bucket-here/B04.tif"},
          "nir": {"href": "s3://no-such-bucket-here/B08.tif"}}


def deploy(live: Live, name: str) -> str:
    process_id = unique(name)
    r = live.post("/demo/ogc-api/processes", data=package(name, process_id), headers=CWL_YAML)
    assert r.status_code == 201, r.text
    return process_id


@pytest.fixture(scope="module")
def deployed(live: Live) -> dict[str, str]:
    """``scene`` (a STAC catalog with one located item, and a note: two files) and
    ``note`` (one file), deployed in demo under ids of this module."""
    return {name: deploy(live, name) for name in ("scene", "note")}


def run_part4(live: Live, process_id: str, inputs: dict) -> str:
    """A job created and started through the OGC root (Part 4); its id once it ended."""
    r = live.post("/demo/ogc-api/jobs", json={"process": process_id, "inputs": inputs})
    assert r.status_code == 201, r.text
    job_id = r.json()["jobID"]
    assert live.post(f"/demo/ogc-api/jobs/{job_id}/results").status_code == 202
    live.wait_for(live.url(f"/demo/ogc-api/jobs/{job_id}"), ENDED, deadline=60)
    return job_id


@pytest.fixture(scope="module")
def scene_job(live: Live, deployed: dict[str, str]) -> str:
    job_id = run_part4(live, deployed["scene"], {"text": "red band"})
    assert live.get(f"/demo/ogc-api/jobs/{job_id}").json()["status"] == "successful"
    return job_id


def openeo_error(r: requests.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    doc = r.json()
    assert doc["code"] == code, doc
    assert doc["id"] and isinstance(doc["links"], list)
    return doc


# Batch job results


def test_the_client_downloads_a_jobs_files_and_reads_them_as_a_stac_item(
    live: Live, scene_job: str, tmp_path: Path
):
    results = openeo.connect(live.url(ROOT)).job(scene_job).get_results()
    paths = results.download_files(tmp_path)
    assert {p.name for p in paths} == {"band.txt", "note.txt", "job-results.json"}
    assert (tmp_path / "band.txt").read_text() == "red band"
    assert (tmp_path / "note.txt").read_text() == "a note on red band"

    doc = results.get_metadata()
    Item.model_validate(doc)
    assert doc["id"] == scene_job
    assert FILE_EXTENSION in doc["stac_extensions"]
    # Where and when of the STAC item the job wrote.
    assert doc["bbox"] == [4.0, 50.0, 5.0, 51.0]
    assert doc["geometry"]["type"] == "Polygon"
    props = doc["properties"]
    assert props["openeo:status"] == "finished"
    assert props["datetime"] == "2024-05-01T10:00:00Z"
    assert props["title"] == f"Results of job {scene_job}"
    assert props["created"] <= props["updated"]
    assert "expires" not in props  # without authentication the links never expire
    band, note = doc["assets"]["band.txt"], doc["assets"]["note.txt"]
    assert (band["type"], band["roles"], band["title"], band["file:size"]) == (
        "text/plain", ["data"], "The band", len("red band"))
    assert (note["type"], note["title"], note["file:size"]) == (
        "text/plain", "note.txt", len("a note on red band"))
    links = {link["rel"]: link["href"] for link in doc["links"]}
    assert links["self"] == links["canonical"] == live.url(f"{ROOT}/jobs/{scene_job}/results")
    # The provenance of the run (README, "Provenance of a run") opens as a zip.
    assert links["provenance"].endswith(f"/jobs/{scene_job}/download/provenance/ro-crate.zip")
    assert requests.get(links["provenance"], timeout=10).content[:2] == b"PK"
    # Plain HTTP, no client: the asset links and the canonical link open.
    assert requests.get(band["href"], timeout=10).text == "red band"
    assert requests.get(links["canonical"], timeout=10).json()["assets"].keys() == {
        "band.txt", "note.txt"}


def test_results_ask_for_geojson_are_geojson(live: Live, scene_job: str):
    r = live.get(f"{ROOT}/jobs/{scene_job}/results", headers={"Accept": "application/geo+json"})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/geo+json"
    assert r.json()["type"] == "Feature"


def test_a_job_not_finished_is_job_not_finished_and_a_dismissed_one_not_found(
    live: Live, deployed: dict[str, str]
):
    connection = openeo.connect(live.url(ROOT))
    # Created (Part 4), never started.
    r = live.post("/demo/ogc-api/jobs", json={"process": deployed["note"],
                                              "inputs": {"text": "later"}})
    created = r.json()["jobID"]
    doc = openeo_error(live.get(f"{ROOT}/jobs/{created}/results"), 400, "JobNotFinished")
    assert f"job '{created}' has no results: its status is 'created'" in doc["message"]
    # Running.
    r = live.post("/demo/ogc-api/processes/echo/execution", headers={"Prefer": "respond-async"},
                  json={"inputs": {"stringInput": "slow", "pause": 30}})
    running = r.json()["jobID"]
    try:
        live.wait_for(live.url(f"/demo/ogc-api/jobs/{running}"), {"running"}, deadline=30)
        with pytest.raises(OpenEoApiError) as err:
            connection.job(running).get_results().get_metadata()
        assert (err.value.http_status_code, err.value.code) == (400, "JobNotFinished")
        assert running in err.value.message and "'running'" in err.value.message
    finally:
        live.delete(f"/demo/ogc-api/jobs/{running}")
    # Dismissed (stopped and its results removed), or never there: not found.
    for job_id in (running, "no-such-job"):
        doc = openeo_error(live.get(f"{ROOT}/jobs/{job_id}/results"), 404, "JobNotFound")
        assert job_id in doc["message"]


def test_the_results_of_an_unknown_workspace_are_not_found(live: Live, scene_job: str):
    doc = openeo_error(live.get(f"/nowhere/openeo/1.2/jobs/{scene_job}/results"), 404,
                       "NotFound")
    assert "workspace 'nowhere'" in doc["message"]


def test_a_failed_jobs_results_are_a_424_with_its_last_error_log_entry(live: Live):
    r = live.post("/demo/ogc-api/processes/ndvi/execution", headers={"Prefer": "respond-async"},
                  json={"inputs": DOOMED})
    job_id = r.json()["jobID"]
    assert live.wait_for(r.headers["Location"], ENDED, deadline=30)["status"] == "failed"
    errors = live.get(f"/demo/ogc-api/jobs/{job_id}/logs", params={"level": "error"}).json()
    last = errors["logs"][-1]["message"]
    assert "no-such-bucket-here" in last

    doc = openeo_error(live.get(f"{ROOT}/jobs/{job_id}/results"), 424, "JobFailed")
    assert doc["message"] == last
    assert doc["level"] == "error"  # openEO: the 424 is the job's last error log entry
    with pytest.raises(OpenEoApiError) as err:
        openeo.connect(live.url(ROOT)).job(job_id).get_results().download_files("unused")
    assert (err.value.http_status_code, err.value.code, err.value.message) == (
        424, "JobFailed", last)


def _tampered(href: str) -> str:
    url = urlsplit(href)
    query = dict(parse_qsl(url.query))
    query["signature"] = "0" * 64
    return urlunsplit(url._replace(query=urlencode(query)))


def test_with_authentication_links_are_signed_and_open_without_credentials_until_expires(
    secured: Secured,
):
    token = secured.tokens["demo"]
    user = secured.as_(token)
    r = user.post("/demo/ogc-api/processes/echo/execution",
                  json={"inputs": {"stringInput": "signed"},
                        "outputs": {"echoOutput": {"transmissionMode": "reference"}},
                        "response": "document"})
    assert r.status_code == 200, r.text
    job_id = r.json()["echoOutput"]["href"].split("/jobs/", 1)[1].split("/", 1)[0]

    connection = openeo.connect(secured.live.url(ROOT))
    connection.authenticate_basic("demo", token)
    doc = connection.job(job_id).get_results().get_metadata()
    Item.model_validate(doc)
    assert doc["geometry"] is None and "bbox" not in doc
    expires = datetime.fromisoformat(doc["properties"]["expires"])
    assert expires > datetime.now(UTC)
    (asset,) = doc["assets"].values()
    assert "signature=" in asset["href"]
    assert requests.get(asset["href"], timeout=10).text == "signed"  # no credentials
    links = {link["rel"]: link["href"] for link in doc["links"]}
    canonical = requests.get(links["canonical"], timeout=10)
    assert canonical.status_code == 200, canonical.text
    assert canonical.json()["id"] == job_id
    # Without the signature (or with another) the document needs credentials.
    doc = openeo_error(requests.get(links["self"], timeout=10), 401, "AuthenticationRequired")
    assert "credentials" in doc["message"]
    doc = openeo_error(requests.get(_tampered(links["canonical"]), timeout=10), 403,
                       "TokenInvalid")
    assert "signature does not match" in doc["message"]
    # A link past its expiry: openEO's ResultLinkExpired, fetch the results again.
    signer = secured.live.server.services.links.signer
    path = urlsplit(links["self"]).path
    past = signer.query(path, now=1_000_000_000 - signer.expires)  # expired 2001-09-09
    doc = openeo_error(requests.get(f"{links['self']}?{past}", timeout=10), 410,
                       "ResultLinkExpired")
    assert "expired at 2001-09-09T01:46:40Z" in doc["message"]


# Synchronous processing


def test_a_graph_of_one_file_answers_that_file_and_names_its_job(
    live: Live, deployed: dict[str, str], tmp_path: Path
):
    connection = openeo.connect(live.url(ROOT))
    headers = CaseInsensitiveDict()
    cube = connection.datacube_from_process(deployed["note"], namespace="demo", text="hi there")
    cube.download(tmp_path / "note.txt", on_response_headers=headers.update)
    assert (tmp_path / "note.txt").read_text() == "hi there"
    job_id = headers["OpenEO-Identifier"]
    assert headers["Link"] == f'<{live.url(ROOT)}/jobs/{job_id}/logs>; rel="monitor"'
    # The run is a job of the workspace, with its results.
    assert live.get(f"/demo/ogc-api/jobs/{job_id}").json()["status"] == "successful"
    doc = connection.job(job_id).get_results().get_metadata()
    Item.model_validate(doc)
    assert doc["geometry"] is None and "bbox" not in doc  # nothing located
    assert doc["assets"]["note.txt"]["file:size"] == len("hi there")


def test_a_graph_of_several_files_answers_a_tar_with_their_stac_item(
    live: Live, deployed: dict[str, str], tmp_path: Path
):
    connection = openeo.connect(live.url(ROOT))
    cube = connection.datacube_from_process(deployed["scene"], namespace="demo", text="nir")
    cube.download(tmp_path / "scene.tar", **AS_IS)
    with tarfile.open(tmp_path / "scene.tar") as tar:
        names = set(tar.getnames())
        read = {name: tar.extractfile(name).read() for name in names}
    item = json.loads(read["job-results.json"])
    Item.model_validate(item)
    assert item["bbox"] == [4.0, 50.0, 5.0, 51.0]
    # Each asset of the item is a file of the archive, linked by its path in it.
    contents = {key: read[a["href"].removeprefix("./")] for key, a in item["assets"].items()}
    assert contents == {"band.txt": b"nir", "note.txt": b"a note on nir"}
    # The STAC catalog the job wrote is there too, beside its asset.
    catalog = next(n for n in names if n.endswith("/catalog.json"))
    folder = catalog.rsplit("/", 1)[0]
    assert {f"{folder}/tile/tile.json", f"{folder}/tile/band.txt"} <= names


@pytest.mark.parametrize(
    "workspace, process_id, arguments, status, named",
    [
        # An input could not be fetched: the request depended on it.
        ("demo", "ndvi", DOOMED, 424, "stage-in failed: "),
        # The application ran and failed on these inputs.
        ("lab", "fail", {"message": "B04"}, 422, "band B04 is missing"),
    ],
)
def test_a_graph_whose_job_fails_is_an_openeo_error_by_where_it_broke(
    live: Live, workspace, process_id, arguments, status, named
):
    connection = openeo.connect(live.url(f"/{workspace}/openeo/1.2"))
    cube = connection.datacube_from_process(process_id, namespace=workspace, **arguments)
    with pytest.raises(OpenEoApiError) as err:
        cube.download(**AS_IS)
    assert (err.value.http_status_code, err.value.code) == (status, "JobFailed")
    assert named in err.value.message
    assert err.value.message.startswith("job '")  # the job's failure message, naming it


def test_a_graph_whose_job_outlasts_the_wait_is_a_request_timeout_naming_its_job(
    live: Live, monkeypatch: pytest.MonkeyPatch
):
    services = live.server.services
    monkeypatch.setattr(services, "settings",
                        dataclasses.replace(services.settings, sync_timeout=0.5))
    graph = {"process": {"process_graph": {"echo": {
        "process_id": "echo", "arguments": {"stringInput": "slow", "pause": 30},
        "result": True}}}}
    r = live.post(f"{ROOT}/result", json=graph)
    job_id = r.headers["OpenEO-Identifier"]
    try:
        doc = openeo_error(r, 408, "RequestTimeout")
        assert f"job '{job_id}' did not end within 0.5 s" in doc["message"]
        assert live.get(f"/demo/ogc-api/jobs/{job_id}").json()["status"] in ("accepted",
                                                                              "running")
    finally:
        live.delete(f"/demo/ogc-api/jobs/{job_id}")
    poll(lambda: live.get(f"/demo/ogc-api/jobs/{job_id}").json()["status"],
         lambda status: status == "dismissed", deadline=30)


def _graph(process_id: str, namespace: str | None = None, **arguments) -> dict:
    node = {"process_id": process_id, "arguments": arguments, "result": True}
    if namespace:
        node["namespace"] = namespace
    return {"process": {"process_graph": {"run1": node}}}


@pytest.mark.parametrize(
    "path, body, status, code, named",
    [
        (ROOT, {}, 400, "ProcessGraphMissing", "'process_graph'"),
        (ROOT, {"process": {"process_graph": {}}}, 400, "ProcessGraphInvalid",
         "'process_graph' must be an object of one or more nodes"),
        (ROOT, _graph("no-such-process"), 400, "ProcessUnsupported",
         "process 'no-such-process' is not deployed in workspace 'demo'"),
        (ROOT, _graph("echo", namespace="lab", stringInput="x"), 400, "ProcessUnsupported",
         "namespace 'lab'"),
        (ROOT, _graph("echo"), 400, "ProcessParameterInvalid", "input 'stringInput'"),
        (ROOT, _graph("echo", stringInput="x", colour="red"), 400, "ProcessParameterInvalid",
         "input 'colour'"),
        ("/nowhere/openeo/1.2", _graph("echo", stringInput="x"), 404, "NotFound",
         "workspace 'nowhere'"),
    ],
)
def test_each_refused_request_names_what_is_wrong(live: Live, path, body, status, code, named):
    before = live.get("/demo/ogc-api/jobs", params={"limit": 1}).json()["numberMatched"]
    doc = openeo_error(live.post(f"{path}/result", json=body), status, code)
    assert named in doc["message"]
    # Nothing ran.
    assert live.get("/demo/ogc-api/jobs", params={"limit": 1}).json()["numberMatched"] == before


def test_a_body_that_is_not_json_is_refused(live: Live):
    r = live.post(f"{ROOT}/result", data=io.BytesIO(b"[1, 2"),
                  headers={"Content-Type": "application/json"})
    doc = openeo_error(r, 400, "BadRequest")
    assert doc["message"]


# The Item itself, of results made up here


def _item(item_id: str, box: list[float], when: str) -> pystac.Item:
    west, south, east, north = box
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return pystac.Item(item_id, {"type": "Polygon", "coordinates": [ring]}, box,
                       datetime.fromisoformat(when), {})


def test_several_stac_items_are_summed_up_by_the_box_around_them_and_their_span():
    job = Job(id="j1", workspace="demo", process_id="tiles", status=JobStatus.SUCCESSFUL)
    found = ResultFiles(
        assets={"a/x.tif": {"href": "h1"}, "b/x.tif": {"href": "h2"}, "c/y.txt": {"href": "h3"}},
        keys={"a/x.tif": "k1", "b/x.tif": "k2", "c/y.txt": "k3"},
        sizes={"a/x.tif": 10, "b/x.tif": 20, "c/y.txt": 30},
        items=[_item("west", [1.0, 40.0, 2.0, 41.0], "2024-05-01T10:00:00+00:00"),
               _item("east", [3.0, 42.0, 4.0, 43.0], "2024-05-03T10:00:00+00:00")],
    )
    doc = results_item(job, found)
    Item.model_validate({**doc, "links": []})
    assert doc["bbox"] == [1.0, 40.0, 4.0, 43.0]
    assert doc["geometry"]["coordinates"][0][0] == [1.0, 40.0]
    props = doc["properties"]
    assert props["datetime"] is None
    assert (props["start_datetime"], props["end_datetime"]) == (
        "2024-05-01T10:00:00Z", "2024-05-03T10:00:00Z")
    # Two files share a name: their keys are their paths; the others keep their names.
    assert {k: a["file:size"] for k, a in doc["assets"].items()} == {
        "a-x.tif": 10, "b-x.tif": 20, "y.txt": 30}
