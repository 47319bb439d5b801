"""build_services(settings): the server's parts wired together, without HTTP. ``ades serve``
puts the API in front of them (``ades.app``); ``ades worker`` runs jobs with them. The one
place where the ports meet their implementations, and where the runner and the executor are
chosen from the settings."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from ades import metrics
from ades.api.views import callback_document
from ades.auth.authenticators import Authenticator, check_auth, make_authenticator
from ades.db.jobs import JobStore, Listener
from ades.db.logs import LogStore
from ades.db.migrate import prepare_database
from ades.db.processes import ProcessStore
from ades.db.schema import make_engine
from ades.execution.job_run import JobRun
from ades.execution.local import LocalExecutor
from ades.execution.runner import CwlRunner
from ades.execution.runners import make_runner
from ades.fetching import FetchPolicy
from ades.jobs.callbacks import CallbackSender
from ades.jobs.events import JobEvents
from ades.jobs.executor import Executor
from ades.jobs.service import JobService
from ades.model import JobStatus
from ades.objectstore.s3 import S3ObjectStore
from ades.objectstore.seaweedfs import EmbeddedSeaweedFS
from ades.packages.registry import ProcessRegistry
from ades.packages.source import PackageReader
from ades.redact import install as install_redaction
from ades.settings import Settings
from ades.staging.downloads import DownloadLinks, LinkSigner
from ades.staging.stac_results import StacResults
from ades.staging.stage_in import StageIn
from ades.staging.workspace_data import upload_workspace_data
from ades.workspaces import WorkspacePolicy, Workspaces

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    workspaces: Workspaces
    processes: ProcessRegistry
    jobs: JobService
    objects: S3ObjectStore
    links: DownloadLinks
    stac_results: StacResults
    database: Engine
    store: JobStore
    logs: LogStore
    events: JobEvents
    runner: CwlRunner
    job_run: JobRun
    executor: Executor
    # Where deploy hrefs, stage-in hrefs and callbacks may lead.
    fetch_policy: FetchPolicy
    # What turns a bearer token into a principal; None with ADES_AUTH=none.
    authenticator: Authenticator | None = None
    # The S3 this process started, if it started one (no ADES_S3_ENDPOINT).
    embedded_s3: EmbeddedSeaweedFS | None = None
    # Readiness checks besides the database and S3 (the broker's, with Celery): each
    # returns None when its service answers, else the reason /readyz gives.
    readiness: list[Callable[[], str | None]] = field(default_factory=list)
    _closers: list[Callable[[], Any]] = field(default_factory=list)

    def close(self) -> None:
        for close in reversed(self._closers):
            try:
                close()
            except Exception:
                log.exception("error while shutting down")
        self._closers.clear()


def check_executor(settings: Settings) -> None:
    """ValueError, naming the setting, for an executor that cannot be made: checked before
    anything starts."""
    if settings.executor == "celery":
        from ades.execution.celery_executor import check_broker_url

        check_broker_url(settings.broker_url)
    elif settings.executor != "local":
        raise ValueError(
            f"ADES_EXECUTOR={settings.executor!r} is not an executor; expected local or celery"
        )


def make_executor(settings: Settings, job_run: JobRun, events: JobEvents) -> Executor:
    if settings.executor == "local":
        return LocalExecutor(job_run, settings.max_jobs, job_run.store, events)
    if settings.executor == "celery":
        # Imported here: the local executor needs no Celery.
        from ades.execution.celery_executor import CeleryExecutor, celery_app

        return CeleryExecutor(celery_app(settings), job_run.store, settings.broker_queue)
    raise ValueError(
        f"ADES_EXECUTOR={settings.executor!r} is not an executor; expected local or celery"
    )


def server_id(data_dir: Path) -> str:
    """This server's id, kept in its data dir so that it survives restarts: replicas
    (each with a data dir of its own) sharing one database tell their jobs apart."""
    path = data_dir / "server-id"
    if not path.exists():
        path.write_text(uuid.uuid4().hex)
    return path.read_text().strip()


def build_services(
    settings: Settings, runner_id: str | None = None, embedded_s3_endpoint: str | None = None
) -> Services:
    """Start what the settings ask for and wire it. ``runner_id`` names this process on
    the jobs it runs; by default the server id kept in the data dir, so that a restarted
    server takes back at once the jobs it left running. ``embedded_s3_endpoint``: the
    embedded S3 another process started for this one (the parent of `ades serve
    --workers`), used instead of starting one here."""
    check_executor(settings)
    check_auth(settings)
    # Before anything logs: no record of this process carries a secret of its settings.
    install_redaction(settings)
    # Where hrefs users give may lead: one policy for the deploy, stage-in and callbacks.
    # A wrong ADES_FETCH_ALLOW stops the start here.
    fetch_policy = FetchPolicy.from_settings(settings)
    # The folder and each settings.yaml are read before anything starts: a missing folder
    # or a wrong setting stops the start here.
    workspaces = Workspaces(
        settings.workspaces,
        WorkspacePolicy(
            max_running=settings.max_running,
            max_queued=settings.max_queued,
            cache=settings.cache,
        ),
    )
    engine = make_engine(settings.database)
    # First, so that a wrong runner stops the start before anything started. Calrissian
    # labels its pods with the job's workspace.
    runner = make_runner(
        settings,
        workspace_of=lambda job_id: JobStore(engine).get_by_id(job_id).workspace,
        fetch_policy=fetch_policy,
    )
    DownloadLinks.check(
        settings.s3_public_url,
        settings.presign_expires,
        settings.result_downloads,
        settings.auth_mode,
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    closers: list[Callable[[], Any]] = [engine.dispose]
    try:
        # A SQLite file is upgraded; a shared database behind this version stops the start
        # here, before anything is started.
        prepare_database(engine)
        return _build(
            settings, workspaces, runner, runner_id, engine, closers, fetch_policy,
            embedded_s3_endpoint,
        )
    except BaseException:
        for close in reversed(closers):
            close()
        raise


def _build(
    settings: Settings,
    workspaces: Workspaces,
    runner: CwlRunner,
    runner_id: str | None,
    engine: Engine,
    closers: list[Callable[[], Any]],
    fetch_policy: FetchPolicy,
    embedded_s3_endpoint: str | None,
) -> Services:
    endpoint = settings.s3_endpoint or embedded_s3_endpoint
    embedded = None
    if not endpoint:
        embedded = EmbeddedSeaweedFS(
            settings.data_dir / "s3", settings.s3_access_key, settings.s3_secret_key
        )
        embedded.start()
        closers.append(embedded.stop)
        endpoint = embedded.endpoint
    objects = S3ObjectStore(
        endpoint,
        settings.s3_access_key,
        settings.s3_secret_key,
        settings.s3_bucket,
        settings.s3_region,
    )
    objects.ensure_bucket()
    # Requests are taken only once objects can be written and read back (see wait_usable).
    objects.wait_usable()

    processes = ProcessRegistry(
        workspaces,
        ProcessStore(engine),
        PackageReader(objects, policy=fetch_policy),
        # Under Calrissian, containers run as Kubernetes pods whatever ADES_CONTAINER_ENGINE
        # says: a package that requires one is deployable.
        container_engine="kubernetes"
        if settings.cwl_runner == "calrissian"
        else settings.container_engine,
    )
    upload_workspace_data(settings.workspaces, workspaces.names(), objects)
    store = JobStore(engine)
    logs = LogStore(engine)
    events = JobEvents(store)
    closers.append(events.close)
    # Subscribers hear of a status change from the process that made it, once.
    callbacks = CallbackSender(
        store.get_by_id,
        callback_document,
        attempts=settings.callback_attempts,
        backoff=settings.callback_backoff,
        logs=logs,
        policy=fetch_policy,
    )
    store.listeners.append(lambda _event, job_id, _status: callbacks.job_changed(job_id))
    closers.append(callbacks.close)
    store.listeners.append(_observe_end(store))
    stage_in = StageIn(
        objects,
        settings.stage_in_concurrency,
        settings.stage_in_timeout,
        policy=fetch_policy,
        s3_read=lambda workspace: workspaces.policy(workspace).s3_read,
    )
    me = runner_id or server_id(settings.data_dir)
    job_run = JobRun(
        store,
        logs,
        processes,
        runner,
        objects,
        settings.data_dir / "jobs",
        stage_in,
        runner_id=me,
        lease=settings.job_lease,
        events=events,
        max_running=workspaces.max_running,
        cache_ttl=settings.cache_ttl,
        provenance=workspaces.provenance,
    )
    executor = make_executor(settings, job_run, events)
    closers.append(executor.shutdown)
    jobs = JobService(
        store,
        logs,
        processes,
        executor,
        objects,
        events,
        max_literal_bytes=settings.max_literal_bytes,
        policy=workspaces.policy,
    )
    # A job that ends frees a running slot: a job waiting on max_running takes it.
    store.listeners.append(jobs.job_changed)
    links = DownloadLinks(
        objects,
        settings.s3_public_url,
        settings.presign_expires,
        settings.streams_downloads,
        # With authentication on, the download route's links carry the server's signature.
        signer=LinkSigner(settings.s3_secret_key, settings.presign_expires)
        if settings.auth_mode != "none"
        else None,
    )
    # Jobs a previous run of this process left queued run now; ones it left running are
    # taken back. Then, every third of a lease, renew ours and take back the lost ones.
    jobs.recover(me)
    closers.append(_every(settings.job_lease / 3, job_run.renew_leases, jobs.reap))
    return Services(
        settings,
        workspaces,
        processes,
        jobs,
        objects,
        links,
        StacResults(objects, links),
        engine,
        store,
        logs,
        events,
        runner,
        job_run,
        executor,
        fetch_policy,
        make_authenticator(settings, engine),
        embedded,
        readiness=[executor.unready_reason],
        _closers=closers,
    )


def _observe_end(store: JobStore) -> Listener:
    """A listener timing each job that ends by a change this process made (so once)."""

    def listener(_event: int, job_id: str, status: JobStatus) -> None:
        if status.finished:
            job = store.get_by_id(job_id)
            if job.status.finished:  # not started again meanwhile
                metrics.observe_job_end(job)

    return listener


def _every(interval: float, *tasks: Callable[[], None]) -> Callable[[], None]:
    """Run ``tasks`` every ``interval`` seconds on a thread of their own; returns the stop."""
    stopped = threading.Event()

    def loop() -> None:
        while not stopped.wait(interval):
            for task in tasks:
                try:
                    task()
                except Exception:
                    log.exception("housekeeping task %s failed", task.__qualname__)

    thread = threading.Thread(target=loop, name="ades-housekeeping", daemon=True)
    thread.start()

    def stop() -> None:
        stopped.set()
        thread.join(timeout=5)

    return stop
