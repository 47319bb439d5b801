"""A process graph chaining two deployed processes, built and run by the real openEO client
against /{ws}/openeo/1.2: one job whose process is a CWL Workflow made of the graph, seen
through the OGC root too."""

from __future__ import annotations

from pathlib import Path

import openeo
import pytest

from tests.api.conftest import Live
from tests.api.deploying import unique

DATA = Path(__file__).resolve().parents[2] / "packages" / "data"
ROOT = "/demo/openeo/1.2"
CWL_YAML = {"Content-Type": "application/cwl+yaml"}


@pytest.fixture(scope="module")
def chain(live: Live) -> dict[str, str]:
    """``write`` (a text into a file) and ``upper`` (a file into capitals, as text and as
    a CSV table), deployed in demo under ids of this module."""
    ids = {"write": unique("write"), "upper": unique("upper")}
    texts = {
        "write": (DATA / "chain_write.cwl").read_text().replace("id: write", f"id: {ids['write']}"),
        "upper": (DATA / "chain_upper.cwl").read_text().replace("id: main", f"id: {ids['upper']}"),
    }
    for name, text in texts.items():
        r = live.post("/demo/ogc-api/processes", data=text, headers=CWL_YAML)
        assert r.status_code == 201, (name, r.text)
    return ids


def test_a_chain_of_two_processes_runs_as_one_batch_job(live: Live, chain, tmp_path: Path):
    connection = openeo.connect(live.url(ROOT))
    written = connection.datacube_from_process(chain["write"], namespace="demo", text="two steps")
    upper = connection.datacube_from_process(
        chain["upper"], namespace="demo", source=written, header="words"
    )
    job = upper.save_result(format="CSV").create_job(title="chained")
    job.start_and_wait(max_poll_interval=1)
    # One job, its process the Workflow the graph became, visible through the OGC root.
    status = live.get(f"/demo/ogc-api/jobs/{job.job_id}").json()
    assert status["status"] == "successful"
    assert status["processID"].startswith("graph-")
    # The format save_result asked for, made by the second step from the first's file.
    files = job.get_results().download_files(tmp_path)
    assert [f.read_text() for f in files if f.suffix == ".csv"] == ["words\nTWO STEPS\n"]
    # openEO gives the graph back as it was sent.
    graph = connection.job(job.job_id).describe()["process"]["process_graph"]
    assert {node["process_id"] for node in graph.values()} == {
        chain["write"], chain["upper"], "save_result"
    }


def test_a_chain_runs_synchronously_too(live: Live, chain, tmp_path: Path):
    connection = openeo.connect(live.url(ROOT))
    written = connection.datacube_from_process(chain["write"], namespace="demo", text="sync")
    upper = connection.datacube_from_process(chain["upper"], namespace="demo", source=written)
    upper.download(tmp_path / "upper.csv", format="CSV")
    assert (tmp_path / "upper.csv").read_text() == "text\nSYNC\n"


def test_a_chain_whose_link_fits_no_input_is_refused_naming_both_nodes(live: Live, chain):
    graph = {
        "w": {"process_id": chain["write"], "arguments": {"text": "x"}},
        "u": {
            "process_id": chain["upper"],
            "arguments": {"source": {"from_node": "w"}, "header": {"from_node": "w"}},
            "result": True,
        },
    }
    r = live.post(f"{ROOT}/jobs", json={"process": {"process_graph": graph}})
    assert r.status_code == 400, r.text
    doc = r.json()
    assert doc["code"] == "ProcessGraphInvalid"
    assert "node 'u', argument 'header'" in doc["message"]
    assert "node 'w'" in doc["message"]
