"""The metrics a process keeps: job durations observed at their end, staged bytes, and the
database's job counts turned into gauges at scrape time."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import requests
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from ades import metrics
from ades.model import Job, JobStatus, utcnow
from tests.api.conftest import free_port


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _ended(status: JobStatus, seconds: float | None, workspace: str) -> Job:
    end = utcnow()
    return Job(
        id=str(uuid.uuid4()), workspace=workspace, process_id="echo", status=status,
        started=None if seconds is None else end - timedelta(seconds=seconds), finished=end,
    )


def test_observe_job_end_counts_the_duration_in_its_bucket():
    workspace = f"ws-{uuid.uuid4().hex[:8]}"
    metrics.observe_job_end(_ended(JobStatus.SUCCESSFUL, 42, workspace))
    metrics.observe_job_end(_ended(JobStatus.FAILED, 3, workspace))
    labels = {"workspace": workspace, "status": "successful"}
    assert _sample("ades_job_duration_seconds_count", **labels) == 1
    assert _sample("ades_job_duration_seconds_sum", **labels) == pytest.approx(42, abs=0.01)
    assert _sample("ades_job_duration_seconds_bucket", le="30.0", **labels) == 0
    assert _sample("ades_job_duration_seconds_bucket", le="60.0", **labels) == 1
    failed = {"workspace": workspace, "status": "failed"}
    assert _sample("ades_job_duration_seconds_bucket", le="5.0", **failed) == 1


def test_a_job_dismissed_before_it_started_has_no_duration():
    workspace = f"ws-{uuid.uuid4().hex[:8]}"
    metrics.observe_job_end(_ended(JobStatus.DISMISSED, None, workspace))
    assert _sample("ades_job_duration_seconds_count", workspace=workspace,
                   status="dismissed") == 0


def test_a_job_that_has_not_ended_is_refused():
    job = _ended(JobStatus.RUNNING, 5, "ws")
    with pytest.raises(ValueError, match=f"job {job.id} has not ended: it is running"):
        metrics.observe_job_end(job)


def test_record_stage_bytes_adds_up_per_direction():
    before = _sample("ades_stage_bytes_total", direction="out")
    metrics.record_stage_bytes("out", 1000)
    metrics.record_stage_bytes("out", 24)
    assert _sample("ades_stage_bytes_total", direction="out") == before + 1024


def test_record_stage_bytes_refuses_an_unknown_direction():
    with pytest.raises(ValueError, match="'sideways'"):
        metrics.record_stage_bytes("sideways", 1)  # type: ignore[arg-type]


def test_exposition_gives_every_status_of_a_workspace_and_the_queue_depth():
    counts = {("a", "accepted"): 3, ("a", "running"): 1, ("b", "accepted"): 2}
    families = {
        f.name: f for f in text_string_to_metric_families(
            metrics.exposition(lambda: counts).decode()
        )
    }
    jobs = {(s.labels["workspace"], s.labels["status"]): s.value
            for s in families["ades_jobs"].samples}
    assert jobs[("a", "accepted")] == 3
    assert jobs[("a", "successful")] == 0  # zeros too, so a series never vanishes
    assert {status for ws, status in jobs if ws == "b"} == {s.value for s in JobStatus}
    assert families["ades_queue_depth"].samples[0].value == 5
    assert "ades_job_duration_seconds" in families


def test_a_worker_serves_its_own_metrics_on_its_port():
    port = free_port()
    server = metrics.start_worker_metrics(port, "127.0.0.1")
    try:
        metrics.record_stage_bytes("in", 1)
        r = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert r.status_code == 200
        assert 'ades_stage_bytes_total{direction="in"}' in r.text
        # The database's gauges are the API's to serve, not a worker's.
        assert "ades_jobs" not in r.text
    finally:
        server.shutdown()
        server.server_close()


def test_port_zero_serves_no_metrics():
    assert metrics.start_worker_metrics(0) is None
