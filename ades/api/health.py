"""Probes of the server as a whole, outside any workspace: ``/healthz`` (the process
answers) and ``/readyz`` (it can serve requests: its database, its S3 and, with Celery,
its broker answer)."""

from __future__ import annotations

from flask import Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ades.api.context import json_response, services


def healthz() -> Response:
    return json_response({"status": "alive"})


def readyz() -> Response:
    ades = services()
    reasons = []
    try:
        with ades.database.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as err:
        reasons.append(f"database: {str(err).splitlines()[0]}")
    s3 = ades.objects.unready_reason()
    if s3:
        reasons.append(s3)
    broker = ades.jobs.executor.unready_reason()
    if broker:
        reasons.append(broker)
    if reasons:
        return json_response({"status": "not ready", "reasons": reasons}, 503)
    return json_response({"status": "ready", "reasons": []})
