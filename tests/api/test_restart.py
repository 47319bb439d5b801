"""Restarts lose nothing: a real ``ades serve`` is killed with SIGKILL while one job runs
and another waits; its tool processes die with it, and the server started again on the same
data directory lists every job, fails the one that was running (category system), runs the
one that waited, and still serves the results and logs of the one that had finished."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
import requests

from tests.api.conftest import LAB, free_port, poll

ASYNC = {"Prefer": "respond-async"}


class ServeProcess:
    def __init__(self, env: dict[str, str], log: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/lab/ogc-api"
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ades.cli", "serve", "--port", str(self.port)],
                env={**env, "ADES_PORT": str(self.port)},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        poll(self._up, bool, deadline=120)

    def _up(self) -> bool:
        assert self.proc.poll() is None, "ades serve exited"
        try:
            return requests.get(self.base + "/", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    def job(self, job_id: str) -> dict:
        return requests.get(f"{self.base}/jobs/{job_id}", timeout=10).json()

    def execute(self, seconds: float) -> str:
        r = requests.post(f"{self.base}/processes/sleep/execution",
                          json={"inputs": {"seconds": seconds}}, headers=ASYNC, timeout=30)
        assert r.status_code == 201, r.text
        return r.json()["jobID"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _processes_in(folder: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cwd"]):
        if (proc.info.get("cwd") or "").startswith(str(folder)):
            found.append(proc)
    return found


@pytest.fixture
def serve_env(seaweedfs, tmp_path):
    workspaces = tmp_path / "workspaces"
    workspaces.mkdir()
    (workspaces / "lab").symlink_to(LAB)
    return {
        **os.environ,
        "ADES_DATA_DIR": str(tmp_path / "data"),
        "ADES_WORKSPACES": str(workspaces),
        "ADES_S3_ENDPOINT": seaweedfs.endpoint,
        "ADES_S3_ACCESS_KEY": seaweedfs.access_key,
        "ADES_S3_SECRET_KEY": seaweedfs.secret_key,
        "ADES_S3_BUCKET": "ades-restart-tests",
        # One process with one slot, so the second job waits, accepted, behind the first
        # (a second worker would take it).
        "ADES_WORKERS": "1",
        "ADES_MAX_JOBS": "1",
    }


def test_sigkill_and_restart_lose_nothing(serve_env, tmp_path):
    jobs_dir = tmp_path / "data" / "jobs"
    first = ServeProcess(serve_env, tmp_path / "serve-1.log")
    try:
        done = first.execute(0)
        poll(lambda: first.job(done)["status"], lambda s: s in ("successful", "failed"))
        assert first.job(done)["status"] == "successful"
        running = first.execute(300)
        waiting = first.execute(0)
        poll(lambda: [p for p in _processes_in(jobs_dir / running) if p.name() == "sleep"],
             bool, deadline=60)
        assert first.job(running)["status"] == "running"
        assert first.job(waiting)["status"] == "accepted"
    finally:
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait()

    # The tools of the running job do not outlive the server.
    poll(lambda: _processes_in(jobs_dir / running), lambda procs: not procs, deadline=30)

    second = ServeProcess(serve_env, tmp_path / "serve-2.log")
    try:
        listed = requests.get(second.base + "/jobs", timeout=10).json()
        assert {done, running, waiting} <= {j["jobID"] for j in listed["jobs"]}

        # The job cut off is queued once more, ahead of the one that waited, and runs anew.
        again = poll(lambda: second.job(running), lambda j: j["status"] == "running")
        logs = requests.get(f"{second.base}/jobs/{running}/logs", timeout=10).json()["logs"]
        assert "job queued again: the server running it stopped" in [e["message"] for e in logs]
        assert again["progress"] < 100
        requests.delete(f"{second.base}/jobs/{running}", timeout=30)

        ran = poll(lambda: second.job(waiting), lambda j: j["status"] in ("successful", "failed"))
        assert ran["status"] == "successful", ran

        assert requests.get(f"{second.base}/jobs/{done}/results", timeout=10).status_code == 200
        logs = requests.get(f"{second.base}/jobs/{done}/logs", timeout=10).json()["logs"]
        assert logs[-1]["message"] == "job successful"
    finally:
        second.stop()
