"""Probes of the server as a whole, outside any workspace: ``/healthz`` (the process
answers) and ``/readyz`` (it can serve requests: its database, its S3 and whatever else
``Services.readiness`` lists answer)."""

from __future__ import annotations

from flask import Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ades.api.context import Services, json_response, services


def healthz() -> Response:
    return json_response({"status": "alive"})


def readyz() -> Response:
    ades = services()
    checks = [lambda: _database(ades), ades.objects.unready_reason, *ades.readiness]
    reasons = [reason for reason in (check() for check in checks) if reason]
    if reasons:
        return json_response({"status": "not ready", "reasons": reasons}, 503)
    return json_response({"status": "ready", "reasons": []})


def _database(ades: Services) -> str | None:
    try:
        with ades.database.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as err:
        return f"database: {str(err).splitlines()[0]}"
    return None
