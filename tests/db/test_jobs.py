"""The job store on real databases: SQLite always, PostgreSQL when the server is there."""

from __future__ import annotations

import uuid

import pytest

from ades.db.jobs import JobStore
from ades.errors import NoSuchJob
from ades.model import Job, JobStatus
from tests.db.conftest import ready_engine


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


def test_running_on_gives_the_jobs_a_server_left_running_and_no_others(store):
    mine, theirs, legacy, queued = _job(), _job(), _job(), _job()
    for job in (mine, theirs, legacy, queued):
        store.add(job)
    store.transition(mine.id, JobStatus.RUNNING, runner="server-a")
    store.transition(theirs.id, JobStatus.RUNNING, runner="server-b")
    store.transition(legacy.id, JobStatus.RUNNING)  # from before jobs had a runner
    assert {j.id for j in store.running_on("server-a")} == {mine.id, legacy.id}
    assert store.get("ws", mine.id).runner == "server-a"


def test_count_by_workspace_and_status_is_one_row_per_pair(store):
    for workspace, status in [("a", None), ("a", None), ("a", JobStatus.RUNNING),
                              ("b", JobStatus.RUNNING)]:
        job = _job(workspace)
        store.add(job)
        if status is not None:
            store.transition(job.id, status)
    assert store.count_by_workspace_and_status() == {
        ("a", "accepted"): 2, ("a", "running"): 1, ("b", "running"): 1,
    }


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


def test_list_filters_by_process_status_created_and_duration(store):
    from datetime import UTC, datetime, timedelta

    from ades.model import JobQuery

    t0 = datetime(2021, 5, 1, tzinfo=UTC)
    made = []
    for i in range(6):
        job = _job(status=JobStatus.SUCCESSFUL if i % 2 else JobStatus.FAILED,
                   created=t0 + timedelta(hours=i), started=t0 + timedelta(hours=i),
                   finished=t0 + timedelta(hours=i, seconds=10 * i))
        job.process_id = "a" if i < 3 else "b"
        store.add(job)
        made.append(job)
    query = JobQuery(process_ids=("b",), statuses=(JobStatus.SUCCESSFUL,))
    jobs, total = store.list("ws", 10, 0, query)
    assert total == 2 and [j.id for j in jobs] == [made[5].id, made[3].id]
    query = JobQuery(created_from=t0 + timedelta(hours=1), created_to=t0 + timedelta(hours=2))
    assert [j.id for j in store.list("ws", 10, 0, query)[0]] == [made[2].id, made[1].id]
    query = JobQuery(min_duration=15, max_duration=35)
    assert {j.id for j in store.list("ws", 10, 0, query)[0]} == {made[2].id, made[3].id}


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"process_ids": ("a",)},
        {"statuses": (JobStatus.FAILED,)},
        {"statuses": (JobStatus.FAILED, JobStatus.CREATED), "min_duration": 3.0},
    ],
)
def test_listing_reads_an_index_in_order_without_a_scan_or_sort(tmp_path, query):
    from ades.model import JobQuery

    engine = ready_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    store = JobStore(engine)
    statement = store.listing("ws", JobQuery(**query)).limit(10)
    sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
    assert any("USING INDEX ix_jobs_workspace" in step for step in plan), plan
    assert not any(step.startswith("SCAN") or "TEMP B-TREE" in step for step in plan), plan
