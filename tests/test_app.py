"""Wiring: what create_app does at start, with real S3 (the session's SeaweedFS) and SQLite."""

from __future__ import annotations

import uuid

from ades.app import create_app
from ades.model import Job, JobStatus
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


def test_a_restarted_server_fails_only_the_jobs_it_left_running(seaweedfs, tmp_path):
    """Two replicas share a database, each with its own data dir. When one restarts, the
    jobs it left running end failed; those the other replica runs are left alone."""
    (tmp_path / "workspaces" / "ws").mkdir(parents=True)
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    settings = _settings(seaweedfs, tmp_path / "a", database, tmp_path / "workspaces")
    other = _settings(seaweedfs, tmp_path / "b", database, tmp_path / "workspaces")

    jobs = {}
    for name, owner in (("mine", settings), ("theirs", other)):
        server = create_app(owner)
        store = server.services.jobs.store
        job = Job(id=str(uuid.uuid4()), workspace="ws", process_id="gone")
        store.add(job)
        runner = (owner.data_dir / "server-id").read_text()
        assert store.transition(job.id, JobStatus.RUNNING, runner=runner)
        jobs[name] = job.id
        server.close()

    restarted = create_app(settings)
    try:
        store = restarted.services.jobs.store
        mine = store.get("ws", jobs["mine"])
        assert mine.status is JobStatus.FAILED
        assert "server stopped" in mine.message
        assert store.get("ws", jobs["theirs"]).status is JobStatus.RUNNING
    finally:
        restarted.close()
