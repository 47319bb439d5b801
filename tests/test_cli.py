"""`ades serve` as a person starts it, through `make run`: it listens where PORT and HOST
say, starts without warnings, and prints the S3 secret only for the embedded S3."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from ades.cli import main
from tests.api.conftest import free_port, poll

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Started:
    base: str
    stdout: str = ""
    stderr: str = ""


@contextmanager
def make_run(data_dir: Path, env: dict[str, str]) -> Iterator[Started]:
    """`make run PORT=… HOST=…` with this interpreter's `ades` (its venv is already made:
    `-o` keeps make from reinstalling it), stopped with SIGTERM as Ctrl-C would."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ADES_")}
    process = subprocess.Popen(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "run",
         f"BIN={Path(sys.executable).parent}", f"PORT={port}", "HOST=127.0.0.1"],
        cwd=REPO,
        env={**clean, "ADES_DATA_DIR": str(data_dir), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    started = Started(f"http://127.0.0.1:{port}")

    def answers() -> bool:
        assert process.poll() is None, process.communicate()
        try:
            return requests.get(started.base + "/", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        poll(answers, bool, deadline=120)
        yield started
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        started.stdout, started.stderr = process.communicate(timeout=60)


def test_make_run_takes_a_port_and_keeps_an_external_s3_secret(seaweedfs, tmp_path):
    external = {
        "ADES_S3_ENDPOINT": seaweedfs.endpoint,
        "ADES_S3_ACCESS_KEY": seaweedfs.access_key,
        "ADES_S3_SECRET_KEY": seaweedfs.secret_key,
        "ADES_S3_BUCKET": "test-cli",
    }
    with make_run(tmp_path, external) as server:
        root = requests.get(server.base + "/").json()
        assert [ws["id"] for ws in root["workspaces"]] == ["demo"]
    assert f"{server.base}/demo/ogc-api/" in server.stdout
    assert f"S3: {seaweedfs.endpoint} bucket=test-cli" in server.stdout
    assert seaweedfs.secret_key not in server.stdout + server.stderr
    # Connexion's import of starlette's test client warned at every start.
    assert "Warning" not in server.stderr, server.stderr


def test_the_embedded_s3_credentials_are_printed(tmp_path):
    with make_run(tmp_path, {"ADES_S3_SECRET_KEY": "shown-secret"}) as server:
        pass
    assert "S3 (embedded): http://127.0.0.1:" in server.stdout
    assert "access_key=ades secret_key=shown-secret" in server.stdout
    assert "Warning" not in server.stderr, server.stderr


@pytest.mark.parametrize(
    ("env", "args", "says"),
    [
        ({}, [], "set ADES_EXECUTOR=celery (it is 'local')"),
        ({"ADES_EXECUTOR": "celery"}, [], "ADES_BROKER_URL=''"),
        ({"ADES_EXECUTOR": "celery", "ADES_BROKER_URL": "http://broker"}, [],
         "ADES_BROKER_URL='http://broker'"),
        ({"ADES_EXECUTOR": "celery", "ADES_BROKER_URL": "redis://127.0.0.1:6379/0"},
         ["--concurrency", "0"], "--concurrency 0"),
    ],
)
def test_ades_worker_refuses_what_cannot_run_jobs(monkeypatch, capsys, tmp_path, env, args, says):
    for name in [n for n in os.environ if n.startswith("ADES_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        main(["worker", "--data-dir", str(tmp_path), *args])
    assert exited.value.code == 2
    assert says in capsys.readouterr().err
