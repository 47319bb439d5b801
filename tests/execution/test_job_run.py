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
from ades.model import Job, JobStatus
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
