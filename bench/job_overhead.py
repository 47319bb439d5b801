"""What the server adds to a job: the demo `echo` process run end to end through HTTP
(execute, wait, results) against the same CWL run by the bare `cwltool` CLI, interleaved
in one run on this machine. Prints medians and their ratio.

    make bench            # or: .venv/bin/python bench/job_overhead.py --runs 7
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from live_server import running

from ades.settings import Settings

REPO = Path(__file__).resolve().parents[1]
ECHO = REPO / "workspaces" / "demo" / "processes" / "echo.cwl"


def bare_cwltool(workdir: Path) -> float:
    job = workdir / "job.json"
    job.write_text(json.dumps({"stringInput": "hello bench"}))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "cwltool", "--quiet", "--outdir", str(workdir / "out"),
         str(ECHO), str(job)],
        check=True, capture_output=True, cwd=workdir, env=env,
    )
    return time.perf_counter() - start


def through_server(base: str) -> float:
    start = time.perf_counter()
    r = requests.post(f"{base}/demo/ogc-api/processes/echo/execution",
                      json={"inputs": {"stringInput": "hello bench"}},
                      headers={"Accept": "text/plain"}, timeout=120)
    elapsed = time.perf_counter() - start
    assert r.status_code == 200 and r.text == "hello bench", r.text
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = max(parser.parse_args().runs, 5)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = Settings(data_dir=root / "data", workspaces=REPO / "workspaces")
        with running(settings) as (_, base):
            through_server(base)  # warm-up: first import of the job path
            server_times, bare_times = [], []
            for i in range(runs):
                bare_dir = root / f"bare{i}"
                bare_dir.mkdir()
                bare_times.append(bare_cwltool(bare_dir))
                server_times.append(through_server(base))
    s, b = statistics.median(server_times), statistics.median(bare_times)
    print(f"echo job, {runs} runs each, interleaved")
    for name, median, times in (("bare cwltool CLI", b, bare_times),
                                ("through server  ", s, server_times)):
        print(f"  {name}: median {median:.2f} s  (all: {', '.join(f'{t:.2f}' for t in times)})")
    print(f"  ratio server/bare: {s / b:.2f}")


if __name__ == "__main__":
    main()
