"""Job management (OGC API - Processes Part 4, openEO batch jobs): create without
running, update, start, stop, definition, logs and estimate."""

from __future__ import annotations

from typing import Any

from flask import Response


def _todo(**_: Any) -> Response:
    return Response("not implemented yet", 501)


create = update = start = stop = definition = logs = estimate = _todo
