"""Running one job from start to end: claim it, stage its remote inputs in, run its CWL
package, stage the outputs out to the object store, and record the outcome. Every status
change goes through the store's conditional transition, so a dismiss that lands mid-run
always wins."""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path

from ades.db.jobs import JobStore
from ades.errors import NoSuchProcess
from ades.execution.runner import CwlRunner, RunOutcome
from ades.jobs.service import Processes, results_prefix
from ades.model import Job, JobStatus, utcnow
from ades.objectstore.store import ObjectStore
from ades.staging.stage_in import StageIn, StageInCancelled, StageInError, has_remote_inputs
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
        stage_in: StageIn | None = None,
    ):
        self.store = store
        self.processes = processes
        self.runner = runner
        self.objects = objects
        self.work_root = work_root
        self.stage_in = stage_in or StageIn(objects)
        # Jobs staging in now, with the flag a dismiss sets to stop their downloads.
        self._staging: dict[str, threading.Event] = {}

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
            shutil.rmtree(workdir / "inputs", ignore_errors=True)

    def cancel(self, job_id: str) -> bool:
        staging = self._staging.get(job_id)
        if staging is not None:
            staging.set()
        # Also tell the runner: a run that would start after the stage-in must not.
        return self.runner.cancel(job_id) or staging is not None

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
        job_order = self._staged_in(job, workdir)
        if job_order is None:
            return
        outcome = self.runner.run(job.id, package, entry, job_order, workdir)
        if not outcome.ok:
            if not outcome.cancelled:
                self._fail(job.id, _failure_message(outcome))
            return
        if not self.store.update(
            job.id, only_in=[JobStatus.RUNNING], progress=90, message="staging out results"
        ):
            return

        def staging(output_id: str, index: int, total: int) -> None:
            self.store.update(
                job.id,
                only_in=[JobStatus.RUNNING],
                progress=90 + 9 * (index - 1) // total,
                message=f"staging out results: output '{output_id}' ({index} of {total})",
            )

        try:
            prefix = results_prefix(job)
            results = stage_out(
                outcome.outputs, self.objects, prefix, when=job.created, on_output=staging
            )
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

    def _staged_in(self, job: Job, workdir: Path) -> dict | None:
        """The job order with its remote inputs downloaded; None when the job failed
        or was dismissed meanwhile."""
        job_order = job.request.get("job_order", {})
        if not has_remote_inputs(job_order):
            return job_order

        def say(message: str) -> None:
            self.store.update(job.id, only_in=[JobStatus.RUNNING], message=message)

        say("staging in inputs")
        cancelled = self._staging[job.id] = threading.Event()
        try:
            staged = self.stage_in(
                job_order,
                workdir / "inputs",
                on_progress=say,
                workspace=job.workspace,
                cancelled=cancelled,
            )
        except StageInCancelled:
            return None
        except StageInError as err:
            self._fail(job.id, f"stage-in failed: {err}")
            return None
        finally:
            del self._staging[job.id]
        if not self.store.update(job.id, only_in=[JobStatus.RUNNING], message="running"):
            return None  # dismissed while the inputs were downloading
        return staged

    def _fail(self, job_id: str, message: str) -> None:
        self.store.transition(job_id, JobStatus.FAILED, message=message, finished=utcnow())


def _failure_message(outcome: RunOutcome) -> str:
    return outcome.message or f"the application failed (exit code {outcome.exit_code})"
