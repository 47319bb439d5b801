"""``/metrics`` through HTTP: a real job runs (real cwltool, real S3 stage-in and out), then
a scrape says how many jobs each workspace has in each status, the queue depth, and the
bytes staged. The server is one of its own (the live fixture's machinery on a fresh
database), so the job counts it reports are exact, whatever other tests left running."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ades.model import JobStatus
from tests.api.conftest import REPO, Live, serve, server_settings

BANDS = REPO / "examples"


@pytest.fixture(scope="module")
def server(seaweedfs, tmp_path_factory) -> Iterator[Live]:
    settings = server_settings(tmp_path_factory.mktemp("metrics"), seaweedfs, "ades-metrics")
    with serve(settings) as live:
        yield live


def scrape(live: Live) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of one scrape, by name and labels."""
    r = live.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain; version=")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def jobs(samples: dict, workspace: str, status: str) -> float:
    return samples[("ades_jobs", (("status", status), ("workspace", workspace)))]


def staged(samples: dict, direction: str) -> float:
    return samples.get(("ades_stage_bytes_total", (("direction", direction),)), 0.0)


@pytest.fixture(scope="module")
def ran(server) -> tuple[dict, dict, str]:
    """Scrapes before and after one NDVI job over the demo's bands from S3, and its id."""
    before = scrape(server)
    inputs = {band: {"href": f"s3://ades-metrics/demo/data/{name}.tif"}
              for band, name in (("red", "B04"), ("nir", "B08"))}
    r = server.post("/demo/ogc-api/processes/ndvi/execution", json={"inputs": inputs},
                    headers={"Prefer": "respond-async"})
    assert r.status_code == 201, r.text
    done = server.wait_for(r.headers["Location"], {"successful", "failed"})
    assert done["status"] == "successful", done
    return before, scrape(server), done["jobID"]


def test_a_fresh_server_reports_no_job(server):
    samples = scrape(server)
    assert [key for key in samples if key[0] == "ades_jobs"] == []
    assert samples[("ades_queue_depth", ())] == 0
    # This process's own metrics are there from the start, before any job ran here.
    assert ("process_cpu_seconds_total", ()) in samples


def test_jobs_are_counted_by_workspace_and_status(server, ran):
    _, after, _ = ran
    assert jobs(after, "demo", "successful") == 1
    # Every status of the workspace is a series, at 0 when no job is in it.
    for status in JobStatus:
        if status is not JobStatus.SUCCESSFUL:
            assert jobs(after, "demo", status.value) == 0
    assert ("ades_jobs", (("status", "successful"), ("workspace", "lab"))) not in after


def test_a_created_job_is_counted_and_a_queued_one_is_the_queue_depth(server, ran):
    created = server.post("/demo/ogc-api/jobs", json={
        "process": "ndvi", "inputs": {"red": {"href": "s3://ades-metrics/none.tif"},
                                      "nir": {"href": "s3://ades-metrics/none.tif"}}})
    assert created.status_code == 201, created.text
    samples = scrape(server)
    assert jobs(samples, "demo", "created") == 1
    assert samples[("ades_queue_depth", ())] == 0  # created is not queued until started


def test_staged_bytes_count_the_inputs_downloaded_and_the_results_uploaded(ran):
    before, after, _ = ran
    bands = sum((BANDS / f"{name}.tif").stat().st_size for name in ("B04", "B08"))
    assert staged(after, "in") - staged(before, "in") >= bands
    assert staged(after, "out") > staged(before, "out")


def test_the_job_duration_is_observed_when_the_job_ends(ran):
    before, after, _ = ran
    key = ("ades_job_duration_seconds_count", (("status", "successful"), ("workspace", "demo")))
    assert after.get(key, 0) - before.get(key, 0) == 1


def test_metrics_lives_at_the_server_root_only(server):
    assert server.get("/demo/ogc-api/metrics").status_code == 404
