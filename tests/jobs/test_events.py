"""Job events on real databases (SQLite, and PostgreSQL where its server answers): a change
made through another store (as by another process) is heard by polling; one made here is
heard at once, and once; on PostgreSQL, an event committed after a later one is heard too."""

from __future__ import annotations

import uuid

from ades.db.jobs import JobStore
from ades.db.schema import job_events
from ades.jobs.events import JobEvents
from ades.model import Job, JobStatus, utcnow
from tests.db.conftest import empty_engine, engine  # noqa: F401  (fixtures: both databases)


def _job(store: JobStore) -> str:
    job = Job(id=str(uuid.uuid4()), workspace="ws", process_id="p")
    store.add(job)
    return job.id


def _listening(store: JobStore) -> tuple[JobEvents, list[tuple[str, JobStatus]]]:
    events = JobEvents(store, interval=0.05)
    heard: list[tuple[str, JobStatus]] = []
    events.subscribe(lambda job_id, status: heard.append((job_id, status)))
    return events, heard


def test_a_change_made_elsewhere_is_heard_and_one_made_here_once(engine):  # noqa: F811
    here, elsewhere = JobStore(engine), JobStore(engine)
    events, heard = _listening(here)
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


def test_an_event_committed_after_a_later_one_is_heard(engine):  # noqa: F811
    # On PostgreSQL a transaction takes its id when it inserts and may commit after one
    # that took a larger id; on SQLite writers queue, and the case cannot arise (it passes).
    store = JobStore(engine)
    events, heard = _listening(store)
    slow, quick = _job(store), _job(store)
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            conn.execute(
                job_events.insert().values(job_id=slow, status="running", time=utcnow())
            )
            if engine.dialect.name == "sqlite":
                transaction.commit()
            other = JobStore(engine)
            assert other.transition(quick, JobStatus.RUNNING)
            assert events.wait(lambda: (quick, JobStatus.RUNNING) in heard, timeout=30)
            if transaction.is_active:
                transaction.commit()
        assert events.wait(lambda: (slow, JobStatus.RUNNING) in heard, timeout=30)
    finally:
        events.close()


def test_wait_gives_up_at_its_timeout(engine):  # noqa: F811
    events = JobEvents(JobStore(engine), interval=0.05)
    try:
        assert events.wait(lambda: False, timeout=0.2) is False
    finally:
        events.close()


def test_a_new_job_is_heard_everywhere_and_changes_made_elsewhere_by_their_own_subscribers(
    engine,  # noqa: F811
):
    """A job accepted by any process is an event (a pool with room may take it); the
    subscribers of changes made elsewhere do not hear those this process made."""
    here, elsewhere = JobStore(engine), JobStore(engine)
    events = JobEvents(here, interval=0.05)
    heard: list[tuple[str, JobStatus]] = []
    events.subscribe_elsewhere(lambda job_id, status: heard.append((job_id, status)))
    try:
        remote = _job(elsewhere)
        assert events.wait(lambda: (remote, JobStatus.ACCEPTED) in heard, timeout=30)
        mine = _job(here)
        assert here.transition(mine, JobStatus.RUNNING)
        last = _job(elsewhere)
        assert events.wait(lambda: (last, JobStatus.ACCEPTED) in heard, timeout=30)
        assert (mine, JobStatus.RUNNING) not in heard
        assert heard.count((mine, JobStatus.ACCEPTED)) == 1  # its arrival
    finally:
        events.close()
