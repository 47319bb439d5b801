"""The distributed deployment for tests: a PostgreSQL database created for the session, a
broker queue of its own on the machine's Redis or RabbitMQ (no cross-talk with other runs
on the same broker), and real `ades worker` subprocesses. A service that does not answer
skips the tests that need it, except on CI (``CI`` set), where it is a failure."""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from pathlib import Path

import psutil
import sqlalchemy
from kombu import Connection

from ades.execution.celery_executor import celery_app
from ades.settings import Settings
from tests.api.conftest import Live, free_port, poll, serve
from tests.db.conftest import (
    POSTGRES,
    _postgres_reachable,
    ready_engine,
    require_postgres,
    skip_or_fail,
)

BROKERS = {
    "redis": os.environ.get("ADES_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "rabbitmq": os.environ.get("ADES_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//"),
}


def answers(url: str, timeout: float = 2) -> bool:
    """Whether a broker answers at ``url``."""
    try:
        with Connection(url, connect_timeout=timeout) as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
        return True
    except Exception:
        return False


broker_reachable = functools.cache(answers)


def postgres_reachable() -> bool:
    return _postgres_reachable()


def require_broker(url: str) -> None:
    """Skip the calling test where the broker does not answer; fail it under CI."""
    if not broker_reachable(url):
        skip_or_fail(
            f"no broker answers at {url} (set ADES_TEST_REDIS_URL / ADES_TEST_RABBITMQ_URL)"
        )


@contextmanager
def postgres_database() -> Iterator[str]:
    """The URL of a PostgreSQL database made for the caller, at the current schema, dropped
    afterwards."""
    require_postgres()
    name = f"ades_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = sqlalchemy.make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    try:
        # Migrated as `ades db upgrade` would: servers and workers refuse a database behind.
        ready_engine(url).dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@contextmanager
def broker_queue(broker: str) -> Iterator[str]:
    """A queue name of the caller's own on ``broker``, deleted (with its messages) after."""
    require_broker(broker)
    name = f"ades-test-{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        app = celery_app(Settings(broker_url=broker, broker_queue=name))
        try:
            with app.connection_for_write() as connection:
                channel = connection.default_channel
                channel.queue_delete(name)
                channel.exchange_delete(name)
        except Exception:  # never declared, or the broker is gone: nothing to clean
            pass
        app.close()


def as_env(settings: Settings) -> dict[str, str]:
    """``settings`` as the ADES_* variables that make the same Settings in a subprocess."""
    return {f"ADES_{f.name.upper()}": str(getattr(settings, f.name)) for f in fields(settings)}


@dataclass
class Worker:
    """One `ades worker` subprocess and its output file."""

    settings: Settings
    concurrency: int
    log: Path
    process: subprocess.Popen | None = None

    def start(self) -> Worker:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ADES_")}
        env.update(as_env(self.settings))
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ades.cli", "worker", f"--concurrency={self.concurrency}"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_ready(self, deadline: float = 90) -> Worker:
        """Once Celery says the worker consumes (its ``ready.`` line)."""

        def ready() -> bool:
            assert self.process is not None and self.process.poll() is None, (
                f"ades worker exited: {self.output()}"
            )
            return "ready." in self.output()

        poll(ready, bool, deadline)
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def kill(self) -> None:
        """SIGKILL: the worker dies at once, with no chance to clean up."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """SIGQUIT (Celery's cold shutdown), then SIGKILL if a job still runs (a thread is
        not stopped): nothing waits for the jobs at the end of a test, and cwltool's
        watchdog takes the tools down with the worker."""
        if self.process is None or self.process.poll() is not None:
            return
        # Every thread's stack into the worker's log first: what a stuck job waits on.
        self.process.send_signal(signal.SIGUSR1)
        self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)


@contextmanager
def workers(settings: Settings, root: Path, count: int = 2, concurrency: int = 2,
            shared_data_dir: bool = False) -> Iterator[list[Worker]]:
    """``count`` workers for ``settings``, started and ready; stopped on exit. Each has a
    data dir of its own under ``root`` (as on machines of their own), or, with
    ``shared_data_dir``, the one of ``settings`` (a job's working dir is then where the
    tests of the embedded server look for it)."""
    started = [
        Worker(settings if shared_data_dir else replace(settings, data_dir=root / f"worker-{i}"),
               concurrency, root / f"worker-{i}.log").start()
        for i in range(count)
    ]
    try:
        for worker in started:
            worker.wait_ready()
        yield started
    finally:
        for worker in started:
            worker.stop()


def distributed_settings(settings: Settings, database: str, broker: str, queue: str,
                         **changes: object) -> Settings:
    """``settings`` moved onto PostgreSQL and Celery. Workers are never the embedded
    default: the tests' listeners (127.0.0.1) and buckets are allowed by name."""
    fetching: dict[str, object] = {"fetch_allow": "127.0.0.0/8", "s3_read_any": True}
    return replace(settings, database_url=database, executor="celery", broker_url=broker,
                   broker_queue=queue, **{**fetching, **changes})


@dataclass
class PrivateRedis:
    """A redis-server of the caller's own on a free port, to be stopped and started again
    (the machine's Redis cannot be restarted by a test). It persists its data (append-only
    file, written at every command) like a broker in production must."""

    folder: Path
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.port = self.port or free_port()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        poll(lambda: answers(self.url, timeout=1), bool, deadline=30)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def require_redis_server() -> None:
    if shutil.which("redis-server") is None:
        skip_or_fail("no redis-server binary on PATH")


@contextmanager
def distributed_live(settings: Settings, root: Path, broker: str = "redis") -> Iterator[Live]:
    """The API suite's server in distributed mode: ``settings`` on a PostgreSQL database of
    the session and Celery on ``broker``, its jobs run by two `ades worker` processes of
    one slot each: as many jobs at once as the embedded server's ``max_jobs``, which tests
    count on. They share the server's data dir, where tests look at a job's working dir."""
    assert settings.max_jobs == 2, "two workers of one slot stand for max_jobs=2"
    url = BROKERS[broker]
    with postgres_database() as database, broker_queue(url) as queue:
        settings = distributed_settings(settings, database, url, queue)
        with (
            serve(settings) as live,
            workers(settings, root, count=2, concurrency=1, shared_data_dir=True),
        ):
            yield live
