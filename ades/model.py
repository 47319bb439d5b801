"""The domain's plain data: jobs, their statuses and the allowed transitions between
them, and processes. No I/O happens here."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def utcnow() -> datetime:
    return datetime.now(UTC)


class JobStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    RUNNING = "running"
    SUCCESSFUL = "successful"
    FAILED = "failed"
    DISMISSED = "dismissed"

    @property
    def finished(self) -> bool:
        return self in FINISHED


FINISHED = frozenset({JobStatus.SUCCESSFUL, JobStatus.FAILED, JobStatus.DISMISSED})

# The one table of which status may follow which.
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.ACCEPTED: frozenset({JobStatus.RUNNING, JobStatus.FAILED, JobStatus.DISMISSED}),
    JobStatus.RUNNING: frozenset({JobStatus.SUCCESSFUL, JobStatus.FAILED, JobStatus.DISMISSED}),
    JobStatus.SUCCESSFUL: frozenset({JobStatus.DISMISSED}),
    JobStatus.FAILED: frozenset({JobStatus.DISMISSED}),
    JobStatus.DISMISSED: frozenset(),
}


def can_transition(old: JobStatus, new: JobStatus) -> bool:
    return new in TRANSITIONS[old]


@dataclass
class Job:
    id: str
    workspace: str
    process_id: str
    status: JobStatus = JobStatus.ACCEPTED
    message: str = "accepted"
    progress: int = 0
    created: datetime = field(default_factory=utcnow)
    started: datetime | None = None
    finished: datetime | None = None
    updated: datetime = field(default_factory=utcnow)
    # What the client asked for: {"inputs": {...}, "outputs": {...}, "response": "document"|"raw"}
    request: dict[str, Any] = field(default_factory=dict)
    # Per output id: {"value": ...} for literals, {"href": ..., "type": ...} for staged data,
    # or a list of those for array outputs.
    results: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Parameter:
    """One input or output of a process, with the JSON Schema of one value."""

    id: str
    schema: dict[str, Any]
    title: str | None = None
    description: str | None = None
    min_occurs: int = 1
    max_occurs: int | str = 1  # an int, or "unbounded"
    # The CWL kind of value, for staging: "File", "Directory" or "literal".
    kind: str = "literal"
    default: Any = None


@dataclass(frozen=True)
class Process:
    id: str
    workspace: str
    version: str
    title: str | None
    description: str | None
    inputs: tuple[Parameter, ...]
    outputs: tuple[Parameter, ...]
    job_control: tuple[str, ...] = ("sync-execute", "async-execute", "dismiss")
    # The CWL document as deployed (text), and the id of the entry point inside it
    # ("#main" in a $graph package, None for a single-process document).
    package: str = ""
    entry: str | None = None
    mutable: bool = False
