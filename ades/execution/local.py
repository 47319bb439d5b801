"""The local Executor: a bounded thread pool on this machine. At most ``max_jobs`` jobs
run at once; the others wait, still ``accepted``, in the pool's queue."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ades.execution.job_run import JobRun
from ades.jobs.executor import Executor

log = logging.getLogger(__name__)


class LocalExecutor(Executor):
    def __init__(self, run: JobRun, max_jobs: int):
        self.run = run
        self.pool = ThreadPoolExecutor(max_workers=max_jobs, thread_name_prefix="ades-job")
        self._active: set[str] = set()

    def submit(self, job_id: str, done: Callable[[str], None]) -> None:
        self.run.runner.forget_cancel(job_id)
        self._active.add(job_id)
        self.pool.submit(self._run, job_id, done)

    def cancel(self, job_id: str) -> bool:
        # A queued job finds itself dismissed when its turn comes and does not start.
        return self.run.cancel(job_id) or job_id in self._active

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        for job_id in list(self._active):
            self.run.cancel(job_id)

    def _run(self, job_id: str, done: Callable[[str], None]) -> None:
        try:
            self.run(job_id)
        except Exception:
            log.exception("job %s: executor caught an error", job_id)
        finally:
            self._active.discard(job_id)
            done(job_id)
