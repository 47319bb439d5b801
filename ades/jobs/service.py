"""JobService: the life of a job — submit, or create then start (again), update, stop,
dismiss; look up, list, wait for, read logs of and estimate jobs; recover them after a
restart. Framework-free: the HTTP handlers call it, it calls the job store, the log store,
the process registry, the executor and the object store through their ports."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol

from ades.db.jobs import JobStore
from ades.db.logs import LogStore
from ades.errors import (
    InvalidRequest,
    JobDismissed,
    JobFailed,
    Locked,
    NoEstimate,
    NoSuchProcess,
    NoSuchWorkspace,
    ResultNotReady,
    UnprocessableDefinition,
)
from ades.jobs.estimate import Estimate, estimate_from
from ades.jobs.events import JobEvents
from ades.jobs.executor import Executor
from ades.model import (
    ACTIVE,
    FailureCategory,
    Job,
    JobQuery,
    JobStatus,
    LogEntry,
    LogLevel,
    Process,
    utcnow,
)
from ades.objectstore.store import ObjectStore
from ades.packages.inputs import check_outputs_request, to_job_order
from ades.packages.load import load_package
from ades.workspaces import WorkspacePolicy

log = logging.getLogger(__name__)

# The member of a job's request that keeps what an openEO client created it with.
OPENEO = "openeo"
# The message of a dismissed job (its results removed): openEO no longer shows it, unlike a
# job stopped on request (status dismissed too, with the outputs it staged kept).
DISMISSED_MESSAGE = "dismissed"
# What an execute request or a job definition may say about the run.
_REQUEST_MEMBERS = frozenset({"inputs", "outputs", "response", "subscriber"})
# Statuses in which a job's definition may change.
_IDLE = frozenset(JobStatus) - ACTIVE
_SUBSCRIBER_URIS = frozenset({"successUri", "inProgressUri", "failedUri"})
# How many past jobs an estimate learns from.
_HISTORY = 20
# Runs a job may start per submission: one whose runner was lost is queued once more.
_ATTEMPTS = 2


def _process_id(ref: str) -> str:
    """A process id from itself or from its URL (…/processes/{id})."""
    ref = ref.rstrip("/")
    if "/processes/" in ref:
        ref = ref.rsplit("/processes/", 1)[1].split("/")[0]
    return ref


def _checked(
    process: Process, request: dict[str, Any], max_literal_bytes: int | None = None
) -> dict[str, Any]:
    """The request with the CWL job order made of its inputs, once both are checked
    against the process (raises InvalidInput / InvalidRequest naming what is wrong)."""
    inputs = request.get("inputs") or {}
    job_order = to_job_order(process, inputs, max_literal_bytes=max_literal_bytes)
    check_outputs_request(process, request)
    subscriber = request.get("subscriber") or {}
    if not isinstance(subscriber, dict):
        raise InvalidRequest("'subscriber' must be an object of URLs")
    for name, uri in subscriber.items():
        if (
            name not in _SUBSCRIBER_URIS
            or not isinstance(uri, str)
            or not uri.startswith(("http://", "https://"))
        ):
            raise InvalidRequest(
                f"subscriber '{name}': expected one of {', '.join(sorted(_SUBSCRIBER_URIS))} "
                f"with an http(s) URL, got {uri!r}"
            )
    # The package is pinned with the job: a replace or undeploy after the job was accepted
    # must not change what it runs (its inputs were checked against this one).
    package = {"cwl": process.package, "entry": process.entry}
    return {**request, "job_order": job_order, "package": package}


def _no_estimate(job: Job) -> Estimate:
    raise NoEstimate(job.id, job.process_id, job.workspace)


class Processes(Protocol):
    def has_workspace(self, workspace: str) -> bool: ...
    def get(self, workspace: str, process_id: str) -> Process: ...


def results_prefix(job: Job) -> str:
    """Where a job's outputs live in the bucket."""
    return f"{job.workspace}/jobs/{job.id}"


class JobService:
    def __init__(
        self,
        store: JobStore,
        logs: LogStore,
        processes: Processes,
        executor: Executor,
        objects: ObjectStore,
        events: JobEvents,
        max_literal_bytes: int | None = None,
        policy: Callable[[str], WorkspacePolicy] | None = None,
    ):
        self.store = store
        # A workspace's quotas (max_queued, max_running); none without it.
        self.policy = policy or (lambda _workspace: WorkspacePolicy())
        # The largest literal input a job may be given (None: no limit).
        self.max_literal_bytes = max_literal_bytes
        self.log_store = logs
        self.processes = processes
        self.executor = executor
        self.objects = objects
        self.events = events

    def submit(
        self,
        workspace: str,
        process_id: str,
        request: dict[str, Any],
        links_root: str = "",
        process: Process | None = None,
        cache: bool = True,
    ) -> Job:
        """Check the request against the process, persist the job, then queue it. Nothing
        is stored when the request is invalid. ``links_root`` is the API root the client
        used: documents sent to its subscriber link back there. ``process``, when given, is
        run instead of the deployed ``process_id`` (a Workflow made for an openEO process
        graph, say): it is pinned with the job like a deployed one. ``cache=False``: the job
        runs even when an identical earlier job's results could be reused (its own results
        may be reused later)."""
        process = process or self.processes.get(workspace, process_id)
        job = Job(
            id=str(uuid.uuid4()),
            workspace=workspace,
            process_id=process.id,
            request={
                **self._checked(process, request),
                "links_root": links_root,
                "cache": self._cache(workspace, process, cache),
            },
        )
        # TooManyJobs (429) when the workspace has max_queued jobs waiting already.
        self.store.add(job, max_queued=self.policy(workspace).max_queued)
        self.log_store.add(job.id, LogLevel.INFO, f"job accepted: process '{process.id}'")
        self.executor.submit(job.id)
        return job

    def create(
        self,
        workspace: str,
        definition: dict[str, Any],
        links_root: str = "",
        process: Process | None = None,
        openeo: dict[str, Any] | None = None,
        cache: bool = True,
    ) -> Job:
        """Persist a job in status ``created`` without queueing it (Part 4). ``process`` is
        the process id or its URL; the rest is checked as an execute request would be. The
        ``process`` argument, when given, is run instead (see ``submit``). ``openeo``, what
        an openEO client created the job with (its process graph, description, …), is kept
        with the request as its ``openeo`` member, which the OGC side ignores.
        ``cache=False``: its runs never reuse an identical earlier job's results."""
        if process is None:
            ref = definition.get("process")
            if not isinstance(ref, str) or not ref.strip():
                raise UnprocessableDefinition(
                    "the job definition lacks 'process': the id or URL of the process to run"
                )
            process = self.processes.get(workspace, _process_id(ref))
        request = {k: v for k, v in definition.items() if k in _REQUEST_MEMBERS}
        if openeo is not None:
            request[OPENEO] = openeo
        job = Job(
            id=str(uuid.uuid4()),
            workspace=workspace,
            process_id=process.id,
            status=JobStatus.CREATED,
            message="created; start it with POST on its results",
            title=definition.get("title"),
            request={
                **self._checked(process, request),
                "links_root": links_root,
                "cache": self._cache(workspace, process, cache),
            },
        )
        self.store.add(job)
        self.log_store.add(job.id, LogLevel.INFO, f"job created: process '{process.id}'")
        return job

    def update(
        self,
        workspace: str,
        job_id: str,
        changes: dict[str, Any],
        process: Process | None = None,
        openeo: dict[str, Any] | None = None,
    ) -> Job:
        """Change a job's inputs, outputs, response, subscriber or title; refused (Locked)
        while it is queued or running. Each member given replaces the one stored. The job
        runs ``process`` from now on when it is given (an openEO process graph planned
        anew), else the process of its id as deployed now. ``openeo`` replaces what the job
        keeps of its openEO definition; new inputs without it make the process graph kept
        there stale, so it is dropped."""
        job = self.store.get(workspace, job_id)
        if job.status in ACTIVE:
            raise Locked(job.id, job.status.value, "changed")
        unknown = sorted(set(changes) - _REQUEST_MEMBERS - {"title"})
        if unknown:
            raise UnprocessableDefinition(
                f"job '{job.id}': member '{unknown[0]}' cannot be changed; "
                f"only {', '.join(sorted(_REQUEST_MEMBERS | {'title'}))}"
            )
        request = dict(job.request)
        if openeo is not None:
            request[OPENEO] = openeo
        elif {"inputs", "outputs"} & set(changes) and isinstance(request.get(OPENEO), dict):
            request[OPENEO] = {k: v for k, v in request[OPENEO].items() if k != "process"}
        fields: dict[str, Any] = {"request": request}
        if process is not None or _REQUEST_MEMBERS & set(changes):
            # What the job runs changes: checked anew against the process it will run (the
            # one given, else its own as deployed now), which is pinned again.
            process = process or self._process_of(job)
            request.pop("job_order", None)
            request.update({k: v for k, v in changes.items() if k in _REQUEST_MEMBERS})
            checked = self._checked(process, request)
            # The package is pinned anew: whether its hint lets it reuse results may differ.
            reuse = (job.request.get("cache") or {}).get("reuse", True)
            checked["cache"] = self._cache(workspace, process, reuse)
            fields = {"request": checked, "process_id": process.id}
        if "title" in changes:
            fields["title"] = changes["title"]
        if not self.store.update(job.id, only_in=_IDLE, **fields):
            now = self.store.get(workspace, job_id)
            raise Locked(job.id, now.status.value, "changed")
        changed = sorted(changes) + (["openEO definition"] if openeo is not None else [])
        self.log_store.add(job.id, LogLevel.INFO, f"job updated: {', '.join(changed)}")
        return self.store.get(workspace, job_id)

    def start(self, workspace: str, job_id: str, cache: bool = True) -> Job:
        """Queue a created job; a finished one runs again and its new results replace the
        old ones when it succeeds. Refused (Locked) while it is queued or running.
        ``cache=False``: this run never reuses an identical earlier job's results."""
        job = self.store.get(workspace, job_id)
        settings = job.request.get("cache") or {}
        # Written only when it changes (a no-cache start, or the first start after one).
        changed = {} if settings.get("start", True) == cache else {
            "request": {**job.request, "cache": {**settings, "start": cache}}
        }
        if job.status in ACTIVE or not self.store.transition(
            job.id,
            JobStatus.ACCEPTED,
            **changed,
            message="accepted",
            progress=0,
            started=None,
            finished=None,
            failure=None,
            attempts=0,
            # TooManyJobs (429) when the workspace has max_queued jobs waiting already.
            max_queued=self.policy(workspace).max_queued,
        ):
            now = self.store.get(workspace, job_id)
            raise Locked(job.id, now.status.value, "started again")
        again = " again" if job.status is not JobStatus.CREATED else ""
        self.log_store.add(job.id, LogLevel.INFO, f"job accepted{again}")
        self.executor.submit(job.id)
        return self.store.get(workspace, job_id)

    def stop(self, workspace: str, job_id: str) -> Job:
        """Cancel a queued or running job, keeping its record, logs and the outputs staged
        so far (unlike dismiss). A job that is not queued or running is left as it is."""
        job = self.store.get(workspace, job_id)
        if job.status in ACTIVE and self.store.transition(
            job.id,
            JobStatus.DISMISSED,
            message="stopped on request; logs and outputs staged so far are kept",
            finished=utcnow(),
        ):
            self.executor.cancel(job.id)
            self.log_store.add(job.id, LogLevel.WARNING, "job stopped on request")
        return self.store.get(workspace, job_id)

    def estimate(self, workspace: str, job_id: str) -> Estimate:
        """Duration and size expected of the job, from its process's past successes."""
        job = self.store.get(workspace, job_id)
        past = self.store.history(workspace, job.process_id, limit=_HISTORY)
        return estimate_from(past) or _no_estimate(job)

    def recover(self, runner: str) -> None:
        """After a (re)start of ``runner``: the jobs it left running died with it, and are
        queued once more (or fail when they had their second chance); the jobs left
        accepted are queued again. Jobs running elsewhere are left to their runners."""
        for job in self.store.running_on(runner):
            self._take_back(job, "the server running it stopped", runner=runner)
        for job in self.store.with_status([JobStatus.ACCEPTED]):
            self.log_store.add(job.id, LogLevel.INFO, "job queued again after a server restart")
            self.executor.submit(job.id)

    def reap(self) -> None:
        """Take back the running jobs whose runner's lease ran out: a worker or a server
        died under them. Any process sharing the database may call this."""
        now = utcnow()
        for job in self.store.lost(now):
            self._take_back(job, "the worker running it was lost", expired_before=now)
        self.store.prune_events(now - timedelta(hours=1))
        # A safety net: jobs waiting on max_running are queued again when a job of their
        # workspace ends (job_changed), by whichever process ended it. Should that process
        # have died in between, they are queued from here.
        for workspace in sorted({job.workspace for job in self.store.waiting()}):
            self.wake(workspace)

    def job_changed(self, _event: int, job_id: str, status: JobStatus) -> None:
        """A store listener: a job that ended may have freed a running slot of its
        workspace for a job waiting on max_running."""
        if status.finished:
            self.wake(self.store.get_by_id(job_id).workspace)

    def wake(self, workspace: str) -> None:
        """Queue again, oldest first, as many jobs waiting on the workspace's max_running
        as it has slots free now. Each is queued by one process only (unmark_waiting);
        one that finds its slot taken meanwhile is refused again by its claim and waits
        for the next job to end."""
        limit = self.max_running(workspace)
        free = None
        if limit:
            free = limit - self.store.count(workspace, JobStatus.RUNNING)
            if free <= 0:
                return
        for job in self.store.waiting(workspace, limit=free):
            if self.store.unmark_waiting(job.id):
                self.log_store.add(job.id, LogLevel.INFO, "job queued again: a slot is free")
                self.executor.submit(job.id)

    def max_running(self, workspace: str) -> int:
        """The workspace's max_running (0: no limit; also for a workspace gone since)."""
        try:
            return self.policy(workspace).max_running
        except NoSuchWorkspace:
            return 0

    def _take_back(self, job: Job, why: str, **condition: Any) -> None:
        if (job.attempts or 0) < _ATTEMPTS and self.store.take_back(
            job.id, JobStatus.ACCEPTED, message=f"accepted again: {why}", progress=0, **condition
        ):
            self.log_store.add(job.id, LogLevel.WARNING, f"job queued again: {why}")
            self.executor.submit(job.id)
            return
        message = f"{why}; start it again (POST on its results) to re-run it"
        if self.store.take_back(
            job.id,
            JobStatus.FAILED,
            message=message,
            failure={"category": FailureCategory.SYSTEM},
            finished=utcnow(),
            **condition,
        ):
            self.log_store.add(job.id, LogLevel.ERROR, f"job failed (system): {message}")

    def get(self, workspace: str, job_id: str) -> Job:
        return self.store.get(workspace, job_id)

    def list(
        self, workspace: str, limit: int, offset: int = 0, query: JobQuery | None = None
    ) -> tuple[list[Job], int | None]:
        """A page of jobs and how many match: None when too many to count (JobStore.list)."""
        return self.store.list(workspace, limit, offset, query)

    def logs(
        self, workspace: str, job_id: str, offset: str | None, level: str, limit: int
    ) -> tuple[list[LogEntry], bool]:
        """A page of the job's log entries after the entry whose id is ``offset``, at
        ``level`` or above; and whether more may follow (always, while the job has not
        ended: a client polling a running job follows ``next``)."""
        job = self.store.get(workspace, job_id)
        after = None
        if offset:
            try:
                after = int(offset)
            except ValueError:
                raise InvalidRequest(
                    f"parameter 'offset': '{offset}' is not the id of a log entry"
                ) from None
        entries = self.log_store.page(job.id, after, LogLevel[level.upper()], limit + 1)
        return entries[:limit], len(entries) > limit or not job.status.finished

    def marks(self, job_ids: list[str]) -> dict[str, tuple[Any, int | None]]:
        """For each of these jobs, what changes when anything about it does: when it last
        changed and its newest log entry; two queries however many jobs are asked of."""
        updated = self.store.updated_of(job_ids)
        last = self.log_store.last_ids(job_ids)
        return {job_id: (updated.get(job_id), last.get(job_id)) for job_id in job_ids}

    def wait(self, workspace: str, job_id: str, timeout: float) -> Job:
        """The job once it has ended, or as it is when ``timeout`` seconds have passed;
        whichever process runs it."""
        self.events.wait(lambda: self.store.get(workspace, job_id).status.finished, timeout)
        return self.store.get(workspace, job_id)

    def results(self, workspace: str, job_id: str) -> Job:
        job = self.store.get(workspace, job_id)
        if job.status is JobStatus.SUCCESSFUL:
            return job
        if job.status is JobStatus.FAILED:
            raise JobFailed(job.id, job.message, (job.failure or {}).get("category"))
        if job.status is JobStatus.DISMISSED:
            raise JobDismissed(job.id)
        raise ResultNotReady(job.id, job.status.value)

    def dismiss(self, workspace: str, job_id: str) -> Job:
        """Cancel a queued or running job (its tool processes are killed), or remove the
        results of a finished one. The job record stays, with status ``dismissed``."""
        job = self.store.get(workspace, job_id)
        if job.status is not JobStatus.DISMISSED:
            now = utcnow()
            if self.store.transition(
                job.id,
                JobStatus.DISMISSED,
                message=DISMISSED_MESSAGE,
                finished=job.finished or now,
            ):
                self.executor.cancel(job.id)
                self.log_store.add(job.id, LogLevel.WARNING, "job dismissed")
        # A stopped job is dismissed already but kept its outputs: dismissing removes them.
        self.objects.delete_prefix(results_prefix(job) + "/")
        self.store.update(
            job.id, only_in=[JobStatus.DISMISSED], results={}, size=None, message=DISMISSED_MESSAGE
        )
        return self.store.get(workspace, job_id)

    def _process_of(self, job: Job) -> Process:
        """The process a job's changed request is checked against: the one deployed under
        its id, else the package pinned with the job (a Workflow made for an openEO process
        graph is deployed nowhere; a process undeployed since still runs as pinned)."""
        try:
            return self.processes.get(job.workspace, job.process_id)
        except NoSuchProcess:
            pinned = job.request.get("package") or {}
            if not pinned.get("cwl"):
                raise
            loaded = load_package(pinned["cwl"], job.workspace, workflow_id=pinned.get("entry"))
            return dataclasses.replace(loaded.process, id=job.process_id)

    def _cache(self, workspace: str, process: Process, reuse: bool) -> dict[str, bool]:
        """What the result cache may do for a job (``ades.jobs.cache``): ``enabled`` unless
        the process's ades:Cache hint or the workspace's settings turn it off; ``reuse``
        unless the request opted out."""
        return {"enabled": process.cache and self.policy(workspace).cache, "reuse": reuse}

    def _checked(self, process: Process, request: dict[str, Any]) -> dict[str, Any]:
        return _checked(process, request, self.max_literal_bytes)
