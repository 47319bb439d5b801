"""Persistence of jobs with SQLAlchemy (SQLite by default, PostgreSQL for several
replicas). Status changes are conditional updates, so a finishing run and a dismiss
racing each other cannot both win."""

from __future__ import annotations

from collections.abc import Iterable
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
    func,
    inspect,
    literal_column,
    or_,
    select,
)
from sqlalchemy.engine import Engine, RowMapping
from sqlalchemy.sql import ColumnElement, Select

from ades.errors import NoSuchJob
from ades.model import TRANSITIONS, Job, JobQuery, JobStatus, utcnow

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
    Column("runner", String(64)),
    # Job lists are one workspace's jobs newest first, often of one process or status.
    # Each ends with (created, id), the listing order, so a page is read off the index.
    Index("ix_jobs_workspace_created", "workspace", "created", "id"),
    Index("ix_jobs_workspace_process_created", "workspace", "process_id", "created", "id"),
    Index("ix_jobs_workspace_status_created", "workspace", "status", "created", "id"),
    Index("ix_jobs_status", "status"),
)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn: Any, _record: Any) -> None:
            # WAL lets the API read while a worker writes; busy_timeout rides out short locks.
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def upgrade_schema(engine: Engine) -> None:
    """Create what is missing: tables, and on tables an earlier version made, the nullable
    columns and the indexes added since (a data dir survives server upgrades)."""
    metadata.create_all(engine)
    # Tests (and deployments sharing a database) put the tables in a schema of their own.
    schema = engine.get_execution_options().get("schema_translate_map", {}).get(None)
    inspector = inspect(engine)
    for table in metadata.sorted_tables:
        have = {c["name"] for c in inspector.get_columns(table.name, schema=schema)}
        indexes = {i["name"] for i in inspector.get_indexes(table.name, schema=schema)}
        qualified = f'"{schema}".{table.name}' if schema else table.name
        with engine.begin() as conn:
            for column in table.columns:
                if column.name not in have and column.nullable:
                    kind = column.type.compile(dialect=engine.dialect)
                    conn.exec_driver_sql(
                        f'ALTER TABLE {qualified} ADD COLUMN "{column.name}" {kind}'
                    )
            for index in table.indexes:
                if index.name not in indexes:
                    index.create(conn, checkfirst=True)


class JobStore:
    def __init__(self, engine: Engine):
        self.engine = engine
        upgrade_schema(engine)

    def add(self, job: Job) -> None:
        with self.engine.begin() as conn:
            conn.execute(jobs.insert().values(**_row(job)))

    def get(self, workspace: str, job_id: str) -> Job:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(jobs).where(jobs.c.id == job_id, jobs.c.workspace == workspace))
                .mappings()
                .first()
            )
        if row is None:
            raise NoSuchJob(job_id, workspace)
        return _job(row)

    def get_by_id(self, job_id: str) -> Job:
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
        if row is None:
            raise NoSuchJob(job_id, "*")
        return _job(row)

    def list(
        self, workspace: str, limit: int, offset: int = 0, query: JobQuery | None = None
    ) -> tuple[list[Job], int]:
        """One page of a workspace's jobs matching ``query``, newest first, and how many
        match in all."""
        where = self._where(workspace, query or JobQuery())
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(jobs).where(*where)).scalar_one()
            if offset >= total:
                # Past the end: an empty page, without asking the database for an offset it
                # may not even take (SQLite refuses integers past 64 bits).
                return [], total
            rows = conn.execute(
                self.listing(workspace, query or JobQuery()).limit(limit).offset(offset)
            ).mappings()
            return [_job(r) for r in rows], total

    def listing(self, workspace: str, query: JobQuery) -> Select[Any]:
        """The statement listing a workspace's jobs, newest first (exposed for its plan)."""
        where = self._where(workspace, query)
        return select(jobs).where(*where).order_by(jobs.c.created.desc(), jobs.c.id.desc())

    def with_status(self, statuses: Iterable[JobStatus]) -> list[Job]:
        """Every job, in any workspace, in one of ``statuses``, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(jobs)
                .where(jobs.c.status.in_([s.value for s in statuses]))
                .order_by(jobs.c.created, jobs.c.id)
            ).mappings()
            return [_job(r) for r in rows]

    def running_on(self, runner: str) -> list[Job]:
        """Jobs left running by ``runner`` (or by a server from before jobs had one)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(jobs)
                .where(
                    jobs.c.status == JobStatus.RUNNING.value,
                    or_(jobs.c.runner == runner, jobs.c.runner.is_(None)),
                )
                .order_by(jobs.c.created, jobs.c.id)
            ).mappings()
            return [_job(r) for r in rows]

    def history(self, workspace: str, process_id: str, limit: int) -> list[Job]:
        """The latest successful jobs of a process, newest first: what estimates learn from."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(jobs)
                .where(
                    jobs.c.workspace == workspace,
                    jobs.c.process_id == process_id,
                    jobs.c.status == JobStatus.SUCCESSFUL.value,
                )
                .order_by(jobs.c.created.desc(), jobs.c.id)
                .limit(limit)
            ).mappings()
            return [_job(r) for r in rows]

    def _where(self, workspace: str, query: JobQuery) -> list[ColumnElement[bool]]:
        where = [jobs.c.workspace == workspace]
        if query.process_ids:
            where.append(jobs.c.process_id.in_(query.process_ids))
        if query.statuses:
            where.append(jobs.c.status.in_([s.value for s in query.statuses]))
        if query.created_from is not None:
            where.append(jobs.c.created >= query.created_from)
        if query.created_to is not None:
            where.append(jobs.c.created <= query.created_to)
        if query.min_duration is not None or query.max_duration is not None:
            duration = self._duration()
            where.append(jobs.c.started.is_not(None))
            if query.min_duration is not None:
                where.append(duration >= query.min_duration)
            if query.max_duration is not None:
                where.append(duration <= query.max_duration)
        return where

    def _duration(self) -> ColumnElement[float]:
        """Seconds from start to end, or to now; date arithmetic differs per database."""
        if self.engine.dialect.name == "sqlite":
            end = func.coalesce(jobs.c.finished, literal_column("'now'"))
            return (func.julianday(end) - func.julianday(jobs.c.started)) * 86400.0
        end = func.coalesce(jobs.c.finished, func.now())
        return func.extract("epoch", end - jobs.c.started)

    def transition(self, job_id: str, new: JobStatus, **fields: Any) -> bool:
        """Move a job to ``new`` if the transition table allows it from its current
        status; set ``fields`` with it. False if the job was in a status that forbids it."""
        allowed_from = [old.value for old, targets in TRANSITIONS.items() if new in targets]
        values = {"status": new.value, "updated": utcnow(), **fields}
        with self.engine.begin() as conn:
            result = conn.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.status.in_(allowed_from))
                .values(**values)
            )
            return result.rowcount == 1

    def update(self, job_id: str, *, only_in: Iterable[JobStatus], **fields: Any) -> bool:
        """Set ``fields`` (progress, message, ...) while the job is in one of ``only_in``."""
        with self.engine.begin() as conn:
            result = conn.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.status.in_([s.value for s in only_in]))
                .values(updated=utcnow(), **fields)
            )
            return result.rowcount == 1


def _row(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "workspace": job.workspace,
        "process_id": job.process_id,
        "status": job.status.value,
        "message": job.message,
        "progress": job.progress,
        "created": job.created,
        "started": job.started,
        "finished": job.finished,
        "updated": job.updated,
        "request": job.request,
        "results": job.results,
        "title": job.title,
        "failure": job.failure,
        "size": job.size,
        "runner": job.runner,
    }


def aware(value: datetime | None) -> datetime | None:
    # SQLite hands datetimes back without their zone; everything we store is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _job(row: RowMapping) -> Job:
    return Job(
        id=row["id"],
        workspace=row["workspace"],
        process_id=row["process_id"],
        status=JobStatus(row["status"]),
        message=row["message"],
        progress=row["progress"],
        created=aware(row["created"]),
        started=aware(row["started"]),
        finished=aware(row["finished"]),
        updated=aware(row["updated"]),
        request=row["request"] or {},
        results=row["results"] or {},
        title=row["title"],
        failure=row["failure"],
        size=row["size"],
        runner=row["runner"],
    )
