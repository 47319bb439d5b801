"""Whether reads stay flat as the job store grows: two `ades serve` processes side by side,
one whose database holds 100 jobs, the other 100,000 (bulk-inserted into the real schema:
four workspaces, several processes, every status, with their job_events and job_logs rows),
driven alike by bench/load.py (wrk when the machine has it), in interleaved rounds. Prints
requests per second of each read at both sizes and the ratio large/small (1.0: flat), then
the database work a submit, a claim, the housekeeping and /metrics do, timed in this
process against both databases.

    make bench            # or: .venv/bin/python bench/store_scale.py --postgres --seconds 5

SQLite by default; --postgres runs both servers on PostgreSQL (ADES_TEST_POSTGRES_URL, as
for the tests: a bench database is made and dropped for each).
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests
from live_server import separate
from load import generator, measure
from sqlalchemy import select

from ades.db.jobs import JobStore
from ades.db.logs import LogStore
from ades.db.migrate import upgrade
from ades.db.schema import job_events, job_logs, jobs, make_engine
from ades.model import JobQuery, JobStatus, LogLevel, utcnow

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the tests' helper that makes a PostgreSQL database

from tests.distributed import postgres_database, postgres_reachable  # noqa: E402

SMALL, LARGE = 100, 100_000
# The workspace the reads ask about holds 40 % of the jobs; three others share the rest.
WORKSPACES = ["demo"] * 4 + ["team-a"] * 2 + ["team-b"] * 2 + ["team-c"] * 2
PROCESSES = ["echo"] * 5 + ["ndvi"] * 3 + ["wf-1", "wf-2"]
# The finished statuses old jobs end in; a live store also has a few queued and running.
FINISHED = [JobStatus.SUCCESSFUL] * 40 + [JobStatus.FAILED] * 6 + [JobStatus.DISMISSED] * 3 + [
    JobStatus.CREATED
]
ACTIVE = [JobStatus.ACCEPTED] * 12 + [JobStatus.RUNNING] * 4
PACKAGE = (REPO / "workspaces" / "demo" / "processes" / "echo.cwl").read_text()


def rows(count: int, rng: random.Random) -> Iterator[tuple[dict, list[dict], list[dict]]]:
    """``count`` jobs with their events and log entries: the newest 100 of the last hour
    (among them every queued and running job), the others spread over the 60 days before."""
    now = utcnow()
    for i in range(count):
        recent = i >= count - SMALL
        if recent:
            created = now - timedelta(seconds=rng.uniform(0, 3600))
            status = ACTIVE[i % SMALL] if i % SMALL < len(ACTIVE) else rng.choice(FINISHED)
        else:
            created = now - timedelta(hours=1, days=60 * (count - i) / count)
        if not recent:
            status = rng.choice(FINISHED)
        job_id = str(uuid.uuid4())
        ran = status not in (JobStatus.CREATED, JobStatus.ACCEPTED)
        started = created + timedelta(seconds=rng.uniform(0.1, 5)) if ran else None
        finished = (
            started + timedelta(seconds=rng.uniform(1, 600))
            if started and status is not JobStatus.RUNNING
            else None
        )
        text = f"hello {i}"
        job = {
            "id": job_id,
            "workspace": rng.choice(WORKSPACES),
            "process_id": rng.choice(PROCESSES),
            "status": status.value,
            "message": status.value,
            "progress": 100 if finished else 0,
            "created": created,
            "started": started,
            "finished": finished,
            "updated": finished or started or created,
            "request": {
                "inputs": {"stringInput": text},
                "job_order": {"stringInput": text},
                "package": {"cwl": PACKAGE, "entry": None},
                "links_root": "http://127.0.0.1:8000/demo/ogc-api",
                "cache": {"enabled": True, "reuse": True},
            },
            "results": {"echoOutput": {"value": text}} if status is JobStatus.SUCCESSFUL else {},
            "failure": {"category": "process"} if status is JobStatus.FAILED else None,
            "size": len(text) if status is JobStatus.SUCCESSFUL else None,
            # Running jobs belong to a runner that holds them for a day: no server here
            # takes them back, and no queued job is marked waiting (none is woken).
            "runner": "elsewhere" if ran else None,
            "lease_until": now + timedelta(days=1) if status is JobStatus.RUNNING else None,
            "attempts": 1 if ran else None,
        }
        events = [{"job_id": job_id, "status": "accepted", "time": created}]
        if started:
            events.append({"job_id": job_id, "status": "running", "time": started})
        if finished:
            events.append({"job_id": job_id, "status": status.value, "time": finished})
        logs = [
            {"job_id": job_id, "level": int(LogLevel.INFO), "time": created,
             "message": "job accepted: process 'echo'"},
            {"job_id": job_id, "level": int(LogLevel.INFO), "time": started or created,
             "message": f"[job {job_id}] completed success"},
        ]  # fmt: skip
        yield job, events, logs


def seed(url: str, count: int, seed_value: int) -> None:
    """Bulk-insert ``count`` jobs (executemany, in batches) into the database at ``url``."""
    engine = make_engine(url)
    upgrade(engine)
    batch: list[tuple[dict, list[dict], list[dict]]] = []

    def flush() -> None:
        with engine.begin() as conn:
            conn.execute(jobs.insert(), [job for job, _, _ in batch])
            conn.execute(job_events.insert(), [e for _, events, _ in batch for e in events])
            conn.execute(job_logs.insert(), [e for _, _, logs in batch for e in logs])
        batch.clear()

    for row in rows(count, random.Random(seed_value)):
        batch.append(row)
        if len(batch) == 5000:
            flush()
    if batch:
        flush()
    if engine.dialect.name == "postgresql":
        # What autovacuum does in a live database: a bulk load leaves the planner without
        # statistics (it would then sort a workspace's jobs to list ten) and the visibility
        # map empty (no index-only scans).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


def reads(base: str, database_url: str) -> dict[str, str]:
    """The paths a user reads, for the jobs this server's database holds."""
    engine = make_engine(database_url)
    with engine.connect() as conn:
        demo = conn.execute(select(jobs.c.id).where(jobs.c.workspace == "demo")).scalars().all()
    engine.dispose()
    old = random.Random(1).choice(demo)
    day = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    first = requests.get(base + "/demo/ogc-api/jobs", params={"limit": 10}).json()
    page2 = next(link["href"] for link in first["links"] if link["rel"] == "next")
    return {
        "status of one job": f"/demo/ogc-api/jobs/{old}",
        "jobs?limit=10": "/demo/ogc-api/jobs?limit=10",
        "page 2 (next link)": urlsplit(page2)._replace(scheme="", netloc="").geturl(),
        "status=successful": "/demo/ogc-api/jobs?limit=10&status=successful",
        "status=running": "/demo/ogc-api/jobs?limit=10&status=running",
        "processID=ndvi": "/demo/ogc-api/jobs?limit=10&processID=ndvi",
        "processID+status": "/demo/ogc-api/jobs?limit=10&processID=ndvi&status=failed",
        "datetime=last day": f"/demo/ogc-api/jobs?limit=10&datetime={day}/..",
        "minDuration=60": "/demo/ogc-api/jobs?limit=10&minDuration=60",
        "openEO job list": "/demo/openeo/1.2/jobs?limit=10",
        "job logs": f"/demo/ogc-api/jobs/{old}/logs",
        "/metrics": "/metrics",
    }


def store_work(url: str) -> dict[str, Callable[[], object]]:
    """The database work of a submit (the max_queued count), a claim (max_running), the
    housekeeping and the job events, as the server's stores do it."""
    engine = make_engine(url)
    store, logs = JobStore(engine), LogStore(engine)
    last = store.last_event()
    some = store.list("demo", 1)[0][0].id
    queued = store._count("demo", JobStatus.ACCEPTED)
    running = store._count("demo", JobStatus.RUNNING)

    def scalar(query) -> Callable[[], object]:
        def run() -> object:
            with engine.connect() as conn:
                return conn.execute(select(query)).scalar_one()
        return run

    return {
        "submit: count queued (max_queued)": scalar(queued),
        "claim: count running (max_running)": scalar(running),
        "events: read after the last (poll)": lambda: store.events_after(max(0, last - 200)),
        "events: newest id": store.last_event,
        "housekeeping: prune old events": lambda: store.prune_events(utcnow() - timedelta(days=90)),
        "housekeeping: lost running jobs": lambda: store.lost(utcnow()),
        "housekeeping: waiting jobs": store.waiting,
        "restart: jobs left running": lambda: store.running_on("elsewhere"),
        "estimate: process history": lambda: store.history("demo", "echo", 20),
        "cache lookup": lambda: store.cached("demo", "0" * 64, utcnow() - timedelta(days=7)),
        "list+count (store)": lambda: store.list("demo", 10, 0, JobQuery()),
        "log page": lambda: logs.page(some, None, LogLevel.DEBUG, 100),
        "metrics: count per workspace/status": store.count_by_workspace_and_status,
    }


def timed(call: Callable[[], object], seconds: float = 0.5) -> float:
    """The fastest of the calls of ``call`` made in ``seconds``, in microseconds: on a
    machine shared with other work, the cost of the call itself, less what others took."""
    call()
    times = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 5:
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times) * 1e6


def main() -> None:
    # A kill (not only Ctrl-C) stops the servers and drops the bench databases.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--seconds", type=float, default=4.0, help="load per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--large", type=int, default=LARGE, help="jobs of the large store")
    args = parser.parse_args()
    if args.postgres and not postgres_reachable():
        raise SystemExit("--postgres: no PostgreSQL answers (ADES_TEST_POSTGRES_URL)")
    sizes = {"small": SMALL, "large": args.large}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        root = Path(tmp)
        urls, bases = {}, {}
        for name, count in sizes.items():
            (root / name).mkdir()
            urls[name] = (stack.enter_context(postgres_database()) if args.postgres
                          else f"sqlite:///{root / name / 'ades.db'}")  # fmt: skip
            start = time.perf_counter()
            seed(urls[name], count, seed_value=len(name))
            print(f"{name}: {count} jobs inserted in {time.perf_counter() - start:.1f} s",
                  flush=True)
        for name in sizes:
            _, bases[name] = stack.enter_context(separate(
                root / name, workspaces=str(REPO / "workspaces"), max_jobs="2",
                database_url=urls[name]))  # fmt: skip
        paths = {name: reads(bases[name], urls[name]) for name in sizes}
        database = "PostgreSQL" if args.postgres else "SQLite"
        print(f"\n{database}; {generator()}, {args.connections} connections, {args.seconds:g} s "
              f"x {args.rounds} interleaved rounds; best req/s of each")
        print(f"  {'read':<22} {SMALL:>9} {args.large:>9}   ratio  failed")
        for read in paths["small"]:
            best = {name: 0.0 for name in sizes}
            failed = 0
            for _ in range(args.rounds):
                for name in sizes:
                    load = measure(bases[name] + paths[name][read],
                                   connections=args.connections, duration=args.seconds)
                    best[name] = max(best[name], load.rps)
                    failed += load.failed
            print(f"  {read:<22} {best['small']:9.0f} {best['large']:9.0f}   "
                  f"{best['large'] / best['small']:5.2f}  {failed}", flush=True)
        work = {name: store_work(urls[name]) for name in sizes}
        print(f"\nstore work, µs per call, the fastest (in this process, {database})")
        print(f"  {'work':<38} {SMALL:>9} {args.large:>9}   ratio")
        for what in work["small"]:
            small = min(timed(work["small"][what]) for _ in range(args.rounds))
            large = min(timed(work["large"][what]) for _ in range(args.rounds))
            print(f"  {what:<38} {small:9.0f} {large:9.0f}   {large / small:5.2f}", flush=True)


if __name__ == "__main__":
    main()
