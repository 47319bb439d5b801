"""What the server holds in memory: the resident set (RSS) of an `ades serve` process idle,
with 10 jobs running (the demo `echo` asked to pause: a `sleep`) and with 100 more queued
behind them; then a leak check: 1,000 distinct `echo` jobs (async, each run to its end)
through a server in this process, traced by tracemalloc, with the RSS and the traced memory
before and after, and the lines whose allocations grew most.

    make bench            # or: .venv/bin/python bench/memory.py --jobs 1000

The first part measures a server process of its own (no tracing there); the leak check runs
the server in a thread of this process so that tracemalloc sees its allocations. A warm-up
of --warmup jobs comes first: what is allocated once (imports, cwltool's caches of the
packages) is not a leak.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import requests
from live_server import running, separate

from ades.settings import Settings

REPO = Path(__file__).resolve().parents[1]
JOBS = "/demo/ogc-api/jobs"
ECHO = "/demo/ogc-api/processes/echo/execution"
ASYNC = {"Prefer": "respond-async"}


def rss_mib(pid: int) -> float:
    """The resident set of process ``pid``, in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def submit(http: requests.Session, base: str, text: str, pause: float | None = None) -> str:
    inputs: dict[str, object] = {"stringInput": text}
    if pause is not None:
        inputs["pause"] = pause
    r = http.post(base + ECHO, json={"inputs": inputs}, headers=ASYNC)
    assert r.status_code == 201, r.text
    return r.json()["jobID"]


def matched(http: requests.Session, base: str, *statuses: str) -> int:
    # Asked past the last page, the list counts every match (up to a thousand past the page).
    params = {"status": list(statuses), "limit": 1, "offset": 10**7}
    doc = http.get(base + JOBS, params=params).json()
    return doc["numberMatched"]


def until(condition, what: str, timeout: float = 600) -> None:
    """Poll ``condition`` until it holds; SystemExit naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.2)


def resident(root: Path) -> None:
    with requests.Session() as http, separate(
        # One worker: the process whose RSS is read is the one that serves and runs jobs
        # (with several, the first process only starts the others).
        root / "resident", workspaces=str(REPO / "workspaces"), max_jobs="10", workers="1"
    ) as (process, base):
        http.get(base + "/demo/ogc-api/processes").raise_for_status()
        print(f"  idle                         {rss_mib(process.pid):7.1f} MiB", flush=True)
        jobs = [submit(http, base, f"sleeper {i}", pause=600) for i in range(10)]
        until(lambda: matched(http, base, "running") == 10, "10 running jobs")
        print(f"  10 jobs running (sleep)      {rss_mib(process.pid):7.1f} MiB", flush=True)
        jobs += [submit(http, base, f"queued {i}", pause=600) for i in range(100)]
        until(lambda: matched(http, base, "accepted") == 100, "100 queued jobs")
        print(f"  10 running + 100 queued      {rss_mib(process.pid):7.1f} MiB", flush=True)
        # The queued first, the newest first, so that none starts as a slot frees; their
        # sleeps must not outlive the server.
        for job in reversed(jobs):
            http.delete(f"{base}{JOBS}/{job}")
        until(lambda: matched(http, base, "accepted", "running") == 0, "the jobs dismissed")


def run_jobs(
    http: requests.Session, base: str, count: int, tag: str, batch: int = 50
) -> list[float]:
    """``count`` echo jobs of distinct inputs (no result reused), ``batch`` at a time, each
    run to its end; every one must succeed. The RSS of this process after each batch."""
    rss = []
    for start in range(0, count, batch):
        for i in range(start, min(start + batch, count)):
            submit(http, base, f"{tag} {i}")
        until(lambda: matched(http, base, "accepted", "running") == 0, "the jobs' ends")
        rss.append(rss_mib(os.getpid()))
        print(f"    {min(start + batch, count):5d} jobs: RSS {rss[-1]:.1f} MiB", flush=True)
    failed = matched(http, base, "failed", "dismissed")
    assert failed == 0, f"{failed} jobs failed"
    return rss


def leak_check(root: Path, jobs: int, warmup: int, top: int) -> None:
    tracemalloc.start()
    settings = Settings(data_dir=root / "leak", workspaces=REPO / "workspaces", max_jobs=2)
    with requests.Session() as http, running(settings) as (_, base):
        run_jobs(http, base, warmup, "warm-up")
        # The RSS is read after the first snapshot (which it then holds) and before the
        # second: a snapshot takes tens of MiB, which are not the server's.
        gc.collect()
        before = tracemalloc.take_snapshot()
        rss_before, traced_before = rss_mib(os.getpid()), tracemalloc.get_traced_memory()[0]
        start = time.perf_counter()
        batches = run_jobs(http, base, jobs, "leak")
        elapsed = time.perf_counter() - start
        gc.collect()
        rss_after, traced_after = rss_mib(os.getpid()), tracemalloc.get_traced_memory()[0]
        after = tracemalloc.take_snapshot()
    print(f"  {jobs} jobs in {elapsed:.0f} s (after {warmup} to warm up), server traced")
    print(f"  RSS of this process     {rss_before:7.1f} -> {rss_after:7.1f} MiB "
          f"({(rss_after - rss_before) * 1024 / jobs:+.1f} KiB per job)")
    print(f"  RSS after the first and the last 50: {batches[0]:.1f} -> {batches[-1]:.1f} MiB")
    print(f"  traced Python memory    {traced_before / 2**20:7.1f} -> "
          f"{traced_after / 2**20:7.1f} MiB "
          f"({(traced_after - traced_before) / 1024 / jobs:+.2f} KiB per job)")
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__),
              tracemalloc.Filter(False, "<frozen importlib._bootstrap*>")]  # fmt: skip
    diff = after.filter_traces(ignore).compare_to(before.filter_traces(ignore), "lineno")
    print(f"  top {top} growths (size, count, the line that allocated):")
    for stat in diff[:top]:
        frame = stat.traceback[0]
        where = f"{Path(frame.filename).parent.name}/{Path(frame.filename).name}:{frame.lineno}"
        print(f"    {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d}  {where}")


def main() -> None:
    # A kill (not only Ctrl-C) stops the servers and the jobs' sleeps.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000, help="jobs of the leak check")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--skip-resident", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if not args.skip_resident:
            print("RSS of an `ades serve` process (SQLite, local executor, 10 slots)")
            resident(root)
        print("\nleak check")
        leak_check(root, args.jobs, args.warmup, args.top)


if __name__ == "__main__":
    main()
