"""The server the benchmarks drive: ``create_app`` under uvicorn on a free port of 127.0.0.1,
in a thread of the benchmark's own process, stopped (and its app closed) on exit; or
`ades serve` in a process of its own (``separate``), whose figures no client in the
benchmark's process disturbs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
import uvicorn

from ades.app import Server, create_app
from ades.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(settings: Settings) -> Iterator[tuple[Server, str]]:
    """The started server and its base URL."""
    server = create_app(settings)
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(server.app, host="127.0.0.1", port=port,
                                       log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not uv.started:
        if time.monotonic() > deadline:
            raise SystemExit("server did not start")
        time.sleep(0.05)
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=30)
        server.close()


@contextmanager
def separate(data_dir: Path, **env: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """`ades serve` with its data in ``data_dir`` and ``env`` as ADES_* variables (names
    without the prefix, e.g. ``max_jobs="2"``), in a process of its own; the process and
    its base URL once /readyz answers. Its output goes to ``<data_dir>.log``."""
    port = free_port()
    variables = {**os.environ, "ADES_DATA_DIR": str(data_dir), "ADES_PORT": str(port)}
    variables.update({f"ADES_{name.upper()}": value for name, value in env.items()})
    log = Path(f"{data_dir}.log").open("w")
    ades = Path(sys.executable).with_name("ades")
    process = subprocess.Popen([str(ades), "serve"], env=variables, stdout=log,
                               stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server in {data_dir} did not start: see {log.name}")
            time.sleep(0.2)
        yield process, base
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()
