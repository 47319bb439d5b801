"""What the server adds to a job: a CWL package run end to end through HTTP (a synchronous
execute: run, stage-out, results) against the same package run by the bare `cwltool` CLI,
interleaved in one run on this machine. Two packages: the demo `echo` tool, and a workflow
of three steps, the first one scattered (bench/packages/three_steps.cwl). Prints medians and
their ratios.

    make bench            # or: .venv/bin/python bench/job_overhead.py --runs 7
    .venv/bin/python bench/job_overhead.py --phases    # then where a job's time goes
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import requests
from live_server import running

from ades.settings import Settings

REPO = Path(__file__).resolve().parents[1]
ECHO = REPO / "workspaces" / "demo" / "processes" / "echo.cwl"
THREE_STEPS = Path(__file__).resolve().parent / "packages" / "three_steps.cwl"
WORDS = ["alpha", "beta", "gamma", "delta"]


def bare_cwltool(package: Path, job_order: dict, workdir: Path) -> float:
    workdir.mkdir()
    job = workdir / "job.json"
    job.write_text(json.dumps(job_order))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "cwltool", "--quiet", "--outdir", str(workdir / "out"),
         str(package), str(job)],
        check=True, capture_output=True, cwd=workdir, env=env,
    )  # fmt: skip
    return time.perf_counter() - start


# Each job's inputs differ from every other's, so none reuses an earlier one's results.
_jobs = itertools.count()


def echo_through(base: str) -> float:
    said = f"hello bench {next(_jobs)}"
    start = time.perf_counter()
    r = requests.post(f"{base}/bench/ogc-api/processes/echo/execution",
                      json={"inputs": {"stringInput": said}},
                      headers={"Accept": "text/plain"}, timeout=120)
    elapsed = time.perf_counter() - start
    assert r.status_code == 200 and r.text == said, r.text
    return elapsed


def workflow_through(base: str) -> float:
    words = [*WORDS, f"job{next(_jobs)}"]
    start = time.perf_counter()
    r = requests.post(f"{base}/bench/ogc-api/processes/three_steps/execution",
                      json={"inputs": {"words": words}}, timeout=120)
    elapsed = time.perf_counter() - start
    # The two File outputs, as links to their downloads.
    assert r.status_code == 200 and "counted.txt" in r.text and "joined.txt" in r.text, r.text
    return elapsed


def report(name: str, bare: list[float], server: list[float]) -> None:
    b, s = statistics.median(bare), statistics.median(server)
    print(f"{name}, {len(bare)} runs each, interleaved")
    for who, median, times in (("bare cwltool CLI", b, bare), ("through server  ", s, server)):
        print(f"  {who}: median {median:.3f} s  (all: {', '.join(f'{t:.3f}' for t in times)})")
    print(f"  ratio server/bare: {s / b:.2f}")


def phases(base: str, runs: int) -> None:
    """Where a synchronous echo job's time goes, from the server's own timestamps (the job's
    and its log entries'; log lines are stamped when their batch is written, which for
    cwltool's is when the run ended) and the client's clock (same machine)."""
    steps: dict[str, list[float]] = {}
    for _ in range(runs):
        sent = time.time()
        echo_through(base)
        answered = time.time()
        job = requests.get(f"{base}/bench/ogc-api/jobs", params={"limit": 1},
                           timeout=30).json()["jobs"][0]
        logs = requests.get(f"{base}/bench/ogc-api/jobs/{job['jobID']}/logs",
                            timeout=30).json()["logs"]
        at = {e["message"].split(":")[0]: _epoch(e["time"]) for e in logs}
        run_end = max(_epoch(e["time"]) for e in logs if e["message"].startswith("INFO "))
        marks = [
            ("request to job created", sent, _epoch(job["created"])),
            ("created to claimed (queue)", _epoch(job["created"]), _epoch(job["started"])),
            ("claimed to staged in", _epoch(job["started"]), at["staged in inputs"]),
            ("cwltool run (fork to its end)", at["staged in inputs"], run_end),
            ("stage-out", run_end, at[next(k for k in at if k.startswith("staged out"))]),
            ("to final status", at[next(k for k in at if k.startswith("staged out"))],
             _epoch(job["finished"])),
            ("final status to answer received", _epoch(job["finished"]), answered),
        ]
        for name, begin, end in marks:
            steps.setdefault(name, []).append(end - begin)
        steps.setdefault("whole request", []).append(answered - sent)
    print(f"where an echo job's time goes, median of {runs} (ms)")
    for name, values in steps.items():
        print(f"  {name:32} {statistics.median(values) * 1000:7.1f}")


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--phases", action="store_true",
                        help="then say where 20 echo jobs' time goes, phase by phase")
    args = parser.parse_args()
    runs = max(args.runs, 5)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        processes = root / "workspaces" / "bench" / "processes"
        processes.mkdir(parents=True)
        shutil.copy(ECHO, processes)
        shutil.copy(THREE_STEPS, processes)
        settings = Settings(data_dir=root / "data", workspaces=root / "workspaces")
        times: dict[str, list[float]] = {k: [] for k in ("be", "se", "bw", "sw")}
        with running(settings) as (_, base):
            echo_through(base)  # warm-up: first import of the job path, the runner's start
            workflow_through(base)
            for i in range(runs):
                times["be"].append(bare_cwltool(ECHO, {"stringInput": "hello bench"},
                                                root / f"bare-echo{i}"))
                times["se"].append(echo_through(base))
                times["bw"].append(bare_cwltool(THREE_STEPS, {"words": [*WORDS, "bare"]},
                                                root / f"bare-wf{i}"))
                times["sw"].append(workflow_through(base))
            if args.phases:
                phases(base, 20)
    report("echo job", times["be"], times["se"])
    report("three-step workflow with a scatter", times["bw"], times["sw"])


if __name__ == "__main__":
    main()
