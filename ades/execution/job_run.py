"""Running one job from start to end: claim it, run its CWL package, stage the outputs
out to the object store, and record the outcome. Every status change goes through the
store's conditional transition, so a dismiss that lands mid-run always wins."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from ades.db.jobs import JobStore
from ades.errors import NoSuchProcess
from ades.execution.runner import CwlRunner, RunOutcome
from ades.jobs.service import Processes, results_prefix
from ades.model import Job, JobStatus, utcnow
from ades.objectstore.store import ObjectStore
from ades.staging.stage_out import as_references, stage_out

log = logging.getLogger(__name__)


class JobRun:
    def __init__(
        self,
        store: JobStore,
        processes: Processes,
        runner: CwlRunner,
        objects: ObjectStore,
        work_root: Path,
    ):
        self.store = store
        self.processes = processes
        self.runner = runner
        self.objects = objects
        self.work_root = work_root

    def __call__(self, job_id: str) -> None:
        job = self.store.get_by_id(job_id)
        if not self.store.transition(
            job_id, JobStatus.RUNNING, started=utcnow(), progress=10, message="running"
        ):
            return  # dismissed while it waited in the queue
        workdir = self.work_root / job_id
        try:
            self._run(job, workdir)
        except Exception as err:  # the job must end, whatever broke
            log.exception("job %s failed unexpectedly", job_id)
            self._fail(job_id, f"internal error: {err}")
        finally:
            shutil.rmtree(workdir / "outputs", ignore_errors=True)

    def cancel(self, job_id: str) -> bool:
        return self.runner.cancel(job_id)

    def _run(self, job: Job, workdir: Path) -> None:
        pinned = job.request.get("package")
        if pinned:
            text, entry = pinned["cwl"], pinned.get("entry")
        else:  # a job accepted before packages were pinned to their jobs
            try:
                process = self.processes.get(job.workspace, job.process_id)
            except NoSuchProcess:
                self._fail(job.id, f"process '{job.process_id}' was undeployed before it ran")
                return
            text, entry = process.package, process.entry
        workdir.mkdir(parents=True, exist_ok=True)
        package = workdir / "package.cwl"
        package.write_text(text)
        outcome = self.runner.run(job.id, package, entry, job.request.get("job_order", {}), workdir)
        if not outcome.ok:
            if not outcome.cancelled:
                self._fail(job.id, _failure_message(outcome))
            return
        if not self.store.update(
            job.id, only_in=[JobStatus.RUNNING], progress=90, message="staging out results"
        ):
            return
        try:
            prefix = results_prefix(job)
            results = stage_out(outcome.outputs, self.objects, prefix)
            results = as_references(results, job.request.get("outputs") or {}, self.objects, prefix)
        except Exception as err:
            self._fail(job.id, f"stage-out failed: {err}")
            return
        if not self.store.transition(
            job.id,
            JobStatus.SUCCESSFUL,
            results=results,
            progress=100,
            message="successful",
            finished=utcnow(),
        ):
            # Dismissed while the outputs were uploading: take them away again.
            self.objects.delete_prefix(results_prefix(job) + "/")

    def _fail(self, job_id: str, message: str) -> None:
        self.store.transition(job_id, JobStatus.FAILED, message=message, finished=utcnow())


def _failure_message(outcome: RunOutcome) -> str:
    return outcome.message or f"the application failed (exit code {outcome.exit_code})"
