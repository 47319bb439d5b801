"""The HTTP edge against pygeoapi's, side by side in one run: status reads of one job
(``GET …/jobs/{id}``), the process list and async submissions of a trivial process, each
server started as its operators start it and driven by the same load generator
(bench/load.py: wrk when the machine has it). Prints requests per second, p99 latency, errors,
the CPU time each server spent per request (its processes and theirs; steadier than rates on
a machine shared with other work) and our/pygeoapi ratios, and checks that every job either
server accepted ends successful.

pygeoapi 0.21 (its hello-world process, the TinyDB job manager, gunicorn -w 2) is installed
once into its own venv, .venv/bench-pygeoapi, and reused; when it cannot be installed the
run says so and measures ours alone. Ours is a real `ades serve` process with the demo
workspace (its `echo` process; identical submissions take an earlier job's results, the
result cache, as they would in use) and no limit on queued jobs (ADES_MAX_QUEUED=0), as
pygeoapi has none. ``--profile`` records where the time of our status
reads goes with py-spy (installed into the same venv) and prints the biggest shares.

    make bench            # or: .venv/bin/python bench/edge.py --duration 10 --profile
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import pygeoapi_server
import requests
from load import Load, generator, measure
from pygeoapi_server import started

REPO = Path(__file__).resolve().parents[1]
PYGEOAPI_VENV = REPO / ".venv" / "bench-pygeoapi"
ADES = Path(sys.executable).parent / "ades"

OURS_ECHO = "/demo/ogc-api/processes/echo/execution"
OURS_BODY = {"inputs": {"stringInput": "hello bench"}}
THEIRS_ECHO = "/processes/hello-world/execution"
THEIRS_BODY = {"inputs": {"name": "bench"}}
ASYNC = {"Prefer": "respond-async"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll(check: Callable[[], bool], deadline: float, what: str) -> None:
    end = time.monotonic() + deadline
    while not check():
        if time.monotonic() > end:
            raise SystemExit(f"bench/edge.py: {what} within {deadline:g} s")
        time.sleep(0.1)


def answers(url: str, process: subprocess.Popen, log: Path) -> Callable[[], bool]:
    def check() -> bool:
        if process.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise SystemExit(
                f"bench/edge.py: {process.args[0]} exited ({process.returncode}):\n{tail}"
            )
        try:
            return requests.get(url, timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet, or too busy starting
            return False

    return check


def pygeoapi_venv() -> Path | None:
    """The venv's bin folder, made when missing; None (said why) when pip cannot make it."""
    try:
        return pygeoapi_server.pygeoapi_venv(PYGEOAPI_VENV, extra=("py-spy",))
    except pygeoapi_server.InstallFailed as err:
        print(f"pygeoapi: skipped, it cannot be installed here ({err})")
        return None


@dataclass
class Server:
    name: str
    base: str
    status_path: str  # one successful job's status
    processes_path: str
    execute_path: str
    execute_body: dict
    jobs: Callable[[], collections.Counter]  # the server's jobs by status
    pid: int


@contextmanager
def pygeoapi(bin_dir: Path, root: Path) -> Iterator[Server]:
    port = free_port()
    pygeoapi_env, jobs_db = pygeoapi_server.configure(bin_dir, root, port)
    env = {**os.environ, **pygeoapi_env}
    base = f"http://127.0.0.1:{port}"
    with started(pygeoapi_server.gunicorn(bin_dir, port), root / "gunicorn.log",
                 env=env) as process:
        poll(answers(base + "/processes", process, root / "gunicorn.log"), 60,
             "pygeoapi did not answer")

        def statuses() -> collections.Counter:
            if not jobs_db.exists():
                return collections.Counter()
            table = json.loads(jobs_db.read_text() or "{}").get("_default", {})
            return collections.Counter(job["status"] for job in table.values())

        job = submit_one(base + THEIRS_ECHO, THEIRS_BODY)
        yield Server("pygeoapi", base, job, "/processes", THEIRS_ECHO, THEIRS_BODY, statuses,
                     process.pid)


@contextmanager
def ours(root: Path, workers: int | None) -> Iterator[Server]:
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ADES_")}
    # pygeoapi queues without limit: so does ours here (its default refuses submissions
    # past 1000 waiting jobs of a workspace with a 429, which a burst of 10 s may reach).
    clean["ADES_MAX_QUEUED"] = "0"
    flags = ["--workers", str(workers)] if workers else []
    base = f"http://127.0.0.1:{port}"
    with started([str(ADES), "serve", "--workspaces", str(REPO / "workspaces"), "--port",
                  str(port), "--data-dir", str(root / "data"), *flags],
                 root / "ades.log", env=clean) as process:
        poll(answers(base + "/demo/ogc-api/processes", process, root / "ades.log"), 120,
             "ades did not answer")

        def statuses() -> collections.Counter:
            counts = collections.Counter()
            for status in ("accepted", "running", "successful", "failed", "dismissed"):
                # Asked past the last page, the list counts every match (it counts up to
                # a thousand jobs past the page asked for, and says numberMatched then).
                page = requests.get(base + "/demo/ogc-api/jobs",
                                    params={"status": status, "limit": 1, "offset": 10**7}).json()
                counts[status] = page["numberMatched"]
            return +counts

        job = submit_one(base + OURS_ECHO, OURS_BODY)
        yield Server("ades", base, job, "/demo/ogc-api/processes", OURS_ECHO, OURS_BODY,
                     statuses, process.pid)


def submit_one(url: str, body: dict) -> str:
    """Submits one async job, waits for it to succeed, returns its status path."""
    r = requests.post(url, json=body, headers=ASYNC)
    assert r.status_code == 201, (r.status_code, r.text)
    base = url[: url.index("/", len("http://"))]
    path = r.headers["Location"].removeprefix(base)

    def done() -> bool:
        status = requests.get(base + path).json()["status"]
        assert status in ("accepted", "running", "successful"), status
        return status == "successful"

    poll(done, 120, "the first job did not succeed")
    return path


def settle(server: Server, deadline: float = 900) -> collections.Counter:
    """The server's jobs by status once none is queued or running."""
    end = time.monotonic() + deadline
    while True:
        counts = server.jobs()
        if not (counts["accepted"] or counts["running"]) or time.monotonic() > end:
            return counts
        time.sleep(0.5)


@contextmanager
def profiled(pyspy: Path | None, pid: int, out: Path, seconds: float) -> Iterator[None]:
    """py-spy recording the server and its workers while the block runs, sampling only
    the thread that holds the GIL (so time spent, not time waited); collapsed stacks written
    to ``out``."""
    if pyspy is None:
        yield
        return
    recorder = subprocess.Popen(
        [str(pyspy), "record", "--pid", str(pid), "--subprocesses", "--gil", "--format", "raw",
         "--rate", "200", "--duration", str(int(seconds) + 2), "--output", str(out),
         "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(1.0)  # py-spy attaches before the load starts
    try:
        yield
    finally:
        recorder.wait(timeout=120)


# Where a sample's time is counted: the first of these found in its stack, innermost first.
SHARES = [
    ("database (SQLAlchemy, sqlite3)", ("sqlalchemy", "sqlite3")),
    ("ades handlers and views", ("/ades/api/", "/ades/jobs/", "/ades/db/")),
    ("access log, logging", ("logging/", "uvicorn/logging", "access_log")),
    ("JSON Schema validation", ("jsonschema",)),
    ("Flask, Werkzeug", ("flask/", "werkzeug/")),
    ("a2wsgi (WSGI under threads)", ("a2wsgi",)),
    ("Connexion (routing, security, validation)", ("connexion/",)),
    ("Starlette", ("starlette/",)),
    ("uvicorn, httptools, asyncio", ("uvicorn/", "httptools", "asyncio/")),
]


def summarise(raw: Path) -> None:
    if not raw.exists():
        print("  profile: py-spy wrote nothing")
        return
    shares: collections.Counter = collections.Counter()
    leaves: collections.Counter = collections.Counter()
    total = idle = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        leaf = frames[-1]
        if any(w in leaf for w in ("select", "epoll", "wait (threading", "_worker (concurrent")):
            idle += n
            continue
        total += n
        leaves[leaf] += n
        for name, marks in SHARES:
            if any(m in frame for frame in reversed(frames) for m in marks):
                shares[name] += n
                break
        else:
            shares["other"] += n
    if not total:
        print("  profile: no busy samples")
        return
    print(f"  where our status reads spend their time (py-spy --gil: {total} samples, "
          f"{idle} idle left out; a sample counts for its innermost listed part):")
    for name, n in shares.most_common():
        print(f"    {100 * n / total:5.1f} %  {name}")
    print("  busiest functions (self time):")
    for leaf, n in leaves.most_common(8):
        print(f"    {100 * n / total:5.1f} %  {leaf[:110]}")


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by a server: its process and every process under it."""
    total = 0.0
    process = psutil.Process(pid)
    for p in [process, *process.children(recursive=True)]:
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


@dataclass
class Run:
    load: Load
    cpu_ms: float  # the server's CPU time per answered request


def run(server: Server, path: str, **kw) -> Run:
    before = cpu_seconds(server.pid)
    load = measure(server.base + path, **kw)
    used = cpu_seconds(server.pid) - before
    return Run(load, 1000 * used / max(load.requests, 1))


def row(what: str, a: Run, b: Run | None) -> None:
    def text(r: Run) -> str:
        return (f"{r.load.rps:7.0f}/s p99 {r.load.p99_ms:6.1f} ms err {r.load.failed:<3} "
                f"cpu {r.cpu_ms:5.2f} ms/req")

    if b is None:
        print(f"  {what:<24} ades {text(a)}")
        return
    print(f"  {what:<24} ades {text(a)} | pygeoapi {text(b)} | ratio "
          f"{a.load.rps / b.load.rps:5.2f}x (cpu/req {b.cpu_ms / a.cpu_ms:4.2f}x less)",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--workers", type=int, help="ades serve --workers (default: its own)")
    parser.add_argument("--profile", action="store_true",
                        help="record our status reads with py-spy and print where time goes")
    parser.add_argument("--no-pygeoapi", action="store_true", help="measure ours alone")
    args = parser.parse_args()
    bin_dir = None if args.no_pygeoapi else pygeoapi_venv()
    pyspy = None
    if args.profile:
        found = [p for p in (bin_dir and bin_dir / "py-spy",) if p and p.exists()]
        pyspy = found[0] if found else None
        if pyspy is None:
            print("profile: skipped (no py-spy; it comes with the pygeoapi venv)")
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        root = Path(tmp)
        (root / "ades").mkdir()
        (root / "pygeoapi").mkdir()
        a = stack.enter_context(ours(root / "ades", args.workers))
        b = stack.enter_context(pygeoapi(bin_dir, root / "pygeoapi")) if bin_dir else None
        servers = [s for s in (a, b) if s]
        print(f"load: {generator()}, {args.duration:g} s per measurement; "
              f"{os.cpu_count()} cores shared by servers and load", flush=True)

        def each(path_of, **kw) -> list[Run]:
            return [run(s, path_of(s), duration=args.duration, **kw) for s in servers]

        # Warm both (imports, caches, connection pools) before anything counts.
        for s in servers:
            measure(s.base + s.status_path, duration=2, connections=8)
            measure(s.base + s.processes_path, duration=2, connections=8)
        raw = root / "ades-status.raw"
        with profiled(pyspy, a.pid, raw, args.duration):
            status = [run(a, a.status_path, duration=args.duration, connections=32)]
        if b:
            status.append(run(b, b.status_path, duration=args.duration, connections=32))
        listing = each(lambda s: s.processes_path, connections=32)
        before = [s.jobs() for s in servers]
        submit = [
            run(s, s.execute_path, duration=args.duration, connections=8, method="POST",
                body=json.dumps(s.execute_body).encode(), headers=ASYNC)
            for s in servers
        ]
        print()
        row("GET jobs/{id} (32 conn)", status[0], status[1] if b else None)
        row("GET processes (32 conn)", listing[0], listing[1] if b else None)
        row("async execute (8 conn)", submit[0], submit[1] if b else None)
        for s, done, earlier in zip(servers, submit, before, strict=True):
            load = done.load
            counts = settle(s)
            counts.subtract(earlier)
            ended = dict(+counts)
            accepted = sum(ended.values())
            ok = ended.get("successful", 0) == accepted and accepted >= load.requests - load.failed
            print(f"  {s.name}: {load.requests} submissions answered, {accepted} jobs made, "
                  f"by status {ended}: {'all successful' if ok else 'NOT ALL SUCCESSFUL'}")
        if pyspy:
            print()
            summarise(raw)


if __name__ == "__main__":
    main()
