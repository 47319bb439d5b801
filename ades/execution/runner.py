"""The CWL runner port: run one CWL document on one job order in a working directory,
and stop it on request. cwltool is the implementation today; Calrissian could be another."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class RunOutcome:
    ok: bool
    # The CWL output object (cwltool's stdout JSON) when ok.
    outputs: dict[str, Any] = field(default_factory=dict)
    # Why it failed, in words a user can act on: which step, exit code, last stderr lines.
    message: str = ""
    failed_step: str | None = None
    exit_code: int | None = None
    stderr_tail: str = ""
    cancelled: bool = False


class CwlRunner(ABC):
    @abstractmethod
    def run(
        self,
        job_id: str,
        package: Path,
        entry: str | None,
        job_order: dict[str, Any],
        workdir: Path,
        on_log: Callable[[str], None] | None = None,
    ) -> RunOutcome:
        """Run ``package`` (``entry`` picks the process in a $graph, e.g. "#main") on
        ``job_order`` inside ``workdir``; block until it ends. ``on_log`` receives each
        message the runner logs, as it comes: a record with every line it spans, or one line
        of a tool's own output."""

    @abstractmethod
    def cancel(self, job_id: str) -> bool:
        """Stop the run of ``job_id`` and everything it started. True if one was running."""

    @abstractmethod
    def forget_cancel(self, job_id: str) -> None:
        """The job is queued again: a cancel of it that found nothing running no longer
        applies to its next run."""
