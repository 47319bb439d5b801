"""What the deploy tests share: the packages under data/packages with an id of the test's
own (the live server is shared by the whole session), and a plain HTTP server for
packages linked by href."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.stac_data import http_server

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


# Packages are served over HTTP by the same local server as the STAC test data.
http_files = http_server
