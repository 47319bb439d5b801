"""JobService on real databases (SQLite, and PostgreSQL where its server answers): jobs
whose runner was lost are taken back, queued once more, then failed. The executor here only
records what it is handed."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from ades.db.jobs import JobStore
from ades.db.logs import LogStore
from ades.errors import InvalidInput
from ades.jobs.events import JobEvents
from ades.jobs.executor import Executor
from ades.jobs.service import JobService
from ades.model import FailureCategory, Job, JobStatus, utcnow
from ades.workspaces import WorkspacePolicy
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


def _lease():
    return utcnow() + timedelta(hours=1)


def test_a_job_ending_queues_the_oldest_job_waiting_on_max_running(engine):  # noqa: F811
    store, executor = JobStore(engine), Recorded()
    events = JobEvents(store)
    policy = WorkspacePolicy(max_running=1)
    service = JobService(store, LogStore(engine), None, executor, None, events,  # type: ignore[arg-type]
                         policy=lambda _ws: policy)
    store.listeners.append(service.job_changed)
    try:
        running, older, newer = (Job(id=str(uuid.uuid4()), workspace="ws", process_id="p")
                                 for _ in range(3))
        for job in (running, older, newer):
            store.add(job)
        assert store.claim(running.id, "w", _lease(), max_running=1)
        assert not store.claim(older.id, "w", _lease(), max_running=1)
        assert not store.claim(newer.id, "w", _lease(), max_running=1)
        assert [j.id for j in store.waiting("ws")] == [older.id, newer.id]
        # The end of the running job queues the oldest waiting one, and only it: one slot.
        assert store.transition(running.id, JobStatus.SUCCESSFUL)
        assert executor.submitted == [older.id]
        assert store.get("ws", older.id).message == "accepted"
        assert [j.id for j in store.waiting("ws")] == [newer.id]
        assert store.claim(older.id, "w", _lease(), max_running=1)
        # Housekeeping with no slot free queues nothing...
        service.reap()
        assert executor.submitted == [older.id]
        # ...and once one is free, even if no listener heard the end (its process died),
        # the job waiting is queued from there.
        store.listeners.remove(service.job_changed)
        assert store.transition(older.id, JobStatus.FAILED)
        assert executor.submitted == [older.id]
        service.reap()
        assert executor.submitted == [older.id, newer.id]
        assert store.waiting() == []
    finally:
        events.close()


class _Nothing:
    """A registry with no process deployed."""

    def has_workspace(self, workspace: str) -> bool:
        return True

    def get(self, workspace: str, process_id: str):
        from ades.errors import NoSuchProcess

        raise NoSuchProcess(process_id, workspace)


def test_an_update_with_a_process_runs_that_process_not_the_deployed_one(engine):  # noqa: F811
    from pathlib import Path

    from ades.packages.load import load_process

    demo = Path(__file__).resolve().parents[2] / "workspaces" / "demo" / "processes"
    echo = load_process(demo / "echo.cwl", "ws")
    planned = load_process(
        (demo / "echo.cwl").read_text().replace("id: echo", "id: graph-workflow"), "ws"
    )
    store, executor = JobStore(engine), Recorded()
    events = JobEvents(store)
    service = JobService(store, LogStore(engine), _Nothing(), executor, None, events)  # type: ignore[arg-type]
    try:
        job = service.create("ws", {"inputs": {"stringInput": "a"}}, process=echo,
                             openeo={"process": {"process_graph": {}}, "cache": True})
        # Neither process is deployed: the one given is checked, pinned and named.
        changed = service.update("ws", job.id, {"inputs": {"stringInput": "b"}},
                                 process=planned, openeo={"process": "new", "cache": False})
        assert changed.process_id == "graph-workflow"
        assert changed.request["package"]["cwl"] == planned.package
        assert changed.request["job_order"] == {"stringInput": "b"}
        assert changed.request["openeo"] == {"process": "new", "cache": False}
        # New inputs from elsewhere (the OGC PATCH) make the kept graph stale: it is dropped.
        service.update("ws", job.id, {"inputs": {"stringInput": "c"}}, process=planned)
        assert store.get("ws", job.id).request["openeo"] == {"cache": False}
        # Without a process (an OGC PATCH): checked against the package pinned with the job,
        # since the process is deployed nowhere.
        again = service.update("ws", job.id, {"inputs": {"stringInput": "d"}})
        assert (again.process_id, again.request["job_order"]) == ("graph-workflow",
                                                                  {"stringInput": "d"})
        with pytest.raises(InvalidInput, match="'nope'"):
            service.update("ws", job.id, {"inputs": {"nope": 1}})
    finally:
        events.close()


def test_a_title_alone_changes_nothing_the_job_runs(engine):  # noqa: F811
    from pathlib import Path

    from ades.packages.load import load_process

    demo = Path(__file__).resolve().parents[2] / "workspaces" / "demo" / "processes"
    planned = load_process(
        (demo / "echo.cwl").read_text().replace("id: echo", "id: graph-workflow"), "ws"
    )
    store, events = JobStore(engine), JobEvents(JobStore(engine))
    service = JobService(store, LogStore(engine), _Nothing(), Recorded(), None, events)  # type: ignore[arg-type]
    try:
        job = service.create("ws", {"inputs": {"stringInput": "a"}}, process=planned,
                             openeo={"process": "graph"})
        # The job's process is deployed nowhere: a new title needs none.
        changed = service.update("ws", job.id, {"title": "t"}, openeo={"process": "graph",
                                                                       "description": "d"})
        assert changed.title == "t"
        assert changed.process_id == "graph-workflow"
        assert changed.request["job_order"] == job.request["job_order"]
        assert changed.request["openeo"] == {"process": "graph", "description": "d"}
    finally:
        events.close()


class _Processes:
    """One process, ``p``, with the ades:Cache hint's value ``cache``."""

    def __init__(self, cache: bool = True) -> None:
        from ades.packages.load import load_process

        text = "cwlVersion: v1.2\nclass: CommandLineTool\nid: p\nbaseCommand: 'true'\n" \
               "inputs: []\noutputs: []\n"
        self.process = replace(load_process(text, "ws"), cache=cache)

    def has_workspace(self, workspace: str) -> bool:
        return True

    def get(self, workspace: str, process_id: str):
        return self.process


def test_what_the_result_cache_may_do_is_kept_with_each_job(engine):  # noqa: F811
    store, executor = JobStore(engine), Recorded()
    events = JobEvents(store)
    workspace = {"ws": WorkspacePolicy(), "off": WorkspacePolicy(cache=False)}

    def service(cache_hint: bool = True) -> JobService:
        return JobService(store, LogStore(engine), _Processes(cache_hint), executor,  # type: ignore[arg-type]
                          None, events, policy=workspace.__getitem__)  # type: ignore[arg-type]

    def cache(job: Job) -> dict:
        return store.get(job.workspace, job.id).request["cache"]

    try:
        jobs = service()
        assert cache(jobs.submit("ws", "p", {})) == {"enabled": True, "reuse": True}
        assert cache(jobs.submit("ws", "p", {}, cache=False)) == {"enabled": True, "reuse": False}
        assert cache(jobs.submit("off", "p", {}))["enabled"] is False
        assert cache(service(cache_hint=False).submit("ws", "p", {}))["enabled"] is False

        created = jobs.create("ws", {"process": "p"}, cache=False)
        assert cache(created) == {"enabled": True, "reuse": False}
        started = jobs.start("ws", created.id, cache=False)
        assert cache(started) == {"enabled": True, "reuse": False, "start": False}
        store.transition(created.id, JobStatus.FAILED)
        # A change re-pins the package and keeps what the request asked; the next start
        # says anew what it asks.
        service(cache_hint=False).update("ws", created.id, {"inputs": {}})
        assert cache(created) == {"enabled": False, "reuse": False}
        assert cache(jobs.start("ws", created.id)).get("start", True) is True
    finally:
        events.close()
