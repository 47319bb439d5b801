"""Jobs run by Celery workers: the Celery app built from the settings, the task that runs
one job in an ``ades worker`` process, and the Executor that queues jobs on the broker.

The broker carries nothing but job ids. Every state lives in the database: a worker claims
the job there (ACCEPTED to RUNNING, with its id and a lease), so a message delivered twice,
or for a job dismissed meanwhile, finds nothing to claim and is dropped. No result backend
is needed for the same reason.

Per-workspace fairness is a message priority: a job is queued with a priority that falls
with the number of jobs its workspace has queued or running already, so a job of a quiet
workspace overtakes the backlog of a busy one, and the workers never idle while any job
waits (see "Scaling out with Celery workers" in the README for the alternatives weighed).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from celery import Celery, Task
from kombu import Exchange, Queue
from sqlalchemy.exc import OperationalError

from ades.jobs.executor import Executor
from ades.model import JobQuery, JobStatus
from ades.settings import Settings

if TYPE_CHECKING:
    from ades.db.jobs import JobStore
    from ades.services import Services

log = logging.getLogger(__name__)

TASK = "ades.run_job"
# Priority levels 0 (most urgent) to LEVELS - 1. Redis has one list per level, RabbitMQ
# one priority queue with LEVELS priorities: few levels are cheap on both.
LEVELS = 10
# Seconds before the broker hands a message delivered but not acknowledged to another
# worker (Redis only: RabbitMQ gives it back as soon as the worker's connection drops).
# Messages are acknowledged when their job ends (acks_late), so a job running longer
# than this is delivered again: the copy finds the job claimed and is dropped. A worker
# lost with a running job is found by the job's lease instead, within ADES_JOB_LEASE.
# What only this timeout recovers is a message a worker had taken but not yet started
# when it died; an hour, Celery's own default, keeps the duplicates of long jobs rare.
VISIBILITY_TIMEOUT = 3600
# Seconds between tries of a job whose database could not be reached.
RETRY_AFTER = 5

# The services of this `ades worker` process, set by consume_jobs before the worker starts.
_services: Services | None = None


def check_broker_url(url: str) -> None:
    """Raises ValueError naming the setting when ``url`` is missing or not Redis or
    RabbitMQ."""
    if not url.startswith(("redis://", "rediss://", "amqp://", "amqps://", "pyamqp://")):
        raise ValueError(
            f"ADES_BROKER_URL={url!r}: ADES_EXECUTOR=celery needs a Redis (redis://…) or "
            "RabbitMQ (amqp://…) broker URL"
        )


def celery_app(settings: Settings) -> Celery:
    """A Celery app on ``settings.broker_url``, its one queue named ``settings.broker_queue``
    (ValueError for a broker URL that is none)."""
    url = settings.broker_url
    check_broker_url(url)
    name = settings.broker_queue
    redis = url.startswith(("redis://", "rediss://"))
    app = Celery("ades", broker=url, set_as_current=False)
    app.conf.update(
        # The database holds every state: no result backend, no stored results.
        task_ignore_result=True,
        # A message is acknowledged once its job has ended: a worker that dies first leaves
        # it to another (and a pool child lost mid-task has its message given back).
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A worker takes one message per free slot: jobs are long, and a message held by a
        # busy worker is a job another worker could be running.
        worker_prefetch_multiplier=1,
        # Redis: without it a worker whose threads are all busy still pops one more message
        # off the list and holds it until a thread frees, while another worker idles (the
        # AMQP broker itself stops at the prefetch count of unacknowledged messages).
        worker_disable_prefetch=redis,
        task_default_queue=name,
        task_default_exchange=name,
        task_default_routing_key=name,
        task_queues=[
            Queue(
                name,
                Exchange(name, type="direct"),
                routing_key=name,
                # RabbitMQ: a priority queue (higher is sooner there); ignored by Redis.
                queue_arguments={"x-max-priority": LEVELS - 1},
            )
        ],
        broker_transport_options={
            "visibility_timeout": VISIBILITY_TIMEOUT,
            # Redis: one list per level, read lowest (most urgent) first.
            "priority_steps": list(range(LEVELS)),
            "sep": ":",
            "queue_order_strategy": "priority",
        },
        broker_connection_retry_on_startup=True,
        # Nothing here uses Celery's remote control or events: workers of several
        # deployments (or test sessions) on one broker must not talk across queues.
        worker_enable_remote_control=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        # A job that outlives the broker connection keeps running: its lease, not the
        # message, says it is alive.
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )
    app.task(name=TASK, bind=True, acks_late=True, reject_on_worker_lost=True)(_run_job)
    return app


def _run_job(task: Task, job_id: str) -> None:
    """Run one job to its end in this worker. A job not claimable (dismissed, already
    running under a live lease, ended) is left alone by ``job_run``."""
    if _services is None:
        raise RuntimeError("the ades.run_job task runs only in `ades worker`")
    job_run = _services.job_run
    try:
        if job_run.runs(job_id):
            if _services.store.get_by_id(job_id).status is JobStatus.ACCEPTED:
                # Started again while its stopped run winds down here: after that run.
                raise task.retry(countdown=RETRY_AFTER, max_retries=None)
            return  # a second delivery of the job running here
        job_run(job_id)
    except OperationalError as err:
        # The database is unreachable: the job is still queued there; try again later.
        log.warning("job %s: database unreachable (%s); retrying", job_id, err)
        raise task.retry(countdown=RETRY_AFTER, max_retries=None) from err


class CeleryExecutor(Executor):
    """Queues jobs on the broker for `ades worker` processes; runs none itself."""

    def __init__(self, app: Celery, store: JobStore, queue: str):
        self.app = app
        self.store = store
        self.queue = queue
        self._redis = app.conf.broker_url.startswith(("redis://", "rediss://"))

    def submit(self, job_id: str) -> None:
        level = self.level(job_id)
        # Redis reads its lists lowest first; RabbitMQ delivers the highest priority first.
        priority = level if self._redis else LEVELS - 1 - level
        self.app.send_task(TASK, args=[job_id], queue=self.queue, priority=priority)

    def level(self, job_id: str) -> int:
        """0 (sooner) to LEVELS - 1: the number of other jobs its workspace has queued or
        running, capped."""
        job = self.store.get_by_id(job_id)
        query = JobQuery(statuses=(JobStatus.ACCEPTED, JobStatus.RUNNING))
        _, active = self.store.list(job.workspace, limit=1, offset=0, query=query)
        return max(0, min(active - 1, LEVELS - 1))

    def cancel(self, job_id: str) -> bool:
        # Nothing runs here. A queued message finds its job dismissed and is dropped (a
        # revoke would need Celery's remote control, and revoked ids live only in the
        # memory of the workers up now); a running job's worker sees the dismissal in
        # the database and kills the tool.
        return False

    def shutdown(self) -> None:
        self.app.close()

    def unready_reason(self) -> str | None:
        """None when the broker answers, else why not (for /readyz)."""
        try:
            with self.app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=2)
        except Exception as err:
            return f"broker: {str(err).splitlines()[0] if str(err) else type(err).__name__}"
        return None


def consume_jobs(services: Services, concurrency: int, loglevel: str = "INFO") -> None:
    """Consume jobs until told to stop: a Celery worker with a pool of ``concurrency``
    threads in this process, sharing ``services`` (one database pool, one S3 client, one
    events poller, reaper and lease heartbeat). Threads, not prefork: the tool runs in a
    process group of its own under cwltool, so a worker thread only waits on it, and a
    kill of the worker reaches the tools through cwltool's watchdog of its parent."""
    global _services
    settings = services.settings
    app = celery_app(settings)
    _services = services
    argv: list[Any] = [
        "worker",
        f"--concurrency={concurrency}",
        "--pool=threads",
        f"--queues={settings.broker_queue}",
        f"--loglevel={loglevel}",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        f"--hostname=ades-worker-{os.getpid()}@%h",
    ]
    try:
        app.worker_main(argv)
    finally:
        _services = None
