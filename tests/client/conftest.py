"""The client tests run ``ades`` in this process (ades.cli.main, its output captured)
against the live server of the API tests (tests/api/conftest.py), and against pygeoapi
(tests/client/test_pygeoapi.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from ades.cli import main
from tests.api.conftest import live, secured  # noqa: F401  (the session's servers)


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def lines(self) -> list[Any]:
        """The JSON lines of --json watch and logs."""
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


@pytest.fixture
def ades(capsys, monkeypatch) -> Callable[..., Ran]:
    """``ades(*argv)``: the command's exit code, stdout and stderr. ADES_URL and
    ADES_TOKEN of the environment are not seen (the tests give --url)."""
    monkeypatch.delenv("ADES_URL", raising=False)
    monkeypatch.delenv("ADES_TOKEN", raising=False)

    def run(*argv: str) -> Ran:
        capsys.readouterr()
        try:
            main(list(argv))
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
        else:
            code = 0
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return run
