"""ASGI middleware in front of Connexion that refuses what it must not read: a body larger
than ``ADES_MAX_BODY_BYTES`` (413) before any of it is parsed or stored, and a path or query
holding control characters (400)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_CONTROL = re.compile("[\x00-\x1f\x7f]")


class NoControlCharacters:
    """No id, name or parameter of this API holds a control character. A path with a
    newline slips past Connexion's router (its mount pattern stops at line ends) into Flask
    without an operation, a 500; a NUL reaches the database, which PostgreSQL refuses."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"").decode("latin-1")
            for where, text in [("path", scope["path"])] + [
                (f"query parameter '{name}'", name + value)
                for name, value in parse_qsl(query, keep_blank_values=True)
            ]:
                found = _CONTROL.search(text)
                if found:
                    raise HTTPException(
                        400,
                        f"the request {where} holds a control character "
                        f"(U+{ord(found.group()):04X}): no id or parameter takes one",
                    )
        await self.app(scope, receive, send)


class BodyLimit:
    """Checks ``Content-Length`` up front, and counts a body sent without one (chunked) as
    it arrives. The body is read here, at most ``limit`` bytes of it, and replayed to the
    app: Connexion's validators and Flask would otherwise read any size into memory.

    It sits behind Connexion's exception middleware, so the HTTPException it raises is
    rendered by the one error table like any other refusal."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            raise self._too_large(f"is {declared} bytes (Content-Length)")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away before the body ended: nothing to serve.
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                raise self._too_large("goes on past that")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if declared is None and body:
            # Flask reads no body without a Content-Length (a chunked request would reach
            # the handlers empty): the length is known now, so say it.
            headers = [(k, v) for k, v in scope["headers"] if k != b"transfer-encoding"]
            headers.append((b"content-length", str(len(body)).encode()))
            scope = {**scope, "headers": headers}
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self, size: str) -> HTTPException:
        return HTTPException(
            413,
            f"this server takes request bodies of at most {self.limit} bytes "
            f"(ADES_MAX_BODY_BYTES); this one {size}",
        )


def _content_length(scope: Scope) -> int | None:
    """The declared length; None when absent. A value that is not a length is left to the
    HTTP server, which refuses it before the app sees the request."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
