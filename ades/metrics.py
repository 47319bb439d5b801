"""Prometheus metrics of the server, in the text exposition format of prometheus-client.

Two kinds, kept apart on purpose:

- Numbers read from the database when scraped (jobs by workspace and status, the queue
  depth): every replica and worker shares one database, so these are true for the whole
  deployment whichever replica is asked, and survive restarts. ``exposition(counts)`` adds
  them to a scrape from the job store's one GROUP BY query.
- Events counted in the process where they happen (a job's duration when it ends, bytes
  staged in and out, jobs that reused an earlier job's results): ``observe_job_end(job)``,
  ``record_stage_bytes(direction, n)`` and ``record_cache_hit(workspace)``.
  With the local executor that is ``ades serve`` itself; with Celery it is each
  ``ades worker``, which serves its own counters with ``start_worker_metrics(port)``
  (``ADES_METRICS_PORT``), since an API replica never sees them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Literal
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ades.model import Job, JobStatus

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Jobs last from a second (echo) to hours (a workflow over many scenes).
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 43200, 86400)

JOB_DURATION = Histogram(
    "ades_job_duration_seconds",
    "Seconds from a job's start to its end, observed when it ends, by workspace and status.",
    ["workspace", "status"],
    buckets=DURATION_BUCKETS,
)
STAGE_BYTES = Counter(
    "ades_stage_bytes",
    "Bytes staged in (inputs downloaded) and out (results uploaded) by this process.",
    ["direction"],
)

CACHE_HITS = Counter(
    "ades_cache_hits",
    "Jobs that reused an identical earlier job's results instead of running, by workspace.",
    ["workspace"],
)

Direction = Literal["in", "out"]
# (workspace, status) -> number of jobs, as JobStore.count_by_workspace_and_status gives it.
JobCounts = Mapping[tuple[str, str], int]


def observe_job_end(job: Job) -> None:
    """Record the duration of ``job``, which has just ended (successful, failed or dismissed).
    A job that never started (dismissed while queued) has no duration and is not counted.
    Pass the job as stored after its final transition: its status labels the observation."""
    if not job.status.finished:
        raise ValueError(f"job {job.id} has not ended: it is {job.status.value}")
    if job.started is None or job.finished is None:
        return
    seconds = max((job.finished - job.started).total_seconds(), 0.0)
    JOB_DURATION.labels(job.workspace, job.status.value).observe(seconds)


def record_stage_bytes(direction: Direction, n: int) -> None:
    """Add ``n`` bytes moved by stage-in (``"in"``) or stage-out (``"out"``)."""
    if direction not in ("in", "out"):
        raise ValueError(f"direction must be 'in' or 'out', not {direction!r}")
    if n > 0:
        STAGE_BYTES.labels(direction).inc(n)


def record_cache_hit(workspace: str) -> None:
    """Count a job of ``workspace`` that reused an earlier job's results (the result cache)."""
    CACHE_HITS.labels(workspace).inc()


class JobsCollector(Collector):
    """The database's job counts, read when Prometheus scrapes, as two gauges."""

    def __init__(self, counts: Callable[[], JobCounts]):
        self.counts = counts

    def collect(self) -> Iterable[GaugeMetricFamily]:
        counts = self.counts()
        jobs = GaugeMetricFamily(
            "ades_jobs",
            "Jobs in the database by workspace and status.",
            labels=["workspace", "status"],
        )
        # Every status of every workspace that has jobs, zeros included, so that a series
        # reads 0 rather than vanishing when its last job moves on.
        for workspace in sorted({w for w, _ in counts}):
            for status in JobStatus:
                jobs.add_metric([workspace, status.value], counts.get((workspace, status.value), 0))
        yield jobs
        queued = sum(n for (_, status), n in counts.items() if status == JobStatus.ACCEPTED.value)
        yield GaugeMetricFamily(
            "ades_queue_depth",
            "Jobs accepted and waiting for a runner, in all workspaces.",
            value=queued,
        )


def exposition(counts: Callable[[], JobCounts]) -> bytes:
    """One scrape of ``/metrics``: this process's metrics (and its platform collectors),
    then the job counts of the database."""
    database = CollectorRegistry(auto_describe=False)
    database.register(JobsCollector(counts))
    return generate_latest(REGISTRY) + generate_latest(database)


def start_worker_metrics(port: int, addr: str = "0.0.0.0") -> WSGIServer | None:
    """Serve this process's metrics at ``http://<addr>:<port>/metrics`` from a daemon
    thread (``ades worker``: its job durations and staged bytes), until the process ends or
    the returned server is shut down. Port 0 serves nothing (None)."""
    if not port:
        return None
    server, _thread = start_http_server(port, addr)
    return server
