"""A live server for the API tests: uvicorn on a free port of 127.0.0.1, the embedded
SeaweedFS of the session, and the demo, lab, strict, quota, cache and private workspaces.
``ADES_TEST_MODE`` says where its jobs live and run: ``embedded`` (the default: SQLite and
the local pool) or ``distributed`` (a PostgreSQL database made for the session, Celery on
Redis, and two `ades worker` processes)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn

from ades.app import Server, create_app
from ades.settings import Settings

REPO = Path(__file__).resolve().parents[2]
LAB = Path(__file__).resolve().parent / "data" / "lab"
# A workspace whose settings.yaml makes Best Practice violations deploy errors.
STRICT = Path(__file__).resolve().parent / "data" / "strict"
# A workspace whose settings.yaml sets job quotas (max_running 1, max_queued 2).
QUOTA = Path(__file__).resolve().parent / "data" / "quota"
# The workspace of the result cache tests: the cache is on there, off elsewhere.
CACHE = Path(__file__).resolve().parent / "data" / "cache"
# A workspace whose settings.yaml opts out of provenance (on everywhere else).
PRIVATE = Path(__file__).resolve().parent / "data" / "private"


@dataclass
class Live:
    base: str
    server: Server
    http: requests.Session

    def url(self, path: str) -> str:
        return self.base + path

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.url(path), **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.http.post(self.url(path), **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.http.put(self.url(path), **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.http.delete(self.url(path), **kw)

    def wait_for(self, job_url: str, statuses: set[str], deadline: float = 120) -> dict:
        """Poll a job's status document until its status is one of ``statuses``."""
        return poll(lambda: self.http.get(job_url).json(), lambda d: d["status"] in statuses,
                    deadline)


def poll(read: Callable[[], Any], done: Callable[[Any], bool], deadline: float = 120) -> Any:
    end = time.monotonic() + deadline
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting after {deadline}s; last value: {value!r}")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_settings(root: Path, seaweedfs, bucket: str = "ades-api-tests") -> Settings:
    """Settings of a test server in ``root``: the demo, lab, strict, quota, cache and
    private workspaces."""
    workspaces = root / "workspaces"
    if not workspaces.exists():
        workspaces.mkdir(parents=True)
        (workspaces / "demo").symlink_to(REPO / "workspaces" / "demo")
        (workspaces / "lab").symlink_to(LAB)
        (workspaces / "strict").symlink_to(STRICT)
        (workspaces / "quota").symlink_to(QUOTA)
        (workspaces / "cache").symlink_to(CACHE)
        (workspaces / "private").symlink_to(PRIVATE)
    return Settings(
        data_dir=root / "data",
        workspaces=workspaces,
        s3_endpoint=seaweedfs.endpoint,
        s3_access_key=seaweedfs.access_key,
        s3_secret_key=seaweedfs.secret_key,
        s3_bucket=bucket,
        max_jobs=2,
        sync_timeout=60,
        # Jobs run every time, as the tests expect, but in the workspace of the result
        # cache tests, whose settings.yaml turns it on.
        cache=False,
    )


@contextmanager
def serve(settings: Settings) -> Iterator[Live]:
    """A server for ``settings`` on a free port, stopped (and its app closed) on exit."""
    server = create_app(settings)
    port = free_port()
    config = uvicorn.Config(server.app, host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    poll(lambda: uv.started, bool, deadline=30)
    try:
        yield Live(f"http://127.0.0.1:{port}", server, requests.Session())
    finally:
        uv.should_exit = True
        thread.join(timeout=30)
        server.close()


MODES = ("embedded", "distributed")


@pytest.fixture(scope="session")
def live(seaweedfs, tmp_path_factory) -> Iterator[Live]:
    mode = os.environ.get("ADES_TEST_MODE") or "embedded"
    if mode not in MODES:
        raise pytest.UsageError(f"ADES_TEST_MODE={mode!r}: expected one of {', '.join(MODES)}")
    root = tmp_path_factory.mktemp("server")
    settings = server_settings(root, seaweedfs)
    if mode == "distributed":
        from tests.distributed import distributed_live  # it imports this module

        with distributed_live(settings, root) as server:
            yield server
        return
    with serve(settings) as server:
        yield server


@contextmanager
def make_run(seaweedfs, folder: Path) -> Iterator[Live]:
    """A server as ``make run`` starts it (``ades serve --workspaces workspaces``), from
    ``folder`` holding links to the repository's ``workspaces`` and ``examples``: every other
    setting at its default (the relative ``./.ades`` data dir, bucket ``ades``) but for the
    session's S3, streamed downloads as with the embedded S3, and a free port. The working
    directory stays ``folder`` while it serves."""
    for name in ("workspaces", "examples"):
        if not (folder / name).exists():
            (folder / name).symlink_to(REPO / name)
    with contextlib.chdir(folder):
        settings = Settings.from_env(
            {},
            workspaces=Path("workspaces"),
            s3_endpoint=seaweedfs.endpoint,
            s3_access_key=seaweedfs.access_key,
            s3_secret_key=seaweedfs.secret_key,
            result_downloads="stream",
        )
        with serve(settings) as live:
            yield live


@dataclass
class Secured:
    """A server with ADES_AUTH=token: ``tokens`` holds an API token of each of its
    workspaces (demo, lab, strict, quota), ``admin`` the admin token; ``as_`` makes a session that
    sends one."""

    live: Live
    tokens: dict[str, str]
    admin: str

    def as_(self, token: str | None) -> Live:
        http = requests.Session()
        if token is not None:
            http.headers["Authorization"] = f"Bearer {token}"
        return Live(self.live.base, self.live.server, http)


ADMIN_TOKEN = "admin-token-of-the-tests"


@pytest.fixture(scope="session")
def secured(seaweedfs, tmp_path_factory) -> Iterator[Secured]:
    from ades.auth.tokens import TokenStore

    root = tmp_path_factory.mktemp("secured")
    settings = server_settings(root, seaweedfs, bucket="ades-secured-tests")
    settings = replace(settings, auth="token", admin_token=ADMIN_TOKEN, allow_uncontained=True)
    with serve(settings) as live:
        store = TokenStore(live.server.services.database)
        names = live.server.services.workspaces.names()
        tokens = {ws: store.create(ws, f"tests of {ws}")[1] for ws in names}
        yield Secured(live, tokens, ADMIN_TOKEN)
