"""pygeoapi as its operators run it, for the edge benchmark (bench/edge.py) and the client
tests (tests/client/test_pygeoapi.py): version 0.21 installed once into a venv of its own
under .venv/ and reused, configured with its hello-world process and the TinyDB job manager
(so that it runs jobs asynchronously too), served by gunicorn; ``started`` runs a server
as a process group and stops it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYGEOAPI = "pygeoapi==0.21.*"
# pip may take long on a slow index; an install that hangs must not hang a test session.
INSTALL_TIMEOUT = 600


class InstallFailed(Exception):
    """pip could not install pygeoapi (no network, no such version): the message says why."""


def pygeoapi_venv(venv: Path, extra: tuple[str, ...] = ()) -> Path:
    """The venv's bin folder holding pygeoapi and gunicorn (and ``extra`` packages), made
    only when one of them is missing."""
    bin_dir = venv / "bin"
    wanted = ["pygeoapi", "gunicorn", *extra]
    if all((bin_dir / name).exists() for name in wanted):
        return bin_dir
    print(f"installing {PYGEOAPI}, {', '.join(wanted[1:])} into {venv} (once)", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                       capture_output=True, text=True, timeout=120)
        subprocess.run([str(bin_dir / "pip"), "install", "--quiet", PYGEOAPI, *wanted[1:]],
                       check=True, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    except subprocess.CalledProcessError as err:
        raise InstallFailed(f"{err}:\n{(err.stderr or '').strip()[-2000:]}") from None
    except subprocess.TimeoutExpired as err:
        raise InstallFailed(f"pip did not finish within {err.timeout:g} s") from None
    return bin_dir


CONFIG = """\
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  language: en-US
  limits: {{default_items: 10, max_items: 50}}
  map: {{url: 'https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png', attribution: OSM}}
  manager:
    name: TinyDB
    connection: {jobs}
    output_dir: {outputs}
logging:
  level: ERROR
metadata:
  identification:
    title: pygeoapi
    description: pygeoapi with its hello-world process, next to ours
    keywords: [bench]
    keywords_type: theme
    terms_of_service: https://example.org
    url: https://example.org
  license: {{name: CC-BY 4.0, url: 'https://creativecommons.org/licenses/by/4.0/'}}
  provider: {{name: ades, url: https://example.org}}
  contact: {{name: ades, email: ades@example.org, url: https://example.org}}
resources:
  hello-world:
    type: process
    processor:
      name: HelloWorld
"""


def configure(bin_dir: Path, root: Path, port: int) -> tuple[dict[str, str], Path]:
    """Writes the configuration and the OpenAPI document pygeoapi needs into ``root``;
    returns the environment variables that point it there, and its TinyDB job file."""
    (root / "outputs").mkdir(exist_ok=True)
    jobs = root / "jobs.db"
    config = root / "pygeoapi.yml"
    config.write_text(CONFIG.format(port=port, jobs=jobs, outputs=root / "outputs"))
    env = {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(root / "openapi.yml")}
    subprocess.run([str(bin_dir / "pygeoapi"), "openapi", "generate", str(config),
                    "--output-file", str(root / "openapi.yml")],
                   env={**os.environ, **env}, check=True, capture_output=True, timeout=120)
    return env, jobs


def gunicorn(bin_dir: Path, port: int, workers: int = 2) -> list[str]:
    """The command serving pygeoapi's Flask app on 127.0.0.1:``port``."""
    return [str(bin_dir / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
            "pygeoapi.flask_app:APP"]


@contextmanager
def started(args: list[str], log: Path, **kwargs) -> Iterator[subprocess.Popen]:
    """A process group, stopped with SIGTERM (SIGKILL after 30 s) at the end."""
    with log.open("w") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True, **kwargs)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
