"""The job store on real databases: SQLite always, PostgreSQL when the server is there."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest

from ades.db.jobs import WAITING, JobStore
from ades.errors import NoSuchJob, TooManyJobs
from ades.model import Job, JobStatus, utcnow
from tests.db.conftest import plans_left_unbounded, ready_engine


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


def test_updated_of_says_when_each_job_last_changed(store):
    first, second = _job(), _job()
    store.add(first)
    store.add(second)
    before = store.updated_of([first.id, second.id, "no-such-job"])
    assert before == {first.id: store.get("ws", first.id).updated,
                      second.id: store.get("ws", second.id).updated}
    store.update(second.id, only_in=[JobStatus.ACCEPTED], progress=5)
    after = store.updated_of([first.id, second.id])
    assert after[first.id] == before[first.id] and after[second.id] > before[second.id]


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


def test_every_query_of_a_request_a_submit_or_the_housekeeping_is_read_off_an_index(store):
    """No statement the server runs for a request, a submit, a claim or the housekeeping
    reads the whole jobs (or events) table, or sorts: their cost stays flat as the store
    grows. (The /metrics scrape's count per workspace and status, which reads one whole
    index, is the one exception.)"""
    from ades.model import JobQuery

    job = _job()
    store.add(job)
    now = utcnow()
    query = JobQuery(
        process_ids=("a",), statuses=(JobStatus.FAILED,), created_from=now - timedelta(days=1)
    )
    calls = [
        lambda: store.add(_job(), max_queued=100),
        lambda: store.get("ws", job.id),
        lambda: store.get_by_id(job.id),
        lambda: store.updated_of([job.id, "another"]),
        lambda: store.list("ws", 10),
        lambda: store.list("ws", 10, 0, query),
        lambda: store.list("ws", 10, 0, JobQuery(statuses=(JobStatus.ACCEPTED,))),
        lambda: store.count("ws", JobStatus.RUNNING),
        lambda: store.waiting(),
        lambda: store.waiting("ws", limit=3),
        lambda: store.queued(4),
        lambda: store.with_status([JobStatus.ACCEPTED]),
        lambda: store.running_on("me"),
        lambda: store.history("ws", "echo", 20),
        lambda: store.cached("ws", "k", now),
        lambda: store.claim(job.id, "me", now, max_running=2),
        lambda: store.renew("me", [job.id], now),
        lambda: store.lost(now),
        lambda: store.events_after(0),
        lambda: store.prune_events(now),
        lambda: store.transition(job.id, JobStatus.ACCEPTED, max_queued=5),
        lambda: store.update(job.id, only_in=[JobStatus.ACCEPTED], progress=3),
        lambda: store.unmark_waiting(job.id),
    ]
    assert plans_left_unbounded(store.engine, calls) == {}


def test_a_list_counts_up_to_count_ahead_past_its_page(store, monkeypatch):
    monkeypatch.setattr("ades.db.jobs.COUNT_AHEAD", 2)
    for _ in range(6):
        store.add(_job())
    page, total = store.list("ws", 2)
    assert len(page) == 2 and total is None  # 6 match, more than 2 + 2 past the start
    assert store.list("ws", 2, 2)[1] == 6
    assert store.list("ws", 2, 2**70) == ([], 6)


def _race(calls) -> list:
    """Run ``calls`` at once, each on a thread of its own started together; their results
    (or the exceptions they raised), in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except Exception as err:
            results[i] = err

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _lease():
    return utcnow() + timedelta(seconds=30)


@pytest.mark.parametrize("max_running", [1, 2])
def test_claims_racing_never_run_more_than_max_running(store, max_running):
    for _ in range(3):  # rounds: each a fresh race between claims of six queued jobs
        queued = [_job("busy") for _ in range(6)]
        for job in queued:
            store.add(job)
        other = _job("quiet")  # another workspace's job is not held back
        store.add(other)
        results = _race(
            [
                lambda j=j: store.claim(j.id, f"runner-{j.id}", _lease(), max_running=max_running)
                for j in queued
            ]
        )
        assert sum(r is True for r in results) == max_running, results
        assert store.count("busy", JobStatus.RUNNING) == max_running
        # The ones refused stay queued, marked as waiting for a slot.
        waiting = store.waiting("busy")
        assert len(waiting) == len(queued) - max_running
        assert all(j.status is JobStatus.ACCEPTED and j.message == WAITING for j in waiting)
        assert store.claim(other.id, "r", _lease(), max_running=max_running)
        # A slot frees: the oldest waiting job is taken off the list once, and claimed.
        running = [j for j, ok in zip(queued, results, strict=True) if ok]
        assert store.transition(running[0].id, JobStatus.SUCCESSFUL)
        first = waiting[0]
        assert _race([lambda j=first: store.unmark_waiting(j.id)] * 3).count(True) == 1
        assert store.claim(first.id, "r", _lease(), max_running=max_running)
        # End the round: every job of it stops.
        for job in queued + [other]:
            store.transition(job.id, JobStatus.DISMISSED)
        assert store.count("busy", JobStatus.RUNNING) == 0


def test_a_claim_without_a_limit_ignores_the_running_jobs(store):
    jobs = [_job("busy") for _ in range(3)]
    for job in jobs:
        store.add(job)
    assert all(store.claim(j.id, "r", _lease()) for j in jobs)
    assert store.waiting() == []


def test_adds_racing_never_queue_more_than_max_queued(store):
    results = _race([lambda: store.add(_job("busy"), max_queued=3) for _ in range(8)])
    refused = [r for r in results if r is not None]
    assert len(refused) == 5
    assert all(isinstance(r, TooManyJobs) for r in refused), refused
    assert "workspace 'busy' has 3 jobs queued, its limit (max_queued)" in str(refused[0])
    assert refused[0].headers == {"Retry-After": str(TooManyJobs.RETRY_AFTER)}
    assert store.count("busy", JobStatus.ACCEPTED) == 3
    # Running jobs are not queued ones; created ones neither.
    store.add(_job("busy", status=JobStatus.CREATED), max_queued=3)
    running = store.waiting("busy")  # none marked
    assert running == []


def test_queueing_a_job_again_counts_against_max_queued(store):
    done = _job("busy")
    store.add(done)
    store.transition(done.id, JobStatus.RUNNING)
    store.transition(done.id, JobStatus.SUCCESSFUL)
    store.add(_job("busy"), max_queued=1)
    with pytest.raises(TooManyJobs, match="workspace 'busy' has 1 jobs queued"):
        store.transition(done.id, JobStatus.ACCEPTED, max_queued=1)
    assert store.get("busy", done.id).status is JobStatus.SUCCESSFUL
    # A transition its status forbids is just refused, as without a limit.
    assert not store.transition(done.id, JobStatus.RUNNING)
    assert store.transition(done.id, JobStatus.ACCEPTED, max_queued=2)


def _cached(store, workspace="ws", key="k", status=JobStatus.SUCCESSFUL, age=0.0) -> Job:
    """A job of the result cache: ``key``, results made ``age`` seconds ago, in ``status``."""
    job = _job(workspace, status=status, cache_key=key,
               cache_time=utcnow() - timedelta(seconds=age))
    store.add(job)
    return job


def test_the_cache_lookup_finds_the_newest_successful_job_of_the_key_in_time(store):
    since = utcnow() - timedelta(hours=1)
    assert store.cached("ws", "k", since) is None
    old = _cached(store, age=600)
    newer = _cached(store, age=60)
    for unfit in (
        _cached(store, age=7200),  # made before the time to live
        _cached(store, key="other"),
        _cached(store, workspace="elsewhere"),
        _cached(store, status=JobStatus.FAILED),
        _cached(store, status=JobStatus.DISMISSED),
    ):
        assert store.cached("ws", "k", since).id == newer.id != unfit.id
    found = store.cached("ws", "k", since)
    assert (found.cache_key, found.reused_from) == ("k", None)
    assert found.cache_time.tzinfo is not None
    # The job asking is not its own match.
    assert store.cached("ws", "k", since, exclude=newer.id).id == old.id


def test_a_job_that_reused_results_teaches_estimates_nothing(store):
    ran = _job(status=JobStatus.SUCCESSFUL)
    reused = _job(status=JobStatus.SUCCESSFUL, reused_from=ran.id)
    store.add(ran)
    store.add(reused)
    assert [j.id for j in store.history("ws", "echo", 10)] == [ran.id]


def test_the_cache_lookup_reads_its_index(tmp_path):
    engine = ready_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    statement = JobStore(engine).lookup("ws", "k" * 64, utcnow(), exclude="me")
    sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
    assert any("USING INDEX ix_jobs_workspace_cache_key" in step for step in plan), plan
    assert not any(step.startswith("SCAN") for step in plan), plan
