"""Wiring: what create_app does at start, with real S3 (the session's SeaweedFS) and SQLite."""

from __future__ import annotations

import uuid
from datetime import timedelta

from ades.app import create_app
from ades.model import Job, JobStatus, LogLevel, utcnow
from ades.settings import Settings


def _settings(seaweedfs, data_dir, database, workspaces):
    return Settings(
        data_dir=data_dir,
        workspaces=workspaces,
        database_url=database,
        s3_endpoint=seaweedfs.endpoint,
        s3_access_key=seaweedfs.access_key,
        s3_secret_key=seaweedfs.secret_key,
        s3_bucket="test-app",
        max_jobs=1,
    )


def test_a_restarted_server_takes_back_only_the_jobs_it_left_running(seaweedfs, tmp_path):
    """Two replicas share a database, each with its own data dir. When one restarts, the
    jobs it left running are taken back: queued once more, or failed when they had their
    second run already; those the other replica runs are left alone."""
    (tmp_path / "workspaces" / "ws").mkdir(parents=True)
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    settings = _settings(seaweedfs, tmp_path / "a", database, tmp_path / "workspaces")
    other = _settings(seaweedfs, tmp_path / "b", database, tmp_path / "workspaces")

    jobs = {}
    for name, owner, attempts in (
        ("first run", settings, 0),
        ("second run", settings, 1),
        ("theirs", other, 0),
    ):
        server = create_app(owner)
        store = server.services.store
        job = Job(id=str(uuid.uuid4()), workspace="ws", process_id="gone", attempts=attempts)
        store.add(job)
        runner = (owner.data_dir / "server-id").read_text()
        assert store.claim(job.id, runner, utcnow() + timedelta(hours=1))
        jobs[name] = job.id
        server.close()

    restarted = create_app(settings)
    try:
        store = restarted.services.store
        logs = restarted.services.logs
        # (It runs again, and fails: its process is gone; that is beside the point.)
        requeued = logs.page(jobs["first run"], None, LogLevel.WARNING, 10)
        assert requeued[0].message == "job queued again: the server running it stopped"
        lost = store.get("ws", jobs["second run"])
        assert lost.status is JobStatus.FAILED
        assert lost.failure == {"category": "system"}
        assert "the server running it stopped" in lost.message
        assert store.get("ws", jobs["theirs"]).status is JobStatus.RUNNING
    finally:
        restarted.close()
