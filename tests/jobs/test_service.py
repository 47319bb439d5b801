"""JobService on real databases (SQLite, and PostgreSQL where its server answers): jobs
whose runner was lost are taken back, queued once more, then failed. The executor here only
records what it is handed."""

from __future__ import annotations

import uuid
from datetime import timedelta

from ades.db.jobs import JobStore
from ades.db.logs import LogStore
from ades.jobs.events import JobEvents
from ades.jobs.executor import Executor
from ades.jobs.service import JobService
from ades.model import FailureCategory, Job, JobStatus, utcnow
from tests.db.conftest import empty_engine, engine  # noqa: F401  (fixtures: both databases)


class Recorded(Executor):
    def __init__(self) -> None:
        self.submitted: list[str] = []

    def submit(self, job_id: str) -> None:
        self.submitted.append(job_id)

    def cancel(self, job_id: str) -> bool:
        return False

    def shutdown(self) -> None:
        pass


def test_a_job_whose_lease_ran_out_is_queued_again_once_then_fails(engine):  # noqa: F811
    store, executor = JobStore(engine), Recorded()
    events = JobEvents(store)
    service = JobService(store, LogStore(engine), None, executor, None, events)  # type: ignore[arg-type]
    try:
        job = Job(id=str(uuid.uuid4()), workspace="ws", process_id="p")
        store.add(job)
        alive = Job(id=str(uuid.uuid4()), workspace="ws", process_id="p")
        store.add(alive)
        assert store.claim(alive.id, "w2", utcnow() + timedelta(hours=1))

        assert store.claim(job.id, "w1", utcnow() - timedelta(seconds=1))
        service.reap()
        again = store.get("ws", job.id)
        assert (again.status, again.runner, executor.submitted) == (
            JobStatus.ACCEPTED, None, [job.id]
        )
        assert "the worker running it was lost" in again.message

        assert store.claim(job.id, "w3", utcnow() - timedelta(seconds=1))
        service.reap()
        lost = store.get("ws", job.id)
        assert lost.status is JobStatus.FAILED
        assert lost.failure == {"category": FailureCategory.SYSTEM}
        assert lost.message.startswith("the worker running it was lost")
        assert executor.submitted == [job.id]
        assert store.get("ws", alive.id).status is JobStatus.RUNNING
    finally:
        events.close()
