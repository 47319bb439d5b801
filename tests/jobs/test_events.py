"""Job events on a real database: a change made through another engine (as by another
process) is heard by polling; one made here is heard at once, and once."""

from __future__ import annotations

import threading
import uuid

from ades.db.jobs import JobStore
from ades.jobs.events import JobEvents
from ades.model import Job, JobStatus
from tests.db.conftest import ready_engine


def _job(store: JobStore) -> str:
    job = Job(id=str(uuid.uuid4()), workspace="ws", process_id="p")
    store.add(job)
    return job.id


def test_a_change_made_elsewhere_is_heard_and_one_made_here_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'ades.db'}"
    here, elsewhere = JobStore(ready_engine(url)), JobStore(ready_engine(url))
    events = JobEvents(here, interval=0.05)
    heard: list[tuple[str, JobStatus]] = []
    changed = threading.Event()
    events.subscribe(lambda job_id, status: (heard.append((job_id, status)), changed.set()))
    try:
        remote = _job(elsewhere)
        assert elsewhere.transition(remote, JobStatus.RUNNING)
        assert events.wait(lambda: (remote, JobStatus.RUNNING) in heard, timeout=30)

        local = _job(here)
        assert here.transition(local, JobStatus.DISMISSED)
        assert (local, JobStatus.DISMISSED) in heard  # told before transition() returned
        # The poll reads the same row later: it is not told twice.
        after = _job(elsewhere)
        assert elsewhere.transition(after, JobStatus.RUNNING)
        assert events.wait(lambda: (after, JobStatus.RUNNING) in heard, timeout=30)
        assert heard.count((local, JobStatus.DISMISSED)) == 1
    finally:
        events.close()


def test_wait_gives_up_at_its_timeout(tmp_path):
    store = JobStore(ready_engine(f"sqlite:///{tmp_path / 'ades.db'}"))
    events = JobEvents(store, interval=0.05)
    try:
        assert events.wait(lambda: False, timeout=0.2) is False
    finally:
        events.close()
