"""How well jobs spread over workers: N trivial jobs (the demo `echo`) submitted at once,
on 1 and on 2 workers of each executor (the local pool's slots in one `ades serve`
process, and two worker processes of `ades serve --workers 2` of one slot each; Celery
`ades worker` processes of one slot each, on PostgreSQL and Redis). Prints the wall time
from the first submission to the last end (the latest ``finished`` the jobs report) against
the ideal, jobs x one job's time / workers, as a ratio (1.0 is perfect; more is overhead
or contention). One job's time is measured in the same deployment just before its burst
(the median of a few bursts of one job, timed the same way), so the ratio stays meaningful
however fast a job gets. The result cache is off: every job runs. Under each line, the
machine's whole CPU time over the burst spread over its cores: the least the burst could
take, whoever used it.

    make bench            # or: .venv/bin/python bench/throughput.py --jobs 200

The Celery runs need the machine's PostgreSQL and Redis (ADES_TEST_POSTGRES_URL,
ADES_TEST_REDIS_URL as for the tests); without them only the local runs are made.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import psutil
import requests
from live_server import running, separate

from ades.objectstore.seaweedfs import EmbeddedSeaweedFS
from ades.settings import Settings

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the tests' helpers that start workers and databases

from tests.distributed import (  # noqa: E402
    BROKERS,
    broker_queue,
    broker_reachable,
    distributed_settings,
    postgres_database,
    postgres_reachable,
    workers,
)

ECHO = "/demo/ogc-api/processes/echo/execution"
BODY = {"inputs": {"stringInput": "hello bench"}}


def burst(base: str, jobs: int) -> tuple[float, float]:
    """Seconds from the first submission of ``jobs`` async jobs to the end of the last, as
    the jobs' own ``finished`` times say (the polling below only finds out that they are
    done, and adds nothing to the figure); and the mean time a job ran (its ``started``
    to its ``finished``), which tells slower runs from time between runs."""
    session = requests.Session()
    ids = []
    start = datetime.now(UTC)
    for _ in range(jobs):
        r = session.post(base + ECHO, json=BODY, headers={"Prefer": "respond-async"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["jobID"])
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        left = session.get(base + "/demo/ogc-api/jobs",
                           params={"status": ["accepted", "running"], "limit": 1}).json()
        if not left["jobs"]:
            break
        # A poll with a deadline, seldom enough not to slow the server it counts on; the
        # figure comes from the jobs' own times.
        time.sleep(0.5)
    mine = set(ids)
    found = session.get(base + "/demo/ogc-api/jobs", params={"limit": 10000}).json()["jobs"]
    ours = [job for job in found if job["jobID"] in mine]
    assert len(ours) == jobs and all(j["status"] == "successful" for j in ours), [
        (j["jobID"], j["status"], j.get("message")) for j in ours if j["status"] != "successful"]
    last = max(datetime.fromisoformat(job["finished"]) for job in ours)
    ran = statistics.mean(
        (datetime.fromisoformat(j["finished"]) - datetime.fromisoformat(j["started"]))
        .total_seconds() for j in ours)
    return (last - start).total_seconds(), ran


@contextmanager
def local(settings: Settings, slots: int, processes: int = 1) -> Iterator[str]:
    """`ades serve` in a process of its own (``processes`` workers sharing ``slots``
    slots), so that this client's requests do not share the server's interpreter as they
    would in a thread."""
    env = {name: str(getattr(settings, name)) for name in (
        "workspaces", "s3_endpoint", "s3_access_key", "s3_secret_key", "result_downloads",
        "cache_ttl")}  # fmt: skip
    with separate(settings.data_dir, workers=str(processes), max_jobs=str(slots),
                  **env) as (_, base):  # fmt: skip
        yield base


@contextmanager
def celery(settings: Settings, count: int, root: Path) -> Iterator[str]:
    broker = BROKERS["redis"]
    with ExitStack() as stack:
        database = stack.enter_context(postgres_database())
        queue = stack.enter_context(broker_queue(broker))
        settings = distributed_settings(settings, database, broker, queue)
        _, base = stack.enter_context(running(settings))
        stack.enter_context(workers(settings, root, count=count, concurrency=1))
        yield base


def measure(name: str, deployment, workers: int, jobs: int) -> None:
    """One job's time (bursts of one, before and after the burst of ``jobs``, so that a
    machine busier or quieter meanwhile weighs on both) against the burst's wall time."""
    with deployment as base:
        for _ in range(2):
            burst(base, 1)  # warm-up
        alone = [burst(base, 1) for _ in range(3)]
        before = busy_cpu()
        wall, ran = burst(base, jobs)
        # The whole machine's CPU time over the burst (server, cwltool runs, S3, broker,
        # database, this client): spread over every core, the shortest the burst could be.
        floor = (busy_cpu() - before) / psutil.cpu_count()
        alone += [burst(base, 1) for _ in range(3)]
    single = statistics.median(t for t, _ in alone)
    ideal = jobs * single / workers
    # What the workers spent not running a job, per job: claiming, queueing, bookkeeping;
    # and the wall time against the jobs' own run times in the burst, which leaves out how
    # much slower each job ran there (contention, or a machine busier than for the one job).
    idle = (wall * workers - ran * jobs) / jobs
    busy = jobs * ran / workers
    print(f"  {name:<20} one job {single:5.2f} s  wall {wall:6.1f} s  ideal {ideal:6.1f} s"
          f"  ratio {wall / ideal:.2f}  (in the burst each ran {ran:.2f} s, idle {idle:.2f} s"
          f" per job; wall / runs {wall / busy:.2f})", flush=True)
    print(f"  {'':<20} the machine's CPU over the burst allows no less than {floor:6.1f} s"
          f" on {psutil.cpu_count()} cores: wall / that {wall / floor:.2f}", flush=True)


def busy_cpu() -> float:
    """Seconds of CPU the machine has spent busy (all cores) since it started."""
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--executors", nargs="+", choices=["local", "celery"],
                        default=["local", "celery"])
    args = parser.parse_args()
    jobs = args.jobs
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        s3 = EmbeddedSeaweedFS(root / "s3", "bench", "bench-secret")
        s3.start()
        try:
            base = Settings(data_dir=root / "data", workspaces=REPO / "workspaces",
                            s3_endpoint=s3.endpoint, s3_access_key="bench",
                            s3_secret_key="bench-secret", result_downloads="stream",
                            cache_ttl=0)
            print(f"{jobs} echo jobs submitted at once; wall time against the ideal")
            for n in (1, 2) if "local" in args.executors else ():
                measure(f"local, {n} slot(s)", local(replace(base, data_dir=root / f"l{n}"), n),
                        n, jobs)
            if "local" in args.executors:
                # The default of `ades serve` on two cores: two worker processes of one slot.
                measure("local, 2 workers", local(replace(base, data_dir=root / "w2"), 2, 2),
                        2, jobs)
            if "celery" not in args.executors:
                return
            if not (postgres_reachable() and broker_reachable(BROKERS["redis"])):
                print("  celery: skipped (no PostgreSQL or Redis answers)")
                return
            for n in (1, 2):
                measure(f"celery, {n} worker(s)",
                        celery(replace(base, data_dir=root / f"c{n}"), n, root / f"c{n}"),
                        n, jobs)
        finally:
            s3.stop()


if __name__ == "__main__":
    main()
