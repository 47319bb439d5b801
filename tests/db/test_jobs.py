"""The job store on real databases: SQLite always, PostgreSQL when the server is there."""

from __future__ import annotations

import uuid

import pytest

from ades.db.jobs import JobStore
from ades.errors import NoSuchJob
from ades.model import Job, JobStatus


@pytest.fixture
def store(engine):
    return JobStore(engine)


def _job(workspace="ws", **kw) -> Job:
    return Job(id=str(uuid.uuid4()), workspace=workspace, process_id="echo", **kw)


def test_add_then_get_round_trips(store):
    job = _job(request={"inputs": {"a": 1}})
    store.add(job)
    got = store.get("ws", job.id)
    assert got.status is JobStatus.ACCEPTED
    assert got.request == {"inputs": {"a": 1}}
    assert got.created == job.created
    assert got.created.tzinfo is not None


def test_get_is_scoped_to_the_workspace(store):
    job = _job()
    store.add(job)
    with pytest.raises(NoSuchJob, match=job.id):
        store.get("other", job.id)


def test_transitions_follow_the_table(store):
    job = _job()
    store.add(job)
    assert not store.transition(job.id, JobStatus.SUCCESSFUL)  # accepted cannot succeed
    assert store.transition(job.id, JobStatus.RUNNING, progress=10)
    assert store.transition(job.id, JobStatus.DISMISSED)
    # A run finishing after a dismiss loses the race: the job stays dismissed.
    assert not store.transition(job.id, JobStatus.SUCCESSFUL, results={"x": {"value": 1}})
    got = store.get("ws", job.id)
    assert got.status is JobStatus.DISMISSED
    assert got.results == {}


def test_update_only_in_given_statuses(store):
    job = _job()
    store.add(job)
    assert not store.update(job.id, only_in=[JobStatus.RUNNING], progress=50)
    store.transition(job.id, JobStatus.RUNNING)
    assert store.update(job.id, only_in=[JobStatus.RUNNING], progress=50, message="half")
    assert store.get("ws", job.id).progress == 50


def test_list_pages_newest_first_and_counts(store):
    from datetime import timedelta

    first = _job()
    jobs = [first] + [_job(created=first.created + timedelta(seconds=i)) for i in range(1, 5)]
    for job in jobs:
        store.add(job)
    store.add(_job(workspace="elsewhere"))
    page, total = store.list("ws", limit=2, offset=0)
    assert total == 5
    assert [j.id for j in page] == [jobs[4].id, jobs[3].id]
    page, _ = store.list("ws", limit=2, offset=4)
    assert [j.id for j in page] == [jobs[0].id]
