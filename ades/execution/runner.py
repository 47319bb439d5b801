"""The CWL runner port: run one CWL document on one job order in a working directory, and
stop it on request. It speaks in typed events, so progress and failure detail do not hang
on one runner's wording: cwltool's runner reads them off cwltool's log, a Calrissian runner
off pod states and logs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ades.model import FailureCategory, LogLevel

# Where a runner asked for provenance writes the research object of a run, under the run's
# working directory.
PROVENANCE_DIR = "provenance"


@dataclass(frozen=True)
class LogLine:
    """A message for the job's log: one record of the runner's (all its lines), or one
    line a tool printed."""

    level: LogLevel
    text: str


@dataclass(frozen=True)
class WorkflowStarted:
    """The package is a workflow of steps (said before its first step starts)."""


@dataclass(frozen=True)
class StepStarted:
    """A step of the workflow, or the one tool of a package that is a tool, started.
    A scattered step starts once: its elements are ``ElementFinished`` events."""

    step: str


@dataclass(frozen=True)
class ElementFinished:
    """One element of the scattered step ``step`` ended (``done`` of ``total``, when the
    runner knows the total)."""

    step: str
    done: int
    total: int | None = None


@dataclass(frozen=True)
class StepFinished:
    step: str
    ok: bool


RunEvent = LogLine | WorkflowStarted | StepStarted | ElementFinished | StepFinished


@dataclass
class RunOutcome:
    """How a run ended. When it failed: the category (``input`` when the job order was
    refused, else ``application``), in words a user can act on, which step, exit code and
    the last lines the failing tool wrote on stderr."""

    ok: bool
    # The CWL output object when ok.
    outputs: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    category: FailureCategory = FailureCategory.APPLICATION
    failed_step: str | None = None
    exit_code: int | None = None
    stderr_tail: str = ""
    cancelled: bool = False
    # What the runner measured of the run (e.g. a usage report), kept with the job.
    usage: dict[str, Any] | None = None
    # The CWLProv research object the runner wrote of a successful run, when it was asked
    # for one and could write it (a folder, a BagIt bag); None otherwise.
    provenance: Path | None = None
    # Why no research object was written though one was asked for (said in the job's log).
    provenance_failure: str = ""


class CwlRunner(ABC):
    @abstractmethod
    def run(
        self,
        job_id: str,
        package: Path,
        entry: str | None,
        job_order: dict[str, Any],
        workdir: Path,
        on_event: Callable[[RunEvent], None] | None = None,
        provenance: bool = False,
    ) -> RunOutcome:
        """Run ``package`` (``entry`` picks the process in a $graph, e.g. "#main") on
        ``job_order`` inside ``workdir``; block until it ends. ``on_event`` receives the
        run's events as they come. ``provenance``: record the run as a CWLProv research
        object (``RunOutcome.provenance``), where the runner can; one that cannot leaves
        it None, and the job then has no provenance."""

    @abstractmethod
    def cancel(self, job_id: str) -> bool:
        """Stop the run of ``job_id`` and everything it started. True if one was running."""

    @abstractmethod
    def forget_cancel(self, job_id: str) -> None:
        """The job is queued again: a cancel of it that found nothing running no longer
        applies to its next run."""


class EarlyCancels:
    """Cancels of jobs not running (yet), remembered so that a run starting later returns at
    once; bounded, since most of them are dismisses of jobs that ended already. Not thread
    safe: a runner uses it under its own lock, with its table of runs."""

    def __init__(self, kept: int = 1024):
        self.kept = kept
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, job_id: str) -> None:
        self._ids[job_id] = None
        while len(self._ids) > self.kept:
            self._ids.popitem(last=False)

    def take(self, job_id: str) -> bool:
        """Whether the job was cancelled before its run; forgets it."""
        if job_id not in self._ids:
            return False
        del self._ids[job_id]
        return True

    def forget(self, job_id: str) -> None:
        self._ids.pop(job_id, None)
