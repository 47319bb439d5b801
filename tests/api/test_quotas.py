"""Per-workspace job quotas over HTTP, on the ``quota`` workspace (tests/api/data/quota:
max_running 1, max_queued 2): a submission beyond max_queued is a 429 with Retry-After,
on every path that queues a job; beyond max_running a job waits queued, and runs once the
running one has ended. Runs in both test modes (Makefile DISTRIBUTED_TESTS)."""

from datetime import datetime

import pytest

from ades.db.jobs import WAITING
from tests.api.conftest import poll

OGC1 = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
ASYNC = {"Prefer": "respond-async"}
ENDED = {"successful", "failed", "dismissed"}
EXECUTE = "/quota/ogc-api/processes/sleep/execution"


def _submit(live, seconds, headers=ASYNC):
    return live.post(EXECUTE, json={"inputs": {"seconds": seconds}}, headers=headers)


def _queued(live, seconds):
    r = _submit(live, seconds)
    assert r.status_code == 201, r.text
    return r.headers["Location"]


def _assert_too_many(r):
    assert r.status_code == 429, r.text
    assert r.headers["Retry-After"].isdigit()
    body = r.json()
    assert body["type"] == OGC1 + "too-many-jobs"
    assert body["title"] == "TooManyJobs"
    assert body["status"] == 429
    assert "workspace 'quota' has 2 jobs queued, its limit (max_queued)" in body["detail"]


@pytest.fixture
def quiet(live):
    """The quota workspace without a job queued or running, before and after the test."""

    def idle():
        for status in ("accepted", "running"):
            jobs = live.get(f"/quota/ogc-api/jobs?status={status}").json()["jobs"]
            for job in jobs:
                live.delete(f"/quota/ogc-api/jobs/{job['jobID']}")
        poll(
            lambda: live.get("/quota/ogc-api/jobs?status=accepted&status=running").json(),
            lambda doc: not doc["jobs"],
            60,
        )

    idle()
    yield live
    idle()


def test_a_submission_beyond_max_queued_is_refused_on_every_path(quiet):
    live = quiet
    first = _queued(live, 300)
    live.wait_for(first, {"running"})
    # Two more wait, queued: the first runs, and max_running is 1.
    waiting = [_queued(live, 0), _queued(live, 0)]
    for url in waiting:
        doc = poll(lambda u=url: live.http.get(u).json(), lambda d: d["message"] == WAITING, 60)
        assert doc["status"] == "accepted"
    # A third is refused: async and sync execute...
    _assert_too_many(_submit(live, 0))
    _assert_too_many(_submit(live, 0, headers={}))
    # ...the start of a created job (Part 4; creating one queues nothing)...
    created = live.post("/quota/ogc-api/jobs", json={"process": "sleep", "inputs": {"seconds": 0}})
    assert created.status_code == 201, created.text
    _assert_too_many(live.http.post(created.headers["Location"] + "/results"))
    assert live.http.get(created.headers["Location"]).json()["status"] == "created"
    # Once the running job ends, the waiting ones run in turn and the queue has room again.
    assert live.http.delete(first).status_code == 200
    for url in waiting:
        assert live.wait_for(url, ENDED)["status"] == "successful"
    started = live.http.post(created.headers["Location"] + "/results")
    assert started.status_code == 202, started.text
    assert live.wait_for(created.headers["Location"], ENDED)["status"] == "successful"
    # ...and so is a finished job started again (counted like a new submission).
    blocker = _queued(live, 300)
    live.wait_for(blocker, {"running"})
    filler = [_queued(live, 0), _queued(live, 0)]
    _assert_too_many(live.http.post(created.headers["Location"] + "/results"))
    assert live.http.get(created.headers["Location"]).json()["status"] == "successful"
    live.http.delete(blocker)
    for url in filler:
        live.wait_for(url, ENDED)


def test_max_running_one_runs_the_jobs_one_after_the_other(quiet):
    live = quiet
    first = _queued(live, 1)
    live.wait_for(first, {"running"})
    second = _queued(live, 0)
    seen: list[tuple[str, str]] = []

    def statuses():
        pair = (live.http.get(first).json(), live.http.get(second).json())
        seen.append((pair[0]["status"], pair[1]["status"]))
        return pair

    done = poll(statuses, lambda pair: all(d["status"] in ENDED for d in pair), 120)
    assert ("running", "running") not in seen
    assert [d["status"] for d in done] == ["successful", "successful"]
    # The second started once the first had finished: both times are the server's.
    assert datetime.fromisoformat(done[1]["started"]) >= datetime.fromisoformat(
        done[0]["finished"]
    )


def test_another_workspace_is_not_held_back(quiet):
    live = quiet
    first = _queued(live, 300)
    live.wait_for(first, {"running"})
    # lab sets no quota: its jobs run beside the quota workspace's.
    r = live.post("/lab/ogc-api/processes/sleep/execution", json={"inputs": {"seconds": 0}},
                  headers=ASYNC)
    assert r.status_code == 201, r.text
    assert live.wait_for(r.headers["Location"], ENDED)["status"] == "successful"
    live.http.delete(first)
