"""Running one job from start to end: claim it, stage its remote inputs in, run its CWL
package, stage the outputs out to the object store, and record the outcome, the progress
and the log on the way. Every status change goes through the store's conditional
transition, so a dismiss or a stop that lands mid-run always wins: JobRun hears of it from
the job events, wherever it was made, and stops the run. While a job runs, its lease in the
store is renewed, so that another process can tell when whatever ran it died."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from ades.db.jobs import JobStore
from ades.db.logs import LogStore
from ades.errors import NoSuchProcess
from ades.execution.log_buffer import LogBuffer
from ades.execution.progress import END, START, StepProgress, count_steps
from ades.execution.runner import PROVENANCE_DIR, CwlRunner, LogLine, RunEvent, RunOutcome
from ades.jobs.cache import cache_key, keyed, reuse_allowed
from ades.jobs.events import JobEvents
from ades.jobs.service import Processes, results_prefix
from ades.metrics import record_cache_hit
from ades.model import FailureCategory, Job, JobStatus, LogLevel, utcnow
from ades.objectstore.store import ObjectStore
from ades.redact import redact
from ades.staging.provenance import PROVENANCE_KEY, RunFacts, publish
from ades.staging.result_copy import copy_results, relocated
from ades.staging.stage_in import (
    StageIn,
    StageInCancelled,
    StageInError,
    has_remote_inputs,
    is_remote,
    secondary_href,
)
from ades.staging.stage_out import StageOutError, as_references, stage_out

log = logging.getLogger(__name__)


class JobRun:
    def __init__(
        self,
        store: JobStore,
        logs: LogStore,
        processes: Processes,
        runner: CwlRunner,
        objects: ObjectStore,
        work_root: Path,
        stage_in: StageIn | None = None,
        runner_id: str = "local",
        lease: float = 30.0,
        events: JobEvents | None = None,
        max_running: Callable[[str], int] | None = None,
        cache_ttl: float = 0,
        provenance: Callable[[str], bool] | None = None,
    ):
        self.store = store
        # Whether a workspace's jobs keep the provenance of their runs (default: all do).
        self.provenance = provenance or (lambda _workspace: True)
        # Seconds the results of a run may be reused by an identical job (0: never).
        self.cache_ttl = cache_ttl
        # A workspace's max_running (0: no limit), checked by the claim.
        self.max_running = max_running or (lambda _workspace: 0)
        self.logs = logs
        self.processes = processes
        self.runner = runner
        self.objects = objects
        self.work_root = work_root
        self.stage_in = stage_in or StageIn(objects)
        # Jobs staging in now, with the flag a dismiss sets to stop their downloads.
        self._staging: dict[str, threading.Event] = {}
        # This process's id, recorded on the jobs it runs, and how long its claim on one
        # holds unless renewed.
        self.runner_id = runner_id
        self.lease = lease
        self._lock = threading.Lock()
        # Calls under way per job: a job's message delivered twice (Celery, a restart
        # queueing accepted jobs again) may reach this process while the job runs here;
        # the second call finds nothing to claim, and must not end the first one's lease.
        self._running: Counter[str] = Counter()
        # When this process's latest claim of each job started it (the claim's ``started``).
        self._claimed: dict[str, Any] = {}
        if events is not None:
            events.subscribe(self._heard)

    def __call__(self, job_id: str) -> None:
        """Run the job if it can be claimed (it is accepted); return when it has ended."""
        job = self.store.get_by_id(job_id)
        with self._lock:
            first = not self._running[job_id]
            self._running[job_id] += 1
        if first:
            # Before the claim: a cancel heard from now on applies to this run.
            self.runner.forget_cancel(job_id)
        started = utcnow()
        with self._lock:
            self._claimed[job_id] = started  # before the claim: a dismiss may follow at once
        try:
            if not self.store.claim(
                job_id,
                self.runner_id,
                utcnow() + timedelta(seconds=self.lease),
                started=started,
                finished=None,
                progress=0,
                message="staging in inputs",
                failure=None,
                cache_key=None,
                reused_from=None,
                provenance=None,
                max_running=self.max_running(job.workspace),
            ):
                # Dismissed or stopped while it waited, run by someone else, or waiting for
                # a running job of its workspace to end (max_running; it is queued again then).
                return
            self.logs.add(job_id, LogLevel.INFO, "job started")
            workdir = self.work_root / job_id
            try:
                self._run(job, workdir)
            except Exception as err:  # the job must end, whatever broke
                log.exception("job %s failed unexpectedly", job_id)
                self._fail(job_id, f"internal error: {err}", {"category": FailureCategory.SYSTEM})
            finally:
                # A run stopped and started again at once may already run anew in the same
                # working dir (another worker's, when workers share a data dir): its files
                # are not this ended run's to remove.
                now = self.store.get_by_id(job_id)
                if now.status is not JobStatus.RUNNING or now.started == started:
                    for sub in ("outputs", "inputs", PROVENANCE_DIR):
                        shutil.rmtree(workdir / sub, ignore_errors=True)
        finally:
            with self._lock:
                self._running[job_id] -= 1
                if not self._running[job_id]:
                    del self._running[job_id]
                    self._claimed.pop(job_id, None)

    def renew_leases(self) -> None:
        """Extend this process's claim on the jobs it runs (called every third of a lease)."""
        with self._lock:
            running = list(self._running)
        self.store.renew(self.runner_id, running, utcnow() + timedelta(seconds=self.lease))

    def runs(self, job_id: str) -> bool:
        """Whether a call for the job is under way in this process."""
        with self._lock:
            return job_id in self._running

    def _heard(self, job_id: str, status: JobStatus) -> None:
        # A dismiss or stop of a job running here, made in any process.
        if status is JobStatus.DISMISSED:
            with self._lock:
                here = job_id in self._running
            if not here:
                return
            # A dismiss made elsewhere is read up to a poll late, maybe after the job was
            # started again and claimed here anew: that run is not cancelled. Any other run
            # of it here is (the stopped one, even when the job runs again elsewhere).
            now = self.store.get_by_id(job_id)
            with self._lock:
                mine = self._claimed.get(job_id)
            current = (
                now.status is JobStatus.RUNNING
                and now.runner == self.runner_id
                and now.started == mine
            )
            if not current:
                self.cancel(job_id)

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
                self._fail(
                    job.id,
                    f"process '{job.process_id}' was undeployed before it ran",
                    {"category": FailureCategory.SYSTEM},
                )
                return
            text, entry = process.package, process.entry
        if self._reused(job):
            return
        shutil.rmtree(workdir / "outputs", ignore_errors=True)  # a re-run starts afresh
        workdir.mkdir(parents=True, exist_ok=True)
        package = workdir / "package.cwl"
        package.write_text(text)
        job_order = self._staged_in(job, workdir)
        if job_order is None:
            return
        tracker = StepProgress(count_steps(text))
        self.logs.add(job.id, LogLevel.INFO, "staged in inputs")
        self._progress(job.id, START, "staged in inputs; running the application")
        lines = LogBuffer(self.logs, job.id)
        keep_provenance = self.provenance(job.workspace)
        try:
            outcome = self.runner.run(
                job.id,
                package,
                entry,
                job_order,
                workdir,
                on_event=lambda event: self._event(job.id, tracker, lines, event),
                provenance=keep_provenance,
            )
        finally:
            lines.close()
        if outcome.usage:
            self.logs.add(job.id, LogLevel.INFO, f"resource usage: {json.dumps(outcome.usage)}")
        if not outcome.ok:
            if not outcome.cancelled:
                self._fail(job.id, _failure_message(outcome), _failure(outcome))
            return
        if not self._progress(job.id, END, "staging out results"):
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
            if _ran_before(job):  # a re-run replaces the results of the run before it
                self.objects.delete_prefix(prefix + "/")
            size = sum(f.stat().st_size for f in (workdir / "outputs").rglob("*") if f.is_file())
            results = stage_out(
                outcome.outputs, self.objects, prefix, when=job.created, on_output=staging,
                on_warning=lambda message: self.logs.add(job.id, LogLevel.WARNING, message),
            )
            results = as_references(results, job.request.get("outputs") or {}, self.objects, prefix)
        except StageOutError as err:
            # The application's outputs cannot be staged: missing, or not a readable catalog.
            self._fail(job.id, f"stage-out failed: {err}", {"category": FailureCategory.STAGE_OUT})
            return
        except Exception as err:
            # The object store failed under the upload: the server's failure, not the package's.
            self._fail(job.id, f"stage-out failed: {err}", {"category": FailureCategory.SYSTEM})
            return
        self.logs.add(job.id, LogLevel.INFO, f"staged out {len(results)} outputs to {prefix}/")
        provenance = None
        if keep_provenance:
            provenance = self._provenance(job, text, entry, outcome, prefix)
        # The log is complete before the status is final: a client that reads the logs once
        # it sees the job ended must find its last entry there.
        self.logs.add(job.id, LogLevel.INFO, "job successful")
        finished = utcnow()
        if not self.store.transition(
            job.id,
            JobStatus.SUCCESSFUL,
            results=results,
            size=size,
            progress=100,
            message="successful",
            finished=finished,
            cache_time=finished,
            provenance=provenance,
        ):
            self.logs.add(job.id, LogLevel.WARNING, "results discarded: the job was stopped")
            # Dismissed while the outputs were uploading: take them away again.
            if self.store.get_by_id(job.id).status is JobStatus.DISMISSED:
                self.objects.delete_prefix(results_prefix(job) + "/")

    def _reused(self, job: Job) -> bool:
        """The result cache: record the job's key, and when an earlier successful job of its
        workspace has the same one (made within the cache's time to live), end the job
        successfully with a copy of that job's results instead of running it. False when
        the job is to run: no cache, no key, opted out, no match, or the match went away
        while it was copied; True when it is done (reused, or stopped meanwhile)."""
        if self.cache_ttl <= 0 or not keyed(job.request):
            return False
        try:
            key = cache_key(
                job.request,
                lambda href: self.stage_in.fingerprint(href, job.workspace),
                is_remote,
                secondary_href,
            )
        except Exception:  # the cache must never fail a job: it runs instead
            log.exception("job %s: its cache key could not be made", job.id)
            return False
        if key is None:
            return False
        if not self.store.update(job.id, only_in=[JobStatus.RUNNING], cache_key=key):
            return True  # stopped or dismissed meanwhile: nothing more to do
        if not reuse_allowed(job.request):
            self.logs.add(job.id, LogLevel.INFO, "result cache: not looked up (asked not to)")
            return False
        since = utcnow() - timedelta(seconds=self.cache_ttl)
        source = self.store.cached(job.workspace, key, since, exclude=job.id)
        if source is None:
            return False
        prefix = results_prefix(job)
        try:
            if _ran_before(job):  # a job started again replaces the results of its run before
                self.objects.delete_prefix(prefix + "/")
            results = copy_results(self.objects, source.results, results_prefix(source), prefix)
            now = self.store.get_by_id(source.id)
            if now.status is not JobStatus.SUCCESSFUL or now.finished != source.finished:
                raise RuntimeError(f"job {source.id} was dismissed or started again meanwhile")
        except Exception as err:
            self.objects.delete_prefix(prefix + "/")
            why = err.args[0] if isinstance(err, KeyError) and err.args else err
            self.logs.add(
                job.id,
                LogLevel.WARNING,
                f"result cache: the results of job {source.id} could not be reused ({why}); "
                "running the job",
            )
            return False
        self.logs.add(
            job.id,
            LogLevel.INFO,
            f"results reused from job {source.id}, which ran the same package on the same "
            f"inputs: copied to {prefix}/; the application did not run",
        )
        self.logs.add(job.id, LogLevel.INFO, "job successful")
        if not self.store.transition(
            job.id,
            JobStatus.SUCCESSFUL,
            results=results,
            size=source.size,
            progress=100,
            message=f"successful: results reused from job {source.id}",
            finished=utcnow(),
            cache_time=source.cache_time,
            reused_from=source.id,
            # The provenance of the run that made the results, copied with them.
            provenance=relocated(
                source.provenance,
                self.objects.uri(results_prefix(source) + "/"),
                self.objects.uri(prefix + "/"),
            )
            if source.provenance
            else None,
        ):
            self.logs.add(job.id, LogLevel.WARNING, "results discarded: the job was stopped")
            if self.store.get_by_id(job.id).status is JobStatus.DISMISSED:
                self.objects.delete_prefix(prefix + "/")
            return True
        record_cache_hit(job.workspace)
        return True

    def _provenance(
        self, job: Job, package: str, entry: str | None, outcome: RunOutcome, prefix: str
    ) -> dict[str, Any] | None:
        """Upload the run's provenance beside its results; its record, or None when the
        runner made none or it could not be uploaded: the job's outputs are complete
        either way, so that is a warning in its log, never a failure."""
        if outcome.provenance is None:
            if outcome.provenance_failure:
                why = outcome.provenance_failure
                self.logs.add(job.id, LogLevel.WARNING, f"no provenance kept: {why}")
            else:  # the Calrissian runner's: it writes no research object
                self.logs.add(
                    job.id, LogLevel.INFO, "no provenance kept: this runner records none"
                )
            return None
        try:
            self._progress(job.id, 99, "staging out the provenance of the run")
            facts = RunFacts(
                job_id=job.id,
                workspace=job.workspace,
                process_id=job.process_id,
                entry=entry,
                package_digest=hashlib.sha256(package.encode()).hexdigest(),
                started=self.store.get_by_id(job.id).started,
                finished=utcnow(),
                inputs=redact.deep(job.request.get("inputs") or {}),
                container_engine=getattr(self.runner, "container_engine", "none"),
            )
            record = publish(outcome.provenance, facts, self.objects, prefix)
        except Exception as err:
            log.warning("job %s: its provenance could not be kept", job.id, exc_info=True)
            self.logs.add(
                job.id, LogLevel.WARNING, f"no provenance kept: it could not be uploaded ({err})"
            )
            return None
        self.logs.add(
            job.id,
            LogLevel.INFO,
            f"provenance kept: {prefix}/{PROVENANCE_KEY} ({record['size']} bytes)",
        )
        return record

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
            self._fail(job.id, f"stage-in failed: {err}", {"category": FailureCategory.STAGE_IN})
            return None
        finally:
            del self._staging[job.id]
        if not self.store.update(job.id, only_in=[JobStatus.RUNNING], message="running"):
            return None  # dismissed while the inputs were downloading
        return staged

    def _event(
        self, job_id: str, tracker: StepProgress, lines: LogBuffer, event: RunEvent
    ) -> None:
        if isinstance(event, LogLine):
            lines.add(event.level, event.text)
            return
        reading = tracker.feed(event)
        if reading is not None:
            self._progress(job_id, reading.progress, reading.message)

    def _progress(self, job_id: str, progress: int, message: str) -> bool:
        """Record what the job is doing now; False once it is no longer running."""
        return self.store.update(
            job_id, only_in=[JobStatus.RUNNING], progress=progress, message=message
        )

    def _fail(self, job_id: str, message: str, failure: dict[str, Any]) -> None:
        if self.store.get_by_id(job_id).status is not JobStatus.RUNNING:
            return  # stopped or dismissed meanwhile: that is how it ended
        # What a tool printed and what S3 answered go into the job document, which the
        # workspace's users read: never with a secret of the server in it.
        message, failure = redact(message), redact.deep(failure)
        # Logged first, for the same reason as success.
        where = f" in step '{failure['step']}'" if failure.get("step") else ""
        self.logs.add(
            job_id, LogLevel.ERROR, f"job failed ({failure['category']}{where}): {message}"
        )
        self.store.transition(
            job_id, JobStatus.FAILED, message=message, failure=failure, finished=utcnow()
        )


def _ran_before(job: Job) -> bool:
    """Whether results of an earlier run may be under the job's prefix (``job`` as read
    before this run's claim): a job never claimed before has none, and its run saves the
    listing of an empty prefix."""
    return job.started is not None


def _failure_message(outcome: RunOutcome) -> str:
    return outcome.message or f"the application failed (exit code {outcome.exit_code})"


def _failure(outcome: RunOutcome) -> dict[str, Any]:
    failure: dict[str, Any] = {"category": outcome.category}
    if outcome.failed_step:
        failure["step"] = outcome.failed_step
    if outcome.exit_code is not None:
        failure["exitCode"] = outcome.exit_code
    if outcome.stderr_tail:
        failure["stderr"] = outcome.stderr_tail
    return failure
