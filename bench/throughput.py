"""How well jobs spread over workers: N trivial jobs (the demo `echo`) submitted at once,
on 1 and on 2 workers of each executor (the local pool's slots in `ades serve`; Celery
`ades worker` processes of one slot each, on PostgreSQL and Redis). Prints the wall time
from the first submission to the last end against the ideal, jobs x one job's time /
workers, as a ratio (1.0 is perfect; more is overhead or contention).

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
from pathlib import Path

import requests
from live_server import running

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


def one_job(base: str) -> float:
    start = time.perf_counter()
    r = requests.post(base + ECHO, json=BODY, headers={"Accept": "text/plain"}, timeout=300)
    assert r.status_code == 200 and r.text == "hello bench", r.text
    return time.perf_counter() - start


def burst(base: str, jobs: int) -> float:
    """Seconds from the first submission of ``jobs`` async jobs to the end of the last."""
    session = requests.Session()
    start = time.perf_counter()
    for _ in range(jobs):
        r = session.post(base + ECHO, json=BODY, headers={"Prefer": "respond-async"})
        assert r.status_code == 201, r.text
    while True:
        left = session.get(base + "/demo/ogc-api/jobs",
                           params={"status": ["accepted", "running"], "limit": 1}).json()
        if left["numberMatched"] == 0:
            break
        time.sleep(0.2)
    elapsed = time.perf_counter() - start
    failed = session.get(base + "/demo/ogc-api/jobs",
                         params={"status": ["failed", "dismissed"], "limit": 1}).json()
    assert failed["numberMatched"] == 0, failed
    return elapsed


@contextmanager
def local(settings: Settings, slots: int) -> Iterator[str]:
    with running(replace(settings, max_jobs=slots)) as (_, base):
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
    with deployment as base:
        one_job(base)  # warm-up
        single = statistics.median(one_job(base) for _ in range(3))
        wall = burst(base, jobs)
    ideal = jobs * single / workers
    print(f"  {name:<26} one job {single:5.2f} s  wall {wall:7.1f} s  "
          f"ideal {ideal:7.1f} s  ratio {wall / ideal:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    jobs = parser.parse_args().jobs
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        s3 = EmbeddedSeaweedFS(root / "s3", "bench", "bench-secret")
        s3.start()
        try:
            base = Settings(data_dir=root / "data", workspaces=REPO / "workspaces",
                            s3_endpoint=s3.endpoint, s3_access_key="bench",
                            s3_secret_key="bench-secret", result_downloads="stream")
            print(f"{jobs} echo jobs submitted at once; wall time against the ideal")
            for n in (1, 2):
                measure(f"local, {n} slot(s)", local(replace(base, data_dir=root / f"l{n}"), n),
                        n, jobs)
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
