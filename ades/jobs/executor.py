"""The Executor port: where the job service hands a job over to be run, by its id alone.
Whoever runs it reloads the job from the store and writes its status, progress and logs
back there; the end of a job is heard from the job events, not from the executor. The local
thread pool implements it (``ades.execution.local``), and Celery workers."""

from __future__ import annotations

from abc import ABC, abstractmethod


class Executor(ABC):
    @abstractmethod
    def submit(self, job_id: str) -> None:
        """Queue the job to be run (an accepted job in the store)."""

    @abstractmethod
    def cancel(self, job_id: str) -> bool:
        """Best effort, in this process: stop the job if it is queued or running here. A
        dismiss reaches a run anywhere through the store; this only makes it sooner."""

    @abstractmethod
    def shutdown(self) -> None:
        """Stop accepting jobs and stop the running ones."""

    def unready_reason(self) -> str | None:
        """None when what the executor needs (its broker) answers, else why not: /readyz
        says it. An executor of this process alone needs nothing."""
        return None
