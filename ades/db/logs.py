"""Persistence of job log entries: the server's own events and each line cwltool prints,
in the database with the jobs, so they are there after a restart. Entry ids increase, which
is what lets a client ask for "everything after the last entry I have"."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ades.db.schema import aware, job_logs
from ades.model import LogEntry, LogLevel, utcnow
from ades.redact import redact

# The largest id an SQL BIGINT (and SQLite's INTEGER) holds.
_LARGEST_ID = 2**63 - 1


class LogStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, job_id: str, level: LogLevel, message: str) -> None:
        self.add_many(job_id, [(level, message)])

    def add_many(self, job_id: str, entries: Iterable[tuple[LogLevel, str]]) -> None:
        now = utcnow()
        rows = [
            {"job_id": job_id, "level": int(level), "time": now, "message": redact(message)}
            for level, message in entries
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(job_logs.insert(), rows)

    def last_ids(self, job_ids: Iterable[str]) -> dict[str, int]:
        """The id of the newest entry of each of these jobs (those that have one), in one
        query."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(job_logs.c.job_id, func.max(job_logs.c.id))
                .where(job_logs.c.job_id.in_(list(job_ids)))
                .group_by(job_logs.c.job_id)
            )
            return {job_id: last for job_id, last in rows}

    def page(self, job_id: str, after: int | None, minimum: LogLevel, limit: int) -> list[LogEntry]:
        """Up to ``limit`` entries of the job at ``minimum`` severity or above, with ids
        greater than ``after``, oldest first."""
        if after is not None and after >= _LARGEST_ID:
            return []  # no entry comes after it; SQLite could not even compare with it
        where = [job_logs.c.job_id == job_id, job_logs.c.level >= int(minimum)]
        if after is not None:
            where.append(job_logs.c.id > after)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(job_logs).where(*where).order_by(job_logs.c.id).limit(limit)
            ).mappings()
            return [
                LogEntry(
                    id=row["id"],
                    job_id=row["job_id"],
                    level=LogLevel(row["level"]),
                    message=row["message"],
                    time=aware(row["time"]),
                )
                for row in rows
            ]
