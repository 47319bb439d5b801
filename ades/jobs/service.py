"""JobService: submit, look up, wait for and dismiss jobs. Framework-free: the HTTP
handlers call it, it calls the job store, the process registry, the executor and the
object store through their ports."""

from __future__ import annotations

import threading
import uuid
from typing import Any, Protocol

from ades.db.jobs import JobStore
from ades.errors import JobDismissed, JobFailed, ResultNotReady
from ades.jobs.executor import Executor
from ades.model import Job, JobQuery, JobStatus, Process, utcnow
from ades.objectstore.store import ObjectStore
from ades.packages.inputs import check_outputs_request, to_job_order


class Processes(Protocol):
    def has_workspace(self, workspace: str) -> bool: ...
    def get(self, workspace: str, process_id: str) -> Process: ...


def results_prefix(job: Job) -> str:
    """Where a job's outputs live in the bucket."""
    return f"{job.workspace}/jobs/{job.id}"


class JobService:
    def __init__(
        self, store: JobStore, processes: Processes, executor: Executor, objects: ObjectStore
    ):
        self.store = store
        self.processes = processes
        self.executor = executor
        self.objects = objects
        self._ended = threading.Condition()

    def submit(self, workspace: str, process_id: str, request: dict[str, Any]) -> Job:
        """Check the request against the process, persist the job, then queue it. Nothing
        is stored when the request is invalid."""
        process = self.processes.get(workspace, process_id)
        job_order = to_job_order(process, request.get("inputs") or {})
        check_outputs_request(process, request)
        job = Job(
            id=str(uuid.uuid4()),
            workspace=workspace,
            process_id=process.id,
            request={**request, "job_order": job_order},
        )
        self.store.add(job)
        self.executor.submit(job.id, self._notify)
        return job

    def get(self, workspace: str, job_id: str) -> Job:
        return self.store.get(workspace, job_id)

    def list(
        self, workspace: str, limit: int, offset: int = 0, query: JobQuery | None = None
    ) -> tuple[list[Job], int]:
        return self.store.list(workspace, limit, offset, query)

    def wait(self, workspace: str, job_id: str, timeout: float) -> Job:
        """The job once it has ended, or as it is when ``timeout`` seconds have passed."""
        with self._ended:
            self._ended.wait_for(
                lambda: self.store.get(workspace, job_id).status.finished, timeout=timeout
            )
        return self.store.get(workspace, job_id)

    def results(self, workspace: str, job_id: str) -> Job:
        job = self.store.get(workspace, job_id)
        if job.status is JobStatus.SUCCESSFUL:
            return job
        if job.status is JobStatus.FAILED:
            raise JobFailed(job.id, job.message)
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
                job.id, JobStatus.DISMISSED, message="dismissed", finished=job.finished or now
            ):
                self.executor.cancel(job.id)
                self.objects.delete_prefix(results_prefix(job) + "/")
                self._notify(job.id)
        return self.store.get(workspace, job_id)

    def _notify(self, _job_id: str) -> None:
        with self._ended:
            self._ended.notify_all()
