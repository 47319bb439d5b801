"""What the deploy tests share: the packages under data/packages with an id of the test's
own (the live server is shared by the whole session), and a plain HTTP server for
packages linked by href."""

from __future__ import annotations

import functools
import http.server
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PACKAGES = Path(__file__).resolve().parent / "data" / "packages"
PART2 = "http://www.opengis.net/def/exceptions/ogcapi-processes-2/1.0/"
OGC1 = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
CONF2 = "http://www.opengis.net/spec/ogcapi-processes-2/1.0/conf/"
CWL_YAML = {"Content-Type": "application/cwl+yaml"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def package(name: str, process_id: str | None = None) -> str:
    """The text of ``data/packages/<name>.cwl``, its entry renamed ``process_id``."""
    text = (PACKAGES / f"{name}.cwl").read_text()
    if process_id is None:
        return text
    return text.replace(f"id: {name}", f"id: {process_id}")


@contextmanager
def http_files(folder: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving ``folder``; yields its base URL."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass
