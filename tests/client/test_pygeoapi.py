"""The client against a server that is not ours: pygeoapi 0.21 with its hello-world process
and the TinyDB job manager (so it runs jobs asynchronously too), installed once into
.venv/test-pygeoapi (bench/pygeoapi_server.py) and served by gunicorn on a free port. It
offers no event stream and no logs: ``watch`` polls its status document."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests

from bench.pygeoapi_server import (
    REPO,
    InstallFailed,
    configure,
    gunicorn,
    pygeoapi_venv,
    started,
)
from tests.api.conftest import free_port, poll

VENV = REPO / ".venv" / "test-pygeoapi"


@pytest.fixture(scope="session")
def pygeoapi(tmp_path_factory) -> Iterator[str]:
    try:
        bin_dir = pygeoapi_venv(VENV)
    except InstallFailed as err:
        pytest.skip(f"pip cannot install pygeoapi here: {err}")
    root = tmp_path_factory.mktemp("pygeoapi")
    port = free_port()
    env, _ = configure(bin_dir, root, port)
    base = f"http://127.0.0.1:{port}"
    command = gunicorn(bin_dir, port, workers=1)
    with started(command, root / "gunicorn.log", env={**os.environ, **env}) as process:

        def answers() -> bool:
            assert process.poll() is None, (root / "gunicorn.log").read_text()
            try:
                return requests.get(base + "/processes", timeout=5).status_code == 200
            except requests.ConnectionError:
                return False

        poll(answers, bool, deadline=60)
        yield base


def test_processes(ades, pygeoapi):
    ran = ades("processes", "--url", pygeoapi)
    assert ran.code == 0, ran.err
    assert ran.out.splitlines()[1].split()[:3] == ["hello-world", "0.2.0", "Hello"]
    assert [p["id"] for p in ades("processes", "--url", pygeoapi, "--json").json()[
        "processes"]] == ["hello-world"]


def test_describe(ades, pygeoapi):
    ran = ades("describe", "hello-world", "--url", pygeoapi)
    assert ran.code == 0, ran.err
    assert ran.out.startswith("hello-world: Hello World (version 0.2.0)")
    rows = {line.split()[0]: line for line in ran.out.splitlines() if line.startswith("  ")}
    assert rows["name"].split()[1] == "string"
    assert "optional" in rows["message"]


def test_execute_sync_prints_the_greeting(ades, pygeoapi):
    ran = ades("execute", "hello-world", "-i", "name=World", "--sync", "--url", pygeoapi)
    assert ran.code == 0, ran.err
    assert ran.out.splitlines()[1].split(None, 1) == ["echo", "Hello World!"]


def test_execute_async_status_watch_results_dismiss(ades, pygeoapi):
    ran = ades("execute", "hello-world", "-i", "name=async", "-i", "message=hi", "--url",
               pygeoapi)
    assert ran.code == 0, ran.err
    job_url = ran.out.strip()
    assert job_url.startswith(f"{pygeoapi}/jobs/")
    # pygeoapi runs it in a thread of the request: poll until it says it ended.
    poll(lambda: ades("status", job_url).code, lambda code: code != 4)
    ran = ades("status", job_url.rsplit("/", 1)[1], "--url", pygeoapi, "--json")
    assert ran.code == 0 and ran.json()["status"] == "successful"
    # No event stream there (a 404 on /events): watch polls, and there are no logs.
    ran = ades("watch", job_url)
    assert ran.code == 0, ran.err
    assert ran.out.splitlines() == ["[successful 100%  Job complete]",
                                    f"job {job_url.rsplit('/', 1)[1]} successful"]
    ran = ades("results", job_url, "--json")
    assert ran.code == 0, ran.err
    assert ran.json()["value"] == "Hello async! hi"
    ran = ades("dismiss", job_url)
    assert ran.code == 0, ran.err
    assert ran.out.split()[1] == "dismissed"
    ran = ades("status", job_url)
    assert ran.code == 5 and "404 from GET" in ran.err


def test_an_unknown_process_names_it(ades, pygeoapi):
    ran = ades("describe", "nope", "--url", pygeoapi)
    assert ran.code == 5
    assert ran.err.strip() == (f"ades: NoSuchProcess: Identifier not found "
                               f"(404 from GET {pygeoapi}/processes/nope)")
