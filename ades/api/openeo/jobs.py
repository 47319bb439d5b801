"""openEO batch jobs over the workspace's jobs."""

from __future__ import annotations

from typing import Any

from flask import Response


def list_jobs(workspace: str, limit: int | None = None, offset: int = 0) -> Response:
    raise NotImplementedError


def create_job(workspace: str, body: dict[str, Any]) -> Response:
    raise NotImplementedError


def describe_job(workspace: str, job_id: str) -> Response:
    raise NotImplementedError


def update_job(workspace: str, job_id: str, body: dict[str, Any]) -> Response:
    raise NotImplementedError


def delete_job(workspace: str, job_id: str) -> Response:
    raise NotImplementedError


def start_job(workspace: str, job_id: str) -> Response:
    raise NotImplementedError


def stop_job(workspace: str, job_id: str) -> Response:
    raise NotImplementedError


def job_logs(
    workspace: str,
    job_id: str,
    offset: str | None = None,
    level: str | None = None,
    limit: int | None = None,
) -> Response:
    raise NotImplementedError


def estimate_job(workspace: str, job_id: str) -> Response:
    raise NotImplementedError
