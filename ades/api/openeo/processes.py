"""openEO's process list and file formats: the workspace's deployed processes."""

from __future__ import annotations

from flask import Response


def list_processes(workspace: str, limit: int | None = None) -> Response:
    raise NotImplementedError  # filled by the openEO batch jobs step


def file_formats(workspace: str) -> Response:
    raise NotImplementedError
