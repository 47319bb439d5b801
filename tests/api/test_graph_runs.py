"""A process graph of two chained processes, planned by ades.processgraphs, run as one job
through the live server's JobService: real cwltool, real S3."""

from __future__ import annotations

from pathlib import Path

from ades.model import JobStatus
from ades.packages.load import load_process
from ades.processgraphs import plan
from tests.test_processgraphs import Deployed

DATA = Path(__file__).resolve().parents[1] / "packages" / "data"


def test_a_chained_graph_runs_as_one_job_and_returns_the_saved_format(live):
    processes = Deployed(
        load_process(DATA / "chain_write.cwl", "lab"),
        load_process(DATA / "chain_upper.cwl", "lab"),
    )
    body = {"process": {"process_graph": {
        "write": {"process_id": "write", "arguments": {"text": "chained graphs"}},
        "upper": {"process_id": "chain_upper", "namespace": "lab",
                  "arguments": {"source": {"from_node": "write"}, "header": "words"}},
        "save": {"process_id": "save_result",
                 "arguments": {"data": {"from_node": "upper"}, "format": "CSV"},
                 "result": True},
    }}}
    run = plan(body, "lab", processes)
    services = live.server.services
    job = services.jobs.submit(
        "lab", run.process.id, {"inputs": run.inputs, "outputs": run.outputs},
        process=run.process,
    )
    job = services.jobs.wait("lab", job.id, timeout=120)
    assert job.status is JobStatus.SUCCESSFUL, (job.message, job.failure)
    assert job.process_id == run.process.id
    # The output save_result asked for, made by the second step from the first's file.
    table = job.results["table"]
    assert table["type"] == "text/csv"
    key = services.objects.key_of(table["href"])
    assert services.objects.get_bytes(key) == b"words\nCHAINED GRAPHS\n"
    # The job is a job of the workspace like any other, its process not deployed.
    listed = live.get(f"/lab/ogc-api/jobs/{job.id}/results")
    assert listed.status_code == 200, listed.text
    assert set(listed.json()) == {"table"}
