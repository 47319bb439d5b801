"""The Executor port: where the job service hands a job over to be run. The local
thread pool implements it today (``ades.execution.local``); a distributed engine later."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable


class Executor(ABC):
    @abstractmethod
    def submit(self, job_id: str, done: Callable[[str], None]) -> None:
        """Queue the job; call ``done(job_id)`` once it has ended, whatever the outcome."""

    @abstractmethod
    def cancel(self, job_id: str) -> bool:
        """Stop the job if it is queued or running. True if there was something to stop."""

    @abstractmethod
    def shutdown(self) -> None:
        """Stop accepting jobs and stop the running ones."""

    def unready_reason(self) -> str | None:
        """None when what the executor needs (its broker) answers, else why not: /readyz
        says it. An executor of this process alone needs nothing."""
        return None
