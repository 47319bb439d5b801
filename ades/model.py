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
    # Part 4 (job management): stored with its definition, not queued until started.
    CREATED = "created"
    ACCEPTED = "accepted"
    RUNNING = "running"
    SUCCESSFUL = "successful"
    FAILED = "failed"
    DISMISSED = "dismissed"

    @property
    def finished(self) -> bool:
        return self in FINISHED


FINISHED = frozenset({JobStatus.SUCCESSFUL, JobStatus.FAILED, JobStatus.DISMISSED})

# Statuses in which a job's definition is being executed: it cannot be changed or
# started again until it ends.
ACTIVE = frozenset({JobStatus.ACCEPTED, JobStatus.RUNNING})

# The one table of which status may follow which. A finished job may be started again
# (accepted): it re-runs and its new results replace the old ones.
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.CREATED: frozenset({JobStatus.ACCEPTED, JobStatus.DISMISSED}),
    JobStatus.ACCEPTED: frozenset({JobStatus.RUNNING, JobStatus.FAILED, JobStatus.DISMISSED}),
    JobStatus.RUNNING: frozenset({JobStatus.SUCCESSFUL, JobStatus.FAILED, JobStatus.DISMISSED}),
    JobStatus.SUCCESSFUL: frozenset({JobStatus.ACCEPTED, JobStatus.DISMISSED}),
    JobStatus.FAILED: frozenset({JobStatus.ACCEPTED, JobStatus.DISMISSED}),
    JobStatus.DISMISSED: frozenset({JobStatus.ACCEPTED}),
}


class FailureCategory(enum.StrEnum):
    """Where a failed job broke: what the user has to fix differs for each."""

    INPUT = "input"
    STAGE_IN = "stage-in"
    APPLICATION = "application"
    STAGE_OUT = "stage-out"
    SYSTEM = "system"


class LogLevel(enum.IntEnum):
    """openEO's log levels, ordered by severity so ``level >= minimum`` filters."""

    DEBUG = 10
    INFO = 20
    WARNING = 30
    ERROR = 40

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class LogEntry:
    id: int
    job_id: str
    level: LogLevel
    message: str
    time: datetime


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
    title: str | None = None
    # Why a failed job failed: {"category", "step", "exitCode", "stderr"} (step, exitCode and
    # stderr when a tool failed).
    failure: dict[str, Any] | None = None
    # Bytes of the results staged out by the last successful run.
    size: int | None = None
    # The server that runs (or last ran) the job: after a crash, a server fails only the
    # running jobs it owned, not those of other replicas on the same database.
    runner: str | None = None
    # Until when that runner's claim holds; it renews it while the job runs.
    lease_until: datetime | None = None
    # Runs started of the job's current submission (a lost runner's job is queued once more).
    attempts: int | None = None
    # The result cache: the digest of the pinned package and the inputs as they were when
    # the job ran (None: not computed, or the inputs cannot be pinned down), when its
    # results were made by a run, and the job whose results it reused instead of running.
    cache_key: str | None = None
    cache_time: datetime | None = None
    reused_from: str | None = None
    # The provenance of the run that made the results (ades.staging.provenance): {"href":
    # s3:// URI of its RO-Crate zip, "type", "size", "sha256"}; None when it has none.
    provenance: dict[str, Any] | None = None


@dataclass(frozen=True)
class JobQuery:
    """Which of a workspace's jobs a listing shows; every field left empty matches all.
    Durations are seconds from start to end (to now for a job still running)."""

    process_ids: tuple[str, ...] = ()
    statuses: tuple[JobStatus, ...] = ()
    created_from: datetime | None = None
    created_to: datetime | None = None
    min_duration: float | None = None
    max_duration: float | None = None


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
    # CWL secondaryFiles patterns of a File input (".bai", "^.fai", ".tbi?": optional),
    # fetched from beside the file at stage-in; expressions are left to cwltool.
    secondary_files: tuple[str, ...] = ()
    # The same for the File fields of a record input: (field path, patterns) pairs, the
    # path being field names ("f1", "outer/f2").
    field_secondary_files: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Of an output: the media types its values come in (None: the package does not say).
    media_types: tuple[str, ...] | None = None


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
    # How the results document shows STAC catalog outputs: "link" or "feature-collection"
    # (the ades:StacResults hint).
    stac_results: str = "link"
    # The CWL document as deployed (text), and the id of the entry point inside it
    # ("#main" in a $graph package, None for a single-process document).
    package: str = ""
    entry: str | None = None
    mutable: bool = False
    # Whether its jobs may reuse an earlier identical job's results (the ades:Cache hint).
    cache: bool = True
