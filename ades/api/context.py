"""What a request handler needs besides its parameters: the wired services of this
server, and the absolute URLs of the workspace root the request came in under."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, request

from ades.api.views import Urls
from ades.services import Services


def services() -> Services:
    return current_app.extensions["ades"]


def workspace_urls(workspace: str, root: str) -> Urls:
    """URLs under ``/{workspace}/{root}`` of this host; 404 for an unknown workspace."""
    services().workspaces.check(workspace)
    return Urls(f"{request.host_url.rstrip('/')}/{workspace}/{root}", root)


def page_links(
    url: str,
    offset: int,
    limit: int,
    total: int | None,
    params: list[tuple[str, str]] | None = None,
) -> dict[str, str]:
    """self/next/prev hrefs of one page of a listing at ``url``; ``params`` (the listing's
    filters) are carried into each."""

    def href(at: int) -> str:
        return f"{url}?{urlencode([*(params or []), ('limit', limit), ('offset', at)])}"

    links = {"self": href(offset)}
    if total is None or offset + limit < total:  # None: too many to count, so more follow
        links["next"] = href(offset + limit)
    if offset > 0:
        links["prev"] = href(max(offset - limit, 0))
    return links


def json_response(
    doc: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
    mimetype: str = "application/json",
) -> Response:
    return Response(json.dumps(doc), status, headers=headers, mimetype=mimetype)


def no_content() -> Response:
    """A 204: no body, so no Content-Type (Flask would label the empty body text/html)."""
    response = Response(status=204)
    del response.headers["Content-Type"]
    return response
