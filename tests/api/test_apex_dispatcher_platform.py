"""ESA's APEx dispatcher's own ``OGCAPIProcessPlatform`` (ESA-APEx/apex_dispatch_api,
app/platforms/implementations/ogc_api_process.py) against the live servers: its ``app``
package is copied from its repository at test time (``ADES_APEX_DISPATCH_SRC``: a clone, a
checkout or a bare git directory) and run by tests/api/apex_dispatcher_run.py in a venv of
the requirements its imported modules need, at the versions its requirements.txt pins. Only
its Keycloak token exchange is replaced (by a pass-through handing it one of our API tokens);
nothing of the dispatcher is kept in this repository."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest
import requests

from tests.api.conftest import REPO
from tests.api.test_apex_dispatcher import deploy_stac_items

SOURCE = os.environ.get(
    "ADES_APEX_DISPATCH_SRC", "/work/.mirror/ESA-APEx+apex_dispatch_api/repo"
)
RUNNER = Path(__file__).with_name("apex_dispatcher_run.py")
# What the modules the platform imports need (app.platforms.*, app.auth, app.config.*,
# app.schemas.*): their pins, if any, are taken from the dispatcher's requirements.txt.
NEEDED = ("fastapi", "loguru", "httpx", "pyjwt", "pydantic", "pydantic-settings",
          "stac-pydantic", "ogc-api-processes-client")  # fmt: skip
HOW_TO_GET_IT = (
    "the APEx dispatcher's source is not at ADES_APEX_DISPATCH_SRC={}: clone it "
    "(git clone https://github.com/ESA-APEx/apex_dispatch_api) and point "
    "ADES_APEX_DISPATCH_SRC at the clone"
)


def _git(source: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(source), *args], capture_output=True, check=True)


def _read(source: Path, path: str) -> str:
    """A file of the dispatcher's repository: from a checkout, else from its git HEAD."""
    if (source / path).is_file():
        return (source / path).read_text()
    return _git(source, "show", f"HEAD:{path}").stdout.decode()


def _requirements(text: str) -> list[str]:
    """The lines of requirements.txt naming the packages in NEEDED, pins kept."""
    picked = {}
    for line in text.splitlines():
        spec = line.split("#", 1)[0].strip()
        name = spec.split("[", 1)[0]
        for sep in ("==", ">=", "<=", "~=", "!=", "<", ">"):
            name = name.split(sep, 1)[0]
        name = name.strip().lower().replace("_", "-")
        if name in NEEDED:
            picked[name] = spec
    return [picked.get(name, name) for name in NEEDED]


@pytest.fixture(scope="session")
def dispatcher(tmp_path_factory) -> tuple[Path, Path]:
    """(the dispatcher's source folder holding ``app``, the python of its venv)."""
    source = Path(SOURCE)
    if not source.exists():
        pytest.skip(HOW_TO_GET_IT.format(SOURCE))
    root = tmp_path_factory.mktemp("apex-dispatcher")
    if (source / "app").is_dir():
        shutil.copytree(source / "app", root / "app")
    else:
        archive = _git(source, "archive", "--format=tar", "HEAD", "app").stdout
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    requirements = _requirements(_read(source, "requirements.txt"))
    # Cached between sessions, one venv per set of requirements.
    digest = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:12]
    cache = REPO / ".venv" if (REPO / ".venv").is_dir() else root
    folder = cache / f"apex-dispatcher-{digest}"
    python = folder / "bin" / "python"
    if not (folder / ".installed").exists():
        shutil.rmtree(folder, ignore_errors=True)
        venv.create(folder, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements], check=True)
        (folder / ".installed").write_text("\n".join(requirements) + "\n")
    return root, python


def run_dispatcher(dispatcher, targets: list[dict]) -> list[dict]:
    root, python = dispatcher
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(root)),
        "PYTHONPATH": str(root),
        # Its settings, as a deployment of it sets them: app.auth builds its JWKS client from
        # them on import (no request is made; the token exchange is replaced).
        "KEYCLOAK_HOST": "https://keycloak.invalid",
        "KEYCLOAK_REALM": "apex",
    }
    done = subprocess.run(
        [str(python), str(RUNNER)], input=json.dumps(targets), capture_output=True, text=True,
        cwd=root, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def target(live, token: str | None) -> dict:
    """One platform as the dispatcher is told of it: the server's URL as the endpoint, the
    workspace root as the namespace, the deployed process as the application."""
    pid = deploy_stac_items(live)
    return {
        "service": {"endpoint": live.base, "namespace": "lab/ogc-api", "application": pid},
        "token": token or "ignored-by-a-server-without-auth",
        "parameters": {"word": "apex", "count": 2},
    }


def test_the_dispatchers_own_platform_code(dispatcher, live, secured):
    token = secured.tokens["lab"]
    runs = run_dispatcher(dispatcher, [target(live, None), target(secured.as_(token), token)])
    for run, auth in zip(runs, [{}, {"Authorization": f"Bearer {token}"}], strict=True):
        assert {p["name"]: (p["type"], p["optional"], p["options"]) for p in run["parameters"]} == {
            "word": ("string", False, []),
            "count": ("integer", True, []),
            "case": ("string", True, ["lower", "upper"]),
        }
        described = {p["name"]: p["description"] for p in run["parameters"]}
        assert described["word"] == "What every item says."
        assert described["case"] == "Parameter: case"  # no doc: the dispatcher's own text
        namespace, job_id = run["job_id"].split(":", 1)
        assert namespace == "lab/ogc-api"
        assert run["statuses"][-1] == "finished", run["statuses"]

        collection = run["collection"]
        assert collection["id"] == f"{job_id}-items"
        items = [link["href"] for link in collection["links"] if link["rel"] == "item"]
        assert len(items) == 2
        said = []
        for href in items:
            item = requests.get(href, headers=auth, timeout=10).json()
            assert item["type"] == "Feature"
            said.append(requests.get(item["assets"]["said"]["href"], timeout=10).text)
        assert sorted(said) == ["apex 0\n", "apex 1\n"]
