"""What the server adds to a job: a CWL package run end to end through HTTP (a synchronous
execute: run, stage-out, results) against the same package run by the bare `cwltool` CLI,
interleaved in one run on this machine. Two packages: the demo `echo` tool, and a workflow
of three steps, the first one scattered (bench/packages/three_steps.cwl). Prints medians and
their ratios.

    make bench            # or: .venv/bin/python bench/job_overhead.py --runs 7
    .venv/bin/python bench/job_overhead.py --profile   # then where the server's time goes
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
from collections.abc import Callable
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


def profile(base: str, through: Callable[[str], float], runs: int) -> None:
    """Where the server spends a job's time: a sampling profile of this process (the
    server runs in a thread of it) over ``runs`` jobs."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    for _ in range(runs):
        through(base)
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true",
                        help="then profile 20 echo jobs through the server (pyinstrument)")
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
            if args.profile:
                profile(base, echo_through, 20)
    report("echo job", times["be"], times["se"])
    report("three-step workflow with a scatter", times["bw"], times["sw"])


if __name__ == "__main__":
    main()
