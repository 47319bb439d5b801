"""The local Executor: a bounded thread pool on this machine. At most ``max_jobs`` jobs
run at once; the others wait, still ``accepted``, in the pool's queue.

Several processes may each have one (the workers of `ades serve`, replicas sharing a
database): a job runs in the process that accepted it, and one whose pool has room also
takes jobs accepted elsewhere (heard of as events, and looked for as a run ends), so that
a burst sent to one of them does not wait while another idles. The claim in the database
lets one of them run it; the others find it taken and drop it."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from ades.db.jobs import JobStore
from ades.execution.job_run import JobRun
from ades.jobs.events import JobEvents
from ades.jobs.executor import Executor
from ades.model import JobStatus

log = logging.getLogger(__name__)


class LocalExecutor(Executor):
    def __init__(
        self,
        run: JobRun,
        max_jobs: int,
        store: JobStore | None = None,
        events: JobEvents | None = None,
    ):
        """``store`` and ``events``: where to find and hear of jobs accepted by other
        processes (without them, this pool runs only the jobs submitted to it)."""
        self.run = run
        self.max_jobs = max_jobs
        self.store = store
        self.pool = ThreadPoolExecutor(max_workers=max_jobs, thread_name_prefix="ades-job")
        self._lock = threading.Lock()
        # Queued or running submissions per job: without a store, a job started again is
        # submitted while its stopped run is still winding down.
        self._active: Counter[str] = Counter()
        # One run of a job at a time: a re-run waits until the run before it has let go of
        # the job's working directory and of its runner slot.
        self._job_locks: dict[str, threading.Lock] = {}
        if events is not None:
            # Only changes made elsewhere: a job this process queues again (a restart's
            # take-back) is logged, then submitted, by the code that queued it.
            events.subscribe_elsewhere(self._heard)

    def submit(self, job_id: str) -> None:
        with self._lock:
            if self.store is not None and job_id in self._active:
                # Taken here already (heard of as queued), or its stopped run is winding
                # down: the end of that run looks for queued jobs, and finds this one.
                # A second submission would hold a slot while it waits for the first.
                return
            self._take(job_id)
        self.pool.submit(self._run, job_id)

    def _take(self, job_id: str) -> None:
        """Count a submission of the job (under the lock)."""
        self._active[job_id] += 1
        self._job_locks.setdefault(job_id, threading.Lock())

    def cancel(self, job_id: str) -> bool:
        # A queued job finds itself dismissed when its turn comes and does not start.
        with self._lock:
            queued = job_id in self._active
        return self.run.cancel(job_id) or queued

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            active = list(self._active)
        for job_id in active:
            self.run.cancel(job_id)

    def _heard(self, job_id: str, status: JobStatus) -> None:
        if status is JobStatus.ACCEPTED:
            self._take_queued()

    def _take_queued(self) -> None:
        """Submit here the oldest jobs waiting for a runner, as many as the pool has room
        for (none when it is full)."""
        if self.store is None:
            return
        with self._lock:
            free = self.max_jobs - len(self._active)
            if free <= 0:
                return
            known = len(self._active)
        try:
            waiting = self.store.queued(free + known)
        except Exception:
            log.exception("looking for queued jobs failed")
            return
        taken = []
        with self._lock:  # checked and counted at once: two callers never take one job
            for job_id in waiting:
                if job_id not in self._active and len(self._active) < self.max_jobs:
                    self._take(job_id)
                    taken.append(job_id)
        for job_id in taken:
            self.pool.submit(self._run, job_id)

    def _run(self, job_id: str) -> None:
        try:
            with self._job_locks[job_id]:
                self.run(job_id)
        except Exception:
            log.exception("job %s: executor caught an error", job_id)
        finally:
            with self._lock:
                self._active[job_id] -= 1
                if self._active[job_id] <= 0:
                    del self._active[job_id]
                    del self._job_locks[job_id]
        self._take_queued()
