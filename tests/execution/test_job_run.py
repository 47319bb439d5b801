"""JobRun when a job's message is delivered twice or a dismiss is heard late, as happens
with Celery workers: real cwltool, real S3, a real SQLite job store."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ades.db.jobs import JobStore
from ades.db.logs import LogStore
from ades.execution.cwltool_runner import CwltoolRunner
from ades.execution.job_run import JobRun
from ades.jobs.events import JobEvents
from ades.model import Job, JobStatus, LogLevel
from tests.api.conftest import poll
from tests.db.conftest import ready_engine

SLEEP = (Path(__file__).resolve().parents[1] / "api" / "data" / "lab" / "processes"
         / "sleep.cwl").read_text()


@pytest.fixture
def run(object_store, tmp_path) -> Iterator[JobRun]:
    engine = ready_engine(f"sqlite:///{tmp_path / 'ades.db'}")
    store = JobStore(engine)
    events = JobEvents(store)
    job_run = JobRun(store, LogStore(engine), None, CwltoolRunner(), object_store,  # type: ignore[arg-type]
                     tmp_path / "jobs", runner_id="w1", lease=30, events=events)
    try:
        yield job_run
    finally:
        events.close()
        engine.dispose()


def _sleeping(run: JobRun, seconds: float) -> tuple[str, threading.Thread]:
    """A sleep job, running in a thread as a worker's task would run it."""
    job = Job(id=str(uuid.uuid4()), workspace="lab", process_id="sleep",
              request={"package": {"cwl": SLEEP, "entry": None},
                       "job_order": {"seconds": seconds}})
    run.store.add(job)
    thread = threading.Thread(target=run, args=(job.id,))
    thread.start()
    poll(lambda: run.store.get_by_id(job.id).status, lambda s: s is JobStatus.RUNNING, 60)
    return job.id, thread


def test_a_second_delivery_of_a_running_job_leaves_its_run_alone(run):
    job_id, thread = _sleeping(run, 2)
    run(job_id)  # the same message again: nothing to claim, back at once
    # The run under way is still this process's: its lease is still renewed.
    assert run.runs(job_id)
    before = run.store.get_by_id(job_id).lease_until
    run.renew_leases()
    assert run.store.get_by_id(job_id).lease_until > before
    thread.join(timeout=60)
    assert run.store.get_by_id(job_id).status is JobStatus.SUCCESSFUL
    assert not run.runs(job_id)


def test_a_dismiss_heard_after_the_job_was_started_again_does_not_cancel_it(run):
    job_id, thread = _sleeping(run, 1)
    # What the events poller tells of a dismiss made in another process and undone there
    # (started again) before this one read it: the job runs here, claimed, not dismissed.
    run._heard(job_id, JobStatus.DISMISSED)
    thread.join(timeout=60)
    assert run.store.get_by_id(job_id).status is JobStatus.SUCCESSFUL


WRITE = """\
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c, 'printf "%s" "$0" > out.txt']
inputs:
  text: {type: string, inputBinding: {position: 1}}
outputs:
  out: {type: File, outputBinding: {glob: out.txt}}
"""


def test_results_gone_behind_the_servers_back_are_not_reused_the_job_runs(
    object_store, tmp_path
):
    engine = ready_engine(f"sqlite:///{tmp_path / 'ades.db'}")
    store, logs = JobStore(engine), LogStore(engine)
    run = JobRun(store, logs, None, CwltoolRunner(), object_store,  # type: ignore[arg-type]
                 tmp_path / "jobs", cache_ttl=3600)

    def job() -> Job:
        made = Job(id=str(uuid.uuid4()), workspace="ws", process_id="write",
                   request={"package": {"cwl": WRITE, "entry": None},
                            "job_order": {"text": "same"}})
        store.add(made)
        run(made.id)
        return store.get_by_id(made.id)

    try:
        first = job()
        assert first.status is JobStatus.SUCCESSFUL and first.reused_from is None
        assert first.cache_key is not None and first.cache_time == first.finished
        # An S3 lifecycle rule took the first job's objects; its record still says successful.
        object_store.delete_prefix(f"ws/jobs/{first.id}/")
        second = job()
        assert second.status is JobStatus.SUCCESSFUL and second.reused_from is None
        warned = [e.message for e in logs.page(second.id, None, LogLevel.WARNING, 10)]
        assert warned == [f"result cache: the results of job {first.id} could not be reused "
                          f"(ws/jobs/{first.id}/out/out.txt is gone); running the job"]
        assert object_store.get_bytes(f"ws/jobs/{second.id}/out/out.txt") == b"same"
        # The next one takes the second's, which are whole, and keeps its time.
        third = job()
        assert (third.reused_from, third.cache_time) == (second.id, second.cache_time)
        assert third.results["out"]["href"].endswith(f"/ws/jobs/{third.id}/out/out.txt")
        assert object_store.get_bytes(f"ws/jobs/{third.id}/out/out.txt") == b"same"
    finally:
        engine.dispose()


def test_provenance_that_cannot_be_written_leaves_the_job_successful_with_a_warning(
    object_store, tmp_path
):
    """cwltool cannot put its research object where it is asked to (a file lies there):
    the outputs are complete, so the job succeeds, its log warns, it keeps no provenance."""
    engine = ready_engine(f"sqlite:///{tmp_path / 'ades.db'}")
    store, logs = JobStore(engine), LogStore(engine)
    run = JobRun(store, logs, None, CwltoolRunner(), object_store,  # type: ignore[arg-type]
                 tmp_path / "jobs")
    try:
        job = Job(id=str(uuid.uuid4()), workspace="ws", process_id="write",
                  request={"package": {"cwl": WRITE, "entry": None},
                           "job_order": {"text": "kept anyway"}})
        store.add(job)
        (tmp_path / "jobs" / job.id).mkdir(parents=True)
        (tmp_path / "jobs" / job.id / "provenance").write_text("in the way")
        run(job.id)
        done = store.get_by_id(job.id)
        assert done.status is JobStatus.SUCCESSFUL, done.message
        assert done.provenance is None
        assert object_store.get_bytes(f"ws/jobs/{job.id}/out/out.txt") == b"kept anyway"
        assert object_store.list_keys(f"ws/jobs/{job.id}/provenance/") == []
        warned = [e.message for e in logs.page(job.id, None, LogLevel.WARNING, 10)]
        assert any(m.startswith("[provenance] the research object could not be written")
                   or "[provenance] the research object could not be written" in m
                   for m in warned), warned
        assert warned[-1] == ("no provenance kept: cwltool wrote no provenance research "
                              "object of the run (see its warning above)")
    finally:
        engine.dispose()


def test_a_job_whose_workspace_opts_out_runs_without_provenance(object_store, tmp_path):
    engine = ready_engine(f"sqlite:///{tmp_path / 'ades.db'}")
    store, logs = JobStore(engine), LogStore(engine)
    run = JobRun(store, logs, None, CwltoolRunner(), object_store,  # type: ignore[arg-type]
                 tmp_path / "jobs", provenance=lambda workspace: workspace != "private")
    try:
        ids = {}
        for workspace in ("private", "open"):
            job = Job(id=str(uuid.uuid4()), workspace=workspace, process_id="write",
                      request={"package": {"cwl": WRITE, "entry": None},
                               "job_order": {"text": workspace}})
            store.add(job)
            run(job.id)
            ids[workspace] = job.id
        private, open_ = (store.get_by_id(ids[w]) for w in ("private", "open"))
        assert private.status is open_.status is JobStatus.SUCCESSFUL
        assert private.provenance is None
        assert object_store.list_keys(f"private/jobs/{private.id}/provenance/") == []
        assert open_.provenance["href"] == object_store.uri(
            f"open/jobs/{open_.id}/provenance/ro-crate.zip")
        assert open_.provenance["size"] > 0
        # Nothing of either run is left in the working directory.
        assert not (tmp_path / "jobs" / open_.id / "provenance").exists()
    finally:
        engine.dispose()
