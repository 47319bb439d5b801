"""Persistence of jobs with SQLAlchemy (SQLite by default, PostgreSQL for several
replicas). Status changes are conditional updates, so a finishing run and a dismiss
racing each other cannot both win."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, literal_column, or_, select
from sqlalchemy.engine import Engine, RowMapping
from sqlalchemy.sql import ColumnElement, Select

from ades.db.schema import aware, job_events, jobs
from ades.errors import NoSuchJob, TooManyJobs
from ades.model import TRANSITIONS, Job, JobQuery, JobStatus, utcnow

log = logging.getLogger(__name__)

# Told (event id, job id, new status) after a status change this process made is committed.
Listener = Callable[[int, str, JobStatus], None]

# The message of an accepted job whose claim its workspace's max_running refused: no
# executor holds it any more, and the end of a running job of its workspace (or the
# housekeeping) queues it again (``JobStore.unmark_waiting``).
WAITING = "queued: its workspace runs as many jobs at once as it may (max_running)"
# Class key of the PostgreSQL advisory locks taken per workspace (any constant that the
# migration lock in ades.db.migrate does not use).
_WORKSPACE_LOCK = 0x0ADE5
# How many matches past the page asked for a job list counts (its numberMatched): beyond,
# it says only that more follow, so that a listing costs the same at 100 jobs as at 100,000.
COUNT_AHEAD = 1000
# The largest LIMIT every database takes (a 64-bit signed integer, less the one added).
_LARGEST_ROW = 2**63 - 2


class JobStore:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.listeners: list[Listener] = []

    def add(self, job: Job, max_queued: int = 0) -> None:
        """Store a new job. An accepted one is refused (TooManyJobs) when its workspace has
        ``max_queued`` accepted jobs already (0: no limit): counted in the insert's
        transaction, under the workspace's lock, so that replicas adding at once cannot
        overshoot."""
        with self.engine.begin() as conn:
            if max_queued and job.status is JobStatus.ACCEPTED:
                self._lock_workspace(conn, job.workspace)
            conn.execute(jobs.insert().values(**_row(job)))
            if job.status is JobStatus.ACCEPTED:
                # Heard by every process (JobEvents): a replica with a free slot may take
                # the job before the one that accepted it has room (LocalExecutor).
                conn.execute(
                    job_events.insert().values(
                        job_id=job.id, status=job.status.value, time=utcnow()
                    )
                )
            # Counted after the insert, in its transaction: on SQLite the insert holds the
            # one write lock from now to the commit, on PostgreSQL the workspace's lock.
            if (
                max_queued
                and job.status is JobStatus.ACCEPTED
                and conn.execute(select(self._count(job.workspace, JobStatus.ACCEPTED)))
                .scalar_one() > max_queued
            ):
                raise TooManyJobs(job.workspace, max_queued)  # rolls the insert back

    def count(self, workspace: str, status: JobStatus) -> int:
        """How many jobs of ``workspace`` are in ``status`` (read off
        ``ix_jobs_workspace_status_created``)."""
        with self.engine.connect() as conn:
            return conn.execute(select(self._count(workspace, status))).scalar_one()

    def waiting(self, workspace: str | None = None, limit: int | None = None) -> list[Job]:
        """Accepted jobs whose claim max_running refused (of ``workspace``, or of any),
        oldest first."""
        where = [jobs.c.status == JobStatus.ACCEPTED.value, jobs.c.message == WAITING]
        if workspace is not None:
            where.append(jobs.c.workspace == workspace)
        query = select(jobs).where(*where).order_by(jobs.c.created, jobs.c.id)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_job(r) for r in conn.execute(query).mappings()]

    def queued(self, limit: int) -> list[str]:
        """The ids of the oldest accepted jobs that wait for a runner (not for max_running),
        in any workspace, at most ``limit``."""
        query = (
            select(jobs.c.id)
            .where(jobs.c.status == JobStatus.ACCEPTED.value, jobs.c.message != WAITING)
            .order_by(jobs.c.created, jobs.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def unmark_waiting(self, job_id: str) -> bool:
        """Take a waiting job to be queued again: True for the one caller that does (so a
        job is queued once however many processes wake its workspace at once)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                jobs.update()
                .where(
                    jobs.c.id == job_id,
                    jobs.c.status == JobStatus.ACCEPTED.value,
                    jobs.c.message == WAITING,
                )
                .values(message="accepted", updated=utcnow())
            )
            return result.rowcount == 1

    def _count(self, workspace: str, status: JobStatus) -> Any:
        """A scalar subquery: the jobs of ``workspace`` in ``status``."""
        other = jobs.alias("other")
        return (
            select(func.count())
            .select_from(other)
            .where(other.c.workspace == workspace, other.c.status == status.value)
            .scalar_subquery()
        )

    def _lock_workspace(self, conn: Connection, workspace: str) -> None:
        """Serialise, until the transaction ends, the changes that count a workspace's jobs:
        two replicas claiming at once must not both see a free slot. PostgreSQL: an advisory
        lock per workspace (READ COMMITTED gives each later statement a fresh snapshot, so
        what was committed under the lock is seen). SQLite needs none: one writer at a time,
        and a write transaction holds its lock from its first change to its commit."""
        if conn.dialect.name == "postgresql":
            conn.execute(
                select(func.pg_advisory_xact_lock(_WORKSPACE_LOCK, func.hashtext(workspace)))
            )

    def _workspace_of(self, conn: Connection, job_id: str) -> str | None:
        return conn.execute(select(jobs.c.workspace).where(jobs.c.id == job_id)).scalar()

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

    def updated_of(self, job_ids: Iterable[str]) -> dict[str, datetime]:
        """When each of these jobs last changed (those that exist), in one query."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(jobs.c.id, jobs.c.updated).where(jobs.c.id.in_(list(job_ids)))
            )
            return {job_id: aware(updated) for job_id, updated in rows}

    def get_by_id(self, job_id: str) -> Job:
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
        if row is None:
            raise NoSuchJob(job_id, "*")
        return _job(row)

    def list(
        self, workspace: str, limit: int, offset: int = 0, query: JobQuery | None = None
    ) -> tuple[list[Job], int | None]:
        """One page of a workspace's jobs matching ``query``, newest first, and how many
        match in all: counted up to ``COUNT_AHEAD`` jobs past the page, None beyond (more
        pages follow). A full count would read every match, and its cost would grow with
        the store: the page itself is read off an index at the same cost at any size."""
        listing = self.listing(workspace, query or JobQuery())
        cap = min(offset + limit + COUNT_AHEAD, _LARGEST_ROW)
        # Counted in the listing's order: its index is read as far as the count goes, and
        # a filter no index holds (a duration) reads rows stored near each other.
        matching = listing.with_only_columns(jobs.c.id).limit(cap + 1).subquery()
        with self.engine.connect() as conn:
            matched = conn.execute(select(func.count()).select_from(matching)).scalar_one()
            total = matched if matched <= cap else None
            if total is not None and offset >= total:
                # Past the end: an empty page, without asking the database for an offset it
                # may not even take (SQLite refuses integers past 64 bits).
                return [], total
            rows = conn.execute(listing.limit(limit).offset(offset)).mappings()
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

    def count_by_workspace_and_status(self) -> dict[tuple[str, str], int]:
        """How many jobs each workspace has in each status, in one GROUP BY (``/metrics``
        reads it at every scrape; ``ix_jobs_workspace_status_created`` covers it)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(jobs.c.workspace, jobs.c.status, func.count())
                .group_by(jobs.c.workspace, jobs.c.status)
            ).all()
        return {(workspace, status): count for workspace, status, count in rows}

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
        """The latest successful jobs of a process that ran (not those that reused another
        job's results, which took no time to speak of), newest first: what estimates learn
        from."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(jobs)
                .where(
                    jobs.c.workspace == workspace,
                    jobs.c.process_id == process_id,
                    jobs.c.status == JobStatus.SUCCESSFUL.value,
                    jobs.c.reused_from.is_(None),
                )
                .order_by(jobs.c.created.desc(), jobs.c.id.desc())
                .limit(limit)
            ).mappings()
            return [_job(r) for r in rows]

    def cached(
        self, workspace: str, key: str, since: datetime, exclude: str | None = None
    ) -> Job | None:
        """The successful job of ``workspace`` with cache key ``key`` whose results were
        made (by a run) at ``since`` or later, the newest; None when there is none. Read
        off ``ix_jobs_workspace_cache_key``; ``exclude`` is the job asking."""
        with self.engine.connect() as conn:
            row = conn.execute(self.lookup(workspace, key, since, exclude)).mappings().first()
        return _job(row) if row is not None else None

    def lookup(
        self, workspace: str, key: str, since: datetime, exclude: str | None = None
    ) -> Select[Any]:
        """The statement of ``cached`` (exposed for its plan)."""
        where = [
            jobs.c.workspace == workspace,
            jobs.c.cache_key == key,
            jobs.c.cache_time >= since,
            jobs.c.status == JobStatus.SUCCESSFUL.value,
        ]
        if exclude is not None:
            where.append(jobs.c.id != exclude)
        return select(jobs).where(*where).order_by(jobs.c.cache_time.desc()).limit(1)

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

    def transition(
        self, job_id: str, new: JobStatus, *, max_queued: int = 0, **fields: Any
    ) -> bool:
        """Move a job to ``new`` if the transition table allows it from its current
        status; set ``fields`` with it. False if the job was in a status that forbids it.
        A change made is published: a ``job_events`` row in the same transaction, for every
        process sharing the database, and the listeners of this one. A job queued again
        (``new`` accepted) is refused with TooManyJobs when its workspace has ``max_queued``
        accepted jobs already (0: no limit)."""
        allowed_from = [old.value for old, targets in TRANSITIONS.items() if new in targets]
        where = [jobs.c.status.in_(allowed_from)]
        if new is JobStatus.ACCEPTED and max_queued:
            return self._change(
                job_id, new, where, fields, queue_limit=max_queued, queue_from=allowed_from
            )
        return self._change(job_id, new, where, fields)

    def claim(
        self,
        job_id: str,
        runner: str,
        lease_until: datetime,
        *,
        max_running: int = 0,
        **fields: Any,
    ) -> bool:
        """Take an accepted job to run it: running, held by ``runner`` until ``lease_until``
        (renewed while it runs), one more attempt counted. With ``max_running`` (0: no
        limit), only while its workspace runs fewer jobs, counted by the update itself under
        the workspace's lock; a job refused so stays accepted, marked WAITING in the same
        transaction, to be queued again when a job of its workspace ends."""
        attempts = func.coalesce(jobs.c.attempts, 0) + 1
        values = {"runner": runner, "lease_until": lease_until, "attempts": attempts, **fields}
        where = [jobs.c.status == JobStatus.ACCEPTED.value]
        return self._change(job_id, JobStatus.RUNNING, where, values, run_limit=max_running)

    def renew(self, runner: str, job_ids: Iterable[str], lease_until: datetime) -> None:
        """Extend ``runner``'s hold on the jobs it is running."""
        ids = list(job_ids)
        if not ids:
            return
        with self.engine.begin() as conn:
            conn.execute(
                jobs.update()
                .where(
                    jobs.c.id.in_(ids),
                    jobs.c.runner == runner,
                    jobs.c.status == JobStatus.RUNNING.value,
                )
                .values(lease_until=lease_until)
            )

    def lost(self, now: datetime) -> list[Job]:
        """Running jobs whose runner's lease ran out before ``now``: whatever ran them died."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(jobs)
                .where(jobs.c.status == JobStatus.RUNNING.value, jobs.c.lease_until < now)
                .order_by(jobs.c.created, jobs.c.id)
            ).mappings()
            return [_job(r) for r in rows]

    def take_back(
        self,
        job_id: str,
        new: JobStatus,
        *,
        expired_before: datetime | None = None,
        runner: str | None = None,
        **fields: Any,
    ) -> bool:
        """Move a running job whose runner is gone to ``new`` (accepted: to run it again;
        failed): only while it still runs under a lease that expired before
        ``expired_before``, or, at a restart, under ``runner``'s name (or none)."""
        where = [jobs.c.status == JobStatus.RUNNING.value]
        if expired_before is not None:
            where.append(jobs.c.lease_until < expired_before)
        if runner is not None:
            where.append(or_(jobs.c.runner == runner, jobs.c.runner.is_(None)))
        values = {"runner": None, "lease_until": None, **fields}
        return self._change(job_id, new, where, values)

    def events_after(self, after: int, limit: int = 1000) -> list[tuple[int, str, JobStatus]]:
        """Status changes published after event ``after``, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(job_events.c.id, job_events.c.job_id, job_events.c.status)
                .where(job_events.c.id > after)
                .order_by(job_events.c.id)
                .limit(limit)
            )
            return [(row.id, row.job_id, JobStatus(row.status)) for row in rows]

    def last_event(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.coalesce(func.max(job_events.c.id), 0))).scalar_one()

    def prune_events(self, before: datetime) -> None:
        """Forget events older than ``before``; every listener has read them long since.
        The newest is kept, so ids never go back (SQLite reuses the largest rowid + 1)."""
        newest = self.last_event()
        with self.engine.begin() as conn:
            conn.execute(
                job_events.delete().where(job_events.c.time < before, job_events.c.id < newest)
            )

    def _change(
        self,
        job_id: str,
        new: JobStatus,
        where: list[Any],
        fields: dict[str, Any],
        *,
        run_limit: int = 0,
        queue_limit: int = 0,
        queue_from: Iterable[str] = (),
    ) -> bool:
        now = utcnow()
        values = {"status": new.value, "updated": now, **fields}
        with self.engine.begin() as conn:
            # A change that may free or take a running or queued slot of the workspace is
            # made under its lock: a claim refused for want of a slot has marked its job
            # WAITING before the end of a running job is committed and heard.
            workspace = self._workspace_of(conn, job_id)
            if workspace is None:
                return False
            self._lock_workspace(conn, workspace)
            where = [jobs.c.id == job_id, *where]
            if run_limit:
                where.append(self._count(workspace, JobStatus.RUNNING) < run_limit)
            if queue_limit:
                where.append(self._count(workspace, JobStatus.ACCEPTED) < queue_limit)
            result = conn.execute(jobs.update().where(*where).values(**values))
            if result.rowcount != 1:
                if run_limit:
                    conn.execute(
                        jobs.update()
                        .where(jobs.c.id == job_id, jobs.c.status == JobStatus.ACCEPTED.value)
                        .values(message=WAITING, updated=now)
                    )
                elif queue_limit:
                    status = conn.execute(
                        select(jobs.c.status).where(jobs.c.id == job_id)
                    ).scalar()
                    if status in queue_from:  # its status allowed it: the queue is full
                        raise TooManyJobs(workspace, queue_limit)
                return False
            event = conn.execute(
                job_events.insert().values(job_id=job_id, status=new.value, time=now)
            ).inserted_primary_key[0]
        for listener in list(self.listeners):
            try:
                listener(event, job_id, new)
            except Exception:
                log.exception("job %s: a listener of its status change failed", job_id)
        return True

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
        "lease_until": job.lease_until,
        "attempts": job.attempts,
        "cache_key": job.cache_key,
        "cache_time": job.cache_time,
        "reused_from": job.reused_from,
        "provenance": job.provenance,
    }


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
        lease_until=aware(row["lease_until"]),
        attempts=row["attempts"],
        cache_key=row["cache_key"],
        cache_time=aware(row["cache_time"]),
        reused_from=row["reused_from"],
        provenance=row["provenance"],
    )
