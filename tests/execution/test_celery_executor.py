"""Jobs run by Celery workers, on both brokers, with real `ades worker` subprocesses and a
PostgreSQL database made for the module: two API replicas serving the same jobs, a dismiss
reaching the tool on a worker, a worker killed mid-job, a broker restarted while jobs wait,
and one workspace's burst not starving another."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime

import psutil
import pytest

from ades.execution.celery_executor import celery_app
from ades.settings import Settings
from tests.api.conftest import Live, poll, serve, server_settings
from tests.distributed import (
    BROKERS,
    PrivateRedis,
    Worker,
    broker_queue,
    distributed_settings,
    postgres_database,
    require_redis_server,
    workers,
)

ASYNC = {"Prefer": "respond-async"}
# Seconds a running job's lease lasts here: short, so a lost worker is found soon.
LEASE = 4.0
FINISHED = {"successful", "failed", "dismissed"}


@dataclass
class Cluster:
    a: Live
    b: Live
    workers: list[Worker]
    settings: Settings

    def sleep(self, seconds: float, on: Live | None = None) -> str:
        """Submit the lab's sleep job (async) on ``on`` (replica A); its status URL."""
        r = (on or self.a).post("/lab/ogc-api/processes/sleep/execution",
                                json={"inputs": {"seconds": seconds}}, headers=ASYNC)
        assert r.status_code == 201, r.text
        return r.headers["Location"]

    def tool(self, seconds: float) -> tuple[Worker, psutil.Process]:
        """The worker running ``sleep <seconds>``, and that tool process, once it runs."""

        def find() -> tuple[Worker, psutil.Process] | None:
            for worker in self.workers:
                for p in worker.descendants():
                    try:
                        args = p.cmdline()
                        if p.name() == "sleep" and len(args) == 2 and float(args[1]) == seconds:
                            return worker, p
                    except psutil.NoSuchProcess:
                        continue
            return None

        return poll(find, lambda found: found is not None, deadline=60)


@pytest.fixture(scope="module", params=sorted(BROKERS))
def cluster(request, seaweedfs, tmp_path_factory) -> Iterator[Cluster]:
    """Two API replicas (A and B) on one database and broker, and two workers of one job
    slot each."""
    broker = BROKERS[request.param]
    root = tmp_path_factory.mktemp(f"cluster-{request.param}")
    base = server_settings(root / "a", seaweedfs, bucket=f"ades-cluster-{request.param}")
    with postgres_database() as database, broker_queue(broker) as queue:
        settings = distributed_settings(base, database, broker, queue, job_lease=LEASE)
        with (
            serve(settings) as a,
            serve(replace(settings, data_dir=root / "b" / "data")) as b,
            workers(settings, root, count=2, concurrency=1) as started,
        ):
            yield Cluster(a, b, started, settings)


def test_a_job_submitted_on_one_replica_is_served_by_the_other(cluster):
    # Sync execute on A answers once a worker has run the job.
    r = cluster.a.post("/demo/ogc-api/processes/echo/execution",
                       json={"inputs": {"stringInput": "hello"}},
                       headers={"Accept": "text/plain"})
    assert r.status_code == 200, r.text
    assert "hello" in r.text
    # An async job of A: listed, watched and its results read on B.
    location = cluster.sleep(0.5)
    job_id = location.rsplit("/", 1)[1]
    on_b = cluster.b.url(f"/lab/ogc-api/jobs/{job_id}")
    listed = cluster.b.get("/lab/ogc-api/jobs").json()["jobs"]
    assert job_id in [j["jobID"] for j in listed]
    assert cluster.b.wait_for(on_b, FINISHED)["status"] == "successful"
    results = cluster.b.get(f"/lab/ogc-api/jobs/{job_id}/results")
    assert results.status_code == 200, results.text
    assert "slept" in results.json()


def test_prefer_wait_on_one_replica_sees_the_end_on_a_worker(cluster):
    r = cluster.b.post("/demo/ogc-api/processes/echo/execution",
                       json={"inputs": {"stringInput": "waited", "pause": 0.5}},
                       headers={"Prefer": "wait=60", "Accept": "text/plain"})
    assert r.status_code == 200, r.text
    assert r.headers["Preference-Applied"] == "wait=60"
    assert r.text == "waited"


def test_a_dismiss_on_one_replica_kills_the_tool_on_a_worker(cluster):
    location = cluster.sleep(61)
    job_id = location.rsplit("/", 1)[1]
    _, tool = cluster.tool(61)
    r = cluster.b.delete(f"/lab/ogc-api/jobs/{job_id}")
    assert r.status_code == 200, r.text
    poll(lambda: tool.is_running() and tool.status() != psutil.STATUS_ZOMBIE,
         lambda running: not running, deadline=30)
    assert cluster.a.get(f"/lab/ogc-api/jobs/{job_id}").json()["status"] == "dismissed"


def test_a_worker_killed_mid_job_is_replaced_and_the_job_ends(cluster):
    location = cluster.sleep(3.5)
    job_id = location.rsplit("/", 1)[1]
    victim, tool = cluster.tool(3.5)
    victim.kill()
    # The dead worker's cwltool takes its tools down with it: nothing keeps computing.
    poll(lambda: tool.is_running() and tool.status() != psutil.STATUS_ZOMBIE,
         lambda running: not running, deadline=30)
    # Queued again once the lease has run out, and run by the other worker; or failed,
    # saying why. Never left running.
    done = cluster.b.wait_for(cluster.b.url(f"/lab/ogc-api/jobs/{job_id}"), FINISHED,
                              deadline=120)
    if done["status"] == "failed":
        assert "worker was lost" in done["message"]
    else:
        assert done["status"] == "successful", done
    logs = cluster.b.get(f"/lab/ogc-api/jobs/{job_id}/logs").text
    assert "lost" in logs or "again" in logs
    # The cluster gets its second worker back for the tests after this one.
    index = cluster.workers.index(victim)
    cluster.workers[index] = Worker(victim.settings, victim.concurrency, victim.log).start()
    cluster.workers[index].wait_ready()


def test_readyz_says_the_broker_answers(cluster):
    r = cluster.a.get("/readyz")
    assert r.status_code == 200, r.text


@pytest.fixture
def one_worker(seaweedfs, tmp_path) -> Iterator[tuple[Live, PrivateRedis, Worker]]:
    """An API server and one worker of one slot, on a Redis server of the test's own."""
    require_redis_server()
    redis = PrivateRedis(tmp_path / "redis").start()
    base = server_settings(tmp_path, seaweedfs, bucket="ades-one-worker")
    try:
        with postgres_database() as database:
            settings = distributed_settings(base, database, redis.url, "ades", job_lease=LEASE)
            with serve(settings) as live, workers(settings, tmp_path, 1, 1) as started:
                yield live, redis, started[0]
    finally:
        redis.stop()


def test_jobs_waiting_on_a_restarted_broker_all_run(one_worker):
    live, redis, _ = one_worker
    locations = []
    for seconds in (2, 0.1, 0.1):
        r = live.post("/lab/ogc-api/processes/sleep/execution",
                      json={"inputs": {"seconds": seconds}}, headers=ASYNC)
        assert r.status_code == 201, r.text
        locations.append(r.headers["Location"])
    live.wait_for(locations[0], {"running"})
    redis.stop()
    # Not ready while the broker is away, and saying so.
    r = live.get("/readyz")
    assert r.status_code == 503
    assert any(reason.startswith("broker:") for reason in r.json()["reasons"]), r.text
    redis.start()
    for location in locations:
        assert live.wait_for(location, FINISHED, deadline=120)["status"] == "successful"
    # And the API's own connection came back: a job submitted now runs too.
    r = live.post("/lab/ogc-api/processes/sleep/execution",
                  json={"inputs": {"seconds": 0.1}}, headers=ASYNC)
    assert r.status_code == 201, r.text
    assert live.wait_for(r.headers["Location"], FINISHED)["status"] == "successful"


def test_a_burst_of_one_workspace_does_not_starve_another(one_worker):
    live, _, _ = one_worker
    burst = []
    for seconds in (2, 0.1, 0.1, 0.1, 0.1):
        r = live.post("/lab/ogc-api/processes/sleep/execution",
                      json={"inputs": {"seconds": seconds}}, headers=ASYNC)
        burst.append(r.headers["Location"])
    r = live.post("/demo/ogc-api/processes/echo/execution",
                  json={"inputs": {"stringInput": "me too"}}, headers=ASYNC)
    other = r.headers["Location"]
    ended = [live.wait_for(url, FINISHED) for url in [*burst, other]]
    assert all(job["status"] == "successful" for job in ended), ended
    started = sorted(ended, key=lambda job: datetime.fromisoformat(job["started"]))
    # One slot, and first in first out would run the other workspace's job last (6th):
    # it overtakes the burst's queued jobs instead.
    assert [job["jobID"] for job in started].index(ended[-1]["jobID"]) <= 2


def test_settings_name_a_broker_url_that_is_not_one():
    with pytest.raises(ValueError, match="ADES_BROKER_URL='http://broker'"):
        celery_app(Settings(executor="celery", broker_url="http://broker"))
    with pytest.raises(ValueError, match="ADES_BROKER_URL=''"):
        celery_app(Settings(executor="celery"))
