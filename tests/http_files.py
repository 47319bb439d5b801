"""A small HTTP server of files held in memory, each with the validators (ETag,
Last-Modified) the test gives it, changeable while it serves: what the result cache's
fingerprints read."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Files:
    base: str
    # path -> (bytes, headers)
    held: dict[str, tuple[bytes, dict[str, str]]] = field(default_factory=dict)
    # (method, path) of every request, in order.
    requests: list[tuple[str, str]] = field(default_factory=list)
    # Paths whose HEAD is refused (405), as a URL presigned for GET refuses it.
    no_head: set[str] = field(default_factory=set)

    def put(self, path: str, data: bytes, **headers: str) -> str:
        """Serve ``data`` at ``path`` with ``headers`` (etag="…" gives ETag; modified="…"
        Last-Modified); returns its URL."""
        names = {"etag": "ETag", "modified": "Last-Modified"}
        self.held[path] = (data, {names.get(k, k): v for k, v in headers.items()})
        return self.base + path


@contextmanager
def file_server() -> Iterator[Files]:
    files = Files("")

    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(body=False)

        def do_GET(self) -> None:  # noqa: N802
            self._answer(body=True)

        def _answer(self, body: bool) -> None:
            files.requests.append((self.command, self.path))
            if not body and self.path in files.no_head:
                self.send_error(405)
                return
            found = files.held.get(self.path)
            if found is None:
                self.send_error(404)
                return
            data, headers = found
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if body:
                self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    files.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield files
    finally:
        httpd.shutdown()
        httpd.server_close()
