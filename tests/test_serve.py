"""`ades serve --workers 2` as an operator starts it: one embedded S3 started by the parent,
two workers sharing the port that both take requests and run the jobs they accept (a
synchronous execute answers with its results), a worker with room taking jobs the other
accepted, and nothing left running after SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
import requests

from ades.cli import main
from ades.db.jobs import JobStore
from ades.db.schema import make_engine
from ades.serve import jobs_of_worker
from tests.api.conftest import free_port, poll

REPO = Path(__file__).resolve().parents[1]
ECHO = "/demo/ogc-api/processes/echo/execution"


def test_two_workers_share_the_port_one_s3_and_stop_together(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ADES_")}
    parent = subprocess.Popen(
        [str(Path(sys.executable).parent / "ades"), "serve", "--workers", "2", "--port",
         str(port), "--data-dir", str(tmp_path), "--workspaces", str(REPO / "workspaces")],
        # One slot each: a second job sent to a busy worker runs only if the other takes it.
        env={**clean, "ADES_MAX_JOBS": "2"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )  # fmt: skip
    tree: list[psutil.Process] = []
    try:
        def answers() -> bool:
            assert parent.poll() is None, parent.communicate()[0]
            try:
                return requests.get(base + "/demo/ogc-api/processes", timeout=5).ok
            except requests.RequestException:
                return False

        poll(answers, bool, deadline=120)
        tree = psutil.Process(parent.pid).children(recursive=True)
        weeds = [p for p in tree if Path(p.exe()).name == "weed"]
        workers = [p for p in tree if "spawn_main" in " ".join(p.cmdline())]
        assert len(weeds) == 1 and weeds[0].ppid() == parent.pid
        assert len(workers) == 2

        r = requests.post(base + ECHO, json={"inputs": {"stringInput": "both"}},
                          headers={"Accept": "text/plain"}, timeout=120)
        assert (r.status_code, r.text) == (200, "both")

        # Concurrent submissions on connections of their own, until each worker has run
        # a job it accepted (the runner of a job is the worker that took the request).
        store = JobStore(make_engine(f"sqlite:///{tmp_path / 'ades.db'}"))
        runners: set[str] = set()

        def submit(_: int) -> str:  # the input of the first job: the result cache answers
            s = requests.post(base + ECHO, json={"inputs": {"stringInput": "both"}},
                              headers={"Prefer": "respond-async"}, timeout=60)
            assert s.status_code == 201, s.text
            return s.json()["jobID"]

        def both_ran() -> bool:
            with ThreadPoolExecutor(4) as pool:
                ids = list(pool.map(submit, range(4)))
            for job_id in ids:
                job = poll(lambda j=job_id: store.get_by_id(j), lambda j: j.status.finished)
                assert job.status.value == "successful", job
                runners.add(job.runner)
            return len(runners) == 2

        poll(lambda: both_ran(), bool, deadline=120)

        # Two jobs over one keep-alive connection reach one worker; they run at once all
        # the same, the second on the other worker, which heard of it.
        with requests.Session() as http:
            ids = []
            for n in range(2):
                s = http.post(base + ECHO, json={"inputs": {"stringInput": f"w{n}", "pause": 60}},
                              headers={"Prefer": "respond-async"}, timeout=60)
                assert s.status_code == 201, s.text
                ids.append(s.json()["jobID"])
            running = poll(lambda: [store.get_by_id(j) for j in ids],
                           lambda jobs: all(j.status.value == "running" for j in jobs))
            assert len({job.runner for job in running}) == 2, running
            for job_id in ids:
                assert http.delete(f"{base}/demo/ogc-api/jobs/{job_id}").status_code == 200
        store.engine.dispose()
    finally:
        os.killpg(parent.pid, signal.SIGTERM)
        out = parent.communicate(timeout=90)[0]
    assert parent.returncode == 0, out
    assert out.count("Started server process") == 2, out
    assert "Workers: 2 (ADES_WORKERS)" in out
    _, alive = psutil.wait_procs(tree, timeout=30)
    assert alive == [], alive


def test_max_jobs_is_shared_out_among_the_workers_at_least_one_each():
    assert [jobs_of_worker(5, 2, i) for i in range(2)] == [3, 2]
    assert [jobs_of_worker(1, 3, i) for i in range(3)] == [1, 1, 1]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ADES_WORKERS": "0"}, "ades: ADES_WORKERS=0: `ades serve` needs at least 1 worker"),
        # Refused by the parent before it starts the S3 or any worker.
        ({"ADES_WORKERS": "2", "ADES_EXECUTOR": "bogus"},
         "ades: ADES_EXECUTOR='bogus' is not an executor; expected local or celery"),
    ],
)
def test_serve_refuses_settings_it_cannot_start_with_naming_them(
    monkeypatch, tmp_path, env, message
):
    for name in [n for n in os.environ if n.startswith("ADES_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--data-dir", str(tmp_path), "--workspaces", str(REPO / "workspaces")])
    assert exited.value.code == message
    assert not (tmp_path / "s3").exists()
