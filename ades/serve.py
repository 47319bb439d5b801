"""What `ades serve` runs. With one worker (ADES_WORKERS=1): the server in this process.
With more: this process binds the port, migrates the database and starts the embedded S3,
each once, then starts ADES_WORKERS worker processes that share the listening socket. Each
worker is a full server, a replica like another machine's: it runs the jobs it accepts
(so a synchronous execute hears its job's end at once), under a runner id of its own kept
across restarts, and the database's claims and leases keep the workers from running a job
twice. A worker that dies is started again (and takes back at once the jobs it left
running); SIGTERM or SIGINT stops the workers, then the S3."""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import sys
import traceback
from dataclasses import replace
from multiprocessing.connection import wait
from typing import Any

import uvicorn
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from ades.app import create_app
from ades.auth.authenticators import check_auth, check_bind
from ades.db.migrate import prepare_database
from ades.db.schema import make_engine
from ades.errors import DatabaseNotCurrent
from ades.objectstore.seaweedfs import EmbeddedSeaweedFS
from ades.services import check_executor, server_id
from ades.settings import Settings
from ades.workspaces import Workspaces

log = logging.getLogger(__name__)

# Seconds a worker has to finish its requests after SIGTERM before it is killed.
STOP_GRACE = 30.0


def serve(settings: Settings) -> None:
    check_bind(settings)
    if settings.workers < 1:
        raise ValueError(f"ADES_WORKERS={settings.workers}: `ades serve` needs at least 1 worker")
    if settings.workers == 1:
        server = create_app(settings)
        names = server.services.workspaces.names()
        print(banner(settings, names, server.services.objects.endpoint), flush=True)
        try:
            uvicorn.run(server.app, host=settings.host, port=settings.port, log_level="info")
        finally:
            server.close()
        return
    Supervisor(settings).run()


def jobs_of_worker(max_jobs: int, workers: int, index: int) -> int:
    """Worker ``index``'s share of ``max_jobs`` slots: split evenly, at least one each."""
    return max(1, max_jobs // workers + (1 if index < max_jobs % workers else 0))


class Supervisor:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.context = multiprocessing.get_context("spawn")
        self.reports = self.context.SimpleQueue()
        self.workers: dict[int, Any] = {}
        self.ready: set[int] = set()
        self.stopping = False

    def run(self) -> None:
        settings = self.settings
        # What a worker would refuse to start with stops the start here, before anything.
        check_executor(settings)
        check_auth(settings)
        Workspaces(settings.workspaces)  # a missing folder or a wrong settings.yaml
        # Once, before any worker: workers starting together must not each migrate the
        # database, nor each start an S3 on the same data dir.
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.database)
        try:
            prepare_database(engine)
        finally:
            engine.dispose()
        embedded = None
        if not settings.s3_endpoint:
            embedded = EmbeddedSeaweedFS(
                settings.data_dir / "s3", settings.s3_access_key, settings.s3_secret_key
            )
            embedded.start()
        try:
            self.endpoint = embedded.endpoint if embedded else None
            self.server_id = server_id(settings.data_dir)
            config = uvicorn.Config("ades.app:unused", host=settings.host, port=settings.port)
            self.socket = config.bind_socket()
            previous = {
                sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)
            }
            try:
                self._supervise()
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
                self._stop_workers()
                self.socket.close()
        finally:
            if embedded is not None:
                embedded.stop()

    def _stop(self, _signum: int, _frame: Any) -> None:
        self.stopping = True

    def _start(self, index: int) -> None:
        process = self.context.Process(
            target=_worker,
            args=(self.settings, index, self._runner_id(index), self.endpoint, self.socket,
                  self.reports),
            name=f"ades-serve-{index}",
        )  # fmt: skip
        process.start()
        self.workers[index] = process

    def _runner_id(self, index: int) -> str:
        # Worker 0 has the id a single-process server has, so either takes back the other's
        # jobs at once after a restart; each other worker keeps its own across restarts.
        return self.server_id if index == 0 else f"{self.server_id}-{index}"

    def _supervise(self) -> None:
        for index in range(self.settings.workers):
            self._start(index)
        announced = False
        while not self.stopping:
            sentinels = [p.sentinel for p in self.workers.values()]
            # A worker's end or report wakes the loop (SimpleQueue reads from this pipe).
            wait([*sentinels, self.reports._reader], timeout=0.5)
            while not self.reports.empty():
                index, failure = self.reports.get()
                if failure is not None:
                    raise SystemExit(f"ades: {failure}")
                self.ready.add(index)
            # Once one worker serves, the server answers (the others take their share of
            # the socket as they come up): say where to go then, not after the slowest.
            if not announced and self.ready:
                names = Workspaces(self.settings.workspaces).names()
                endpoint = self.endpoint or self.settings.s3_endpoint
                print(banner(self.settings, names, endpoint), flush=True)
                announced = True
            for index, process in list(self.workers.items()):
                if process.is_alive() or self.stopping:
                    continue
                if index not in self.ready:
                    raise SystemExit(
                        f"ades: worker {index} exited ({process.exitcode}) while starting"
                    )
                log.warning("worker %d exited (%s); starting it again", index, process.exitcode)
                self.ready.discard(index)
                self._start(index)

    def _stop_workers(self) -> None:
        for process in self.workers.values():
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
        for process in self.workers.values():
            process.join(STOP_GRACE)
            if process.is_alive():
                log.warning("worker %s did not stop in %g s; killing it", process.pid, STOP_GRACE)
                process.kill()
                process.join()


_PR_SET_PDEATHSIG = 1


def _worker(
    settings: Settings,
    index: int,
    runner_id: str,
    embedded_s3_endpoint: str | None,
    sock: socket.socket,
    reports: Any,
) -> None:
    """One worker process: builds its server, says so (or why not), serves until told."""
    try:  # the kernel sends SIGTERM should the parent die, however it dies
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    mine = replace(settings, max_jobs=jobs_of_worker(settings.max_jobs, settings.workers, index))
    try:
        server = create_app(mine, runner_id=runner_id, embedded_s3_endpoint=embedded_s3_endpoint)
    except BaseException as err:
        reports.put((index, _startup_failure(err, settings)))
        sys.exit(1)
    reports.put((index, None))
    try:
        config = uvicorn.Config(server.app, host=settings.host, port=settings.port,
                                log_level="info")
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        server.close()


def startup_failure(err: BaseException, database: str) -> str | None:
    """What stopped a start, in one line for the operator, when it is something they can
    mend (a setting, a missing folder, a database behind or not answering); None else."""
    if isinstance(err, (DatabaseNotCurrent, ValueError, FileNotFoundError)):
        # ValueError: a setting the server cannot work with, raised before anything started;
        # FileNotFoundError: a workspaces folder that is not there.
        return str(err)
    if isinstance(err, OperationalError):
        where = make_url(database).render_as_string(hide_password=True)
        return f"cannot use the database {where}: {str(err.orig).strip()}"
    return None


def _startup_failure(err: BaseException, settings: Settings) -> str:
    """What stopped a worker's start, in the words `ades serve` uses in one process."""
    line = startup_failure(err, settings.database)
    return line if line is not None else "".join(traceback.format_exception(err)).strip()


def banner(settings: Settings, workspaces: list[str], s3_endpoint: str) -> str:
    """What `ades serve` prints at start: where to go. The credentials of the S3 only when
    it is the embedded one, which the server made with them; an external S3's secret is
    its operator's, and a terminal or a log is no place for it."""
    base = f"http://{settings.host}:{settings.port}"
    lines = [f"ADES serving workspaces {', '.join(workspaces)} (list: {base}/)"]
    lines += [f"  {base}/{ws}/ogc-api/   {base}/{ws}/wps3/" for ws in workspaces]
    lines.append(f"  API docs: {base}/ui/")
    auth = {
        "none": "none (anyone who reaches the port)",
        "token": "API tokens (ades token create --workspace W)",
        "oidc": f"OpenID Connect access tokens of {settings.oidc_issuer}",
    }
    lines.append(f"  Authentication: {auth.get(settings.auth_mode, settings.auth_mode)}")
    if settings.s3_endpoint:
        lines.append(f"  S3: {s3_endpoint} bucket={settings.s3_bucket}")
    else:
        lines.append(
            f"  S3 (embedded): {s3_endpoint} bucket={settings.s3_bucket} "
            f"access_key={settings.s3_access_key} secret_key={settings.s3_secret_key}"
        )
    lines.append(f"  Workers: {settings.workers} (ADES_WORKERS)")
    return "\n".join(lines)
