"""openEO results: a batch job's results as STAC, and synchronous processing."""

from __future__ import annotations

from typing import Any

from flask import Response


def job_results(workspace: str, job_id: str) -> Response:
    raise NotImplementedError


def process_sync(workspace: str, body: dict[str, Any]) -> Response:
    raise NotImplementedError
