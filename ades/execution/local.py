"""The local Executor: a bounded thread pool on this machine. At most ``max_jobs`` jobs
run at once; the others wait, still ``accepted``, in the pool's queue."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from ades.execution.job_run import JobRun
from ades.jobs.executor import Executor

log = logging.getLogger(__name__)


class LocalExecutor(Executor):
    def __init__(self, run: JobRun, max_jobs: int):
        self.run = run
        self.pool = ThreadPoolExecutor(max_workers=max_jobs, thread_name_prefix="ades-job")
        self._lock = threading.Lock()
        # Queued or running submissions per job: a job started again may be submitted
        # while its stopped run is still winding down.
        self._active: Counter[str] = Counter()
        # One run of a job at a time: a re-run waits until the run before it has let go of
        # the job's working directory and of its runner slot.
        self._job_locks: dict[str, threading.Lock] = {}

    def submit(self, job_id: str) -> None:
        with self._lock:
            self._active[job_id] += 1
            self._job_locks.setdefault(job_id, threading.Lock())
        self.pool.submit(self._run, job_id)

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
