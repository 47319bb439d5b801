"""``/metrics``: Prometheus's text exposition of the server, outside any workspace and
without authentication, like the probes (see ``ades.metrics`` for what it holds)."""

from __future__ import annotations

from flask import Response

from ades import metrics as ades_metrics
from ades.api.context import services


def metrics() -> Response:
    store = services().jobs.store
    body = ades_metrics.exposition(store.count_by_workspace_and_status)
    return Response(body, 200, content_type=ades_metrics.CONTENT_TYPE)
