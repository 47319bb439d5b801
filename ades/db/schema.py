"""The one database schema: every table the server keeps, on one MetaData, and the engine
that reaches them. Alembic migrations (``ades/db/migrations``, run by ``ades.db.migrate``)
bring a database to it; the stores only read and write. A change here needs a migration
(tests/db/test_migrate.py compares the two)."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine

metadata = MetaData()

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("workspace", String(128), nullable=False),
    Column("process_id", String(256), nullable=False),
    Column("status", String(16), nullable=False),
    Column("message", Text, nullable=False, default=""),
    Column("progress", Integer, nullable=False, default=0),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("started", DateTime(timezone=True)),
    Column("finished", DateTime(timezone=True)),
    Column("updated", DateTime(timezone=True), nullable=False),
    Column("request", JSON, nullable=False),
    Column("results", JSON, nullable=False),
    Column("title", Text),
    Column("failure", JSON),
    Column("size", BigInteger),
    # The process (server or worker) that runs, or last ran, the job.
    Column("runner", String(64)),
    # Until when the runner's claim on the running job holds: it renews it while alive,
    # and any process may take the job back from a runner whose lease ran out.
    Column("lease_until", DateTime(timezone=True)),
    # Runs started of the job's current submission: a job whose runner was lost is
    # queued once more, not forever.
    Column("attempts", Integer),
    # The result cache (ades.jobs.cache): the digest of the job's pinned package and its
    # inputs as they were when it ran, when the results were made by a run (a job that
    # reused them carries the time of the run it copied), and the job reused, if any.
    Column("cache_key", String(64)),
    Column("cache_time", DateTime(timezone=True)),
    Column("reused_from", String(64)),
    # Where the provenance of a successful job's run lies (ades.staging.provenance): its
    # href, type, size and sha256; NULL when it has none.
    Column("provenance", JSON),
    # Job lists are one workspace's jobs newest first, often of one process or status.
    # Each ends with (created, id), the listing order, so a page is read off the index.
    Index("ix_jobs_workspace_created", "workspace", "created", "id"),
    Index("ix_jobs_workspace_process_created", "workspace", "process_id", "created", "id"),
    Index("ix_jobs_workspace_status_created", "workspace", "status", "created", "id"),
    # Both filters at once: the count of a list (up to 1000 past its page) reads this index
    # alone, not a row per job of one of the two.
    Index(
        "ix_jobs_workspace_process_status_created",
        "workspace", "process_id", "status", "created", "id",
    ),  # fmt: skip
    # Jobs of one status in any workspace, oldest first: the queued and running jobs the
    # housekeeping and a restart go through, without a sort.
    Index("ix_jobs_status_created", "status", "created", "id"),
    # A cache lookup: a workspace's jobs of one key, the newest results first.
    Index("ix_jobs_workspace_cache_key", "workspace", "cache_key", "cache_time"),
)

job_logs = Table(
    "job_logs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(64), nullable=False),
    Column("level", Integer, nullable=False),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("message", Text, nullable=False),
    # A page of one job's entries is a range scan on (job_id, id).
    Index("ix_job_logs_job_id_id", "job_id", "id"),
)

# One row per status change, written in the transaction that made it: every process
# sharing the database learns of job changes by reading the rows after the last it saw.
job_events = Table(
    "job_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("time", DateTime(timezone=True), nullable=False),
    # The housekeeping deletes the events older than an hour.
    Index("ix_job_events_time", "time"),
)

# API tokens (ADES_AUTH=token): each lets its bearer use one workspace. Only a digest of
# the secret part is kept; the token is shown once, when it is made.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("workspace", String(128), nullable=False),
    Column("name", Text, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("expires", DateTime(timezone=True)),
    Index("ix_api_tokens_workspace", "workspace"),
)

deployed_processes = Table(
    "deployed_processes",
    metadata,
    Column("workspace", String(128), primary_key=True),
    Column("process_id", String(256), primary_key=True),
    # The EOEPCA alias <id>-<version with . as _>, when the package has a version.
    Column("alias", String(300)),
    Column("package", Text, nullable=False),
    # The $graph entry the deployer picked (#fragment or ?w=), None when not asked.
    Column("workflow_id", String(256)),
    Column("source_name", String(256), nullable=False),
    # The jobControlOptions the deploy request declared, comma-separated; NULL: the package's.
    Column("job_control", String(128)),
    # Bumped by every replace: a replica's cached description is stale when it differs.
    Column("revision", Integer, nullable=False),
    Column("deployed", DateTime(timezone=True), nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
    # A process asked for by its alias.
    Index("ix_deployed_processes_workspace_alias", "workspace", "alias"),
)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn: Any, _record: Any) -> None:
            # WAL lets the API read while a worker writes; busy_timeout rides out short locks.
            cur = conn.cursor()
            cur.execute("PRAGMA busy_timeout=30000")
            _use_wal(cur)
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def _use_wal(cur: Any, deadline: float = 30.0) -> None:
    """Put the file in WAL mode (it stays so). Switching needs the file to itself, and
    SQLite answers "database is locked" at once, busy_timeout or not, while another
    connection holds it, as when servers start together on a new file: one of them then
    makes the switch, which the others see."""
    end = time.monotonic() + deadline
    while cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            cur.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)


def aware(value: datetime | None) -> datetime | None:
    # SQLite hands datetimes back without their zone; everything we store is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
