"""The README's examples run as written: its ``sh`` blocks, in order, in one bash session,
against a server started as ``make run`` starts it, so the README cannot drift from the
server. Conventions (also in the README's Tests section):

- ``http://127.0.0.1:8000`` is rewritten to the test server's base URL;
- every command must exit 0 and every HTTP answer it gets must be a 2xx or 3xx, unless the
  command says ``# expect <status>``: then each answer it gets must have that status;
- lines that start or test the server itself (``make …``, ``ades serve …``) are skipped,
  and a block opened with ```` ```sh no-test ```` is not run;
- examples must not use ``curl -w``: the session's ``curl`` adds its own to report statuses.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

import pytest

from tests.api.conftest import REPO, make_run

README = REPO / "README.md"
BASE = "http://127.0.0.1:8000"
_FENCE = re.compile(r"^```sh(?P<options>[^\n`]*)\n(?P<body>.*?)^```", re.S | re.M)
_EXPECT = re.compile(r"#\s*expect\s+(\d{3})\b")
_SERVER_COMMANDS = re.compile(r"^\s*(make(\s|$)|ades\s+serve\b)")
# What the session's curl reports on its stderr after every transfer.
_STATUS = "ADES-HTTP-STATUS"
_MARK = "ADES-COMMAND"


@dataclass(frozen=True)
class Command:
    block: int  # 1-based among the README's sh blocks
    line: int  # README line the command starts on
    text: str

    @property
    def expected(self) -> int | None:
        found = _EXPECT.search(self.text)
        return int(found.group(1)) if found else None

    def where(self) -> str:
        return f"README.md sh block {self.block}, line {self.line}:\n{self.text}"


def _complete(text: str) -> bool:
    """Whether ``text`` is whole shell commands (no open quote, brace or continuation)."""
    if text.rstrip().endswith("\\"):
        return False
    check = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True)
    return check.returncode == 0


def readme_commands(readme: str) -> list[Command]:
    commands: list[Command] = []
    for number, fence in enumerate(_FENCE.finditer(readme), start=1):
        if "no-test" in fence.group("options"):
            continue
        first_line = readme.count("\n", 0, fence.start("body")) + 1
        pending: list[str] = []
        start = first_line
        for offset, line in enumerate(fence.group("body").splitlines()):
            if not pending:
                if not line.strip() or line.lstrip().startswith("#"):
                    continue  # a comment or a shown answer, not a command
                start = first_line + offset
            pending.append(line)
            text = "\n".join(pending)
            if _complete(text):
                if not _SERVER_COMMANDS.match(text):
                    commands.append(Command(number, start, text))
                pending = []
        assert not pending, f"README.md sh block {number}: unfinished command:\n" + "\n".join(
            pending
        )
    return commands


def session_script(commands: list[Command], base: str) -> str:
    """One bash script running ``commands`` in order; it stops at the first that fails,
    and marks on stderr where each begins and ends."""
    lines = [
        "set -o pipefail",
        # Every answer's status, on stderr, after whatever the example prints.
        f"curl() {{ command curl \"$@\" -w '%{{stderr}}\\n{_STATUS} %{{http_code}}\\n'; }}",
    ]
    for index, command in enumerate(commands):
        lines += [
            f"printf '\\n{_MARK} {index}\\n' >&2",
            command.text.replace(BASE, base),
            f"rc=$?; printf '\\n{_MARK} {index} exit %d\\n' $rc >&2; [ $rc -eq 0 ] || exit $rc",
        ]
    return "\n".join(lines) + "\n"


def check_session(commands: list[Command], stderr: str) -> None:
    """Fail on the first command that exited non-zero, got a status it should not, or did
    not run; the message says which block and command."""
    statuses: dict[int, list[int]] = {}
    exits: dict[int, int] = {}
    current = None
    for line in stderr.splitlines():
        if line.startswith(_MARK + " "):
            parts = line.split()
            current = int(parts[1])
            if len(parts) == 4:
                exits[current] = int(parts[3])
            statuses.setdefault(current, [])
        elif line.startswith(_STATUS + " ") and current is not None:
            statuses[current].append(int(line.split()[1]))
    for index, command in enumerate(commands):
        tail = "\n".join(stderr.splitlines()[-15:])
        assert index in exits, f"never finished: {command.where()}\nlast stderr:\n{tail}"
        assert exits[index] == 0, (
            f"exited {exits[index]}: {command.where()}\nlast stderr:\n{tail}"
        )
        got = statuses[index]
        if command.expected is not None:
            assert got and all(s == command.expected for s in got), (
                f"expected HTTP {command.expected}, got {got}: {command.where()}"
            )
        else:
            bad = [s for s in got if not 200 <= s < 400]
            assert not bad, f"HTTP {bad} (every answer must be 2xx/3xx): {command.where()}"


def test_the_readme_examples_run_verbatim_against_make_run(seaweedfs, tmp_path):
    commands = readme_commands(README.read_text())
    assert len(commands) > 30, "the README's sh blocks were not found"
    with make_run(seaweedfs, tmp_path) as live:
        run = subprocess.run(
            ["bash", "-c", session_script(commands, live.base)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=900,
        )
    check_session(commands, run.stderr)


def test_the_checker_names_the_failing_command():
    commands = readme_commands(
        "```sh\ntrue\ncurl -s x \\\n  -d '{\n}'   # expect 404\nfalse\n```\n"
        "```sh no-test\nexit 1\n```\n"
    )
    assert [(c.block, c.line, c.expected) for c in commands] == [
        (1, 2, None), (1, 3, 404), (1, 6, None)
    ]
    stderr = f"\n{_MARK} 0\n\n{_MARK} 0 exit 0\n\n{_MARK} 1\n\n{_STATUS} 404\n\n{_MARK} 1 exit 0\n"
    stderr += f"\n{_MARK} 2\n\n{_MARK} 2 exit 1\n"
    with pytest.raises(AssertionError) as failed:
        check_session(commands, stderr)
    assert "exited 1: README.md sh block 1, line 6:" in str(failed.value)
    # An answer of the wrong status is named as well.
    commands = readme_commands("```sh\ncurl -s x\n```\n")
    with pytest.raises(AssertionError) as failed:
        check_session(commands, f"\n{_MARK} 0\n{_STATUS} 500\n{_MARK} 0 exit 0\n")
    assert "HTTP [500]" in str(failed.value) and "sh block 1, line 2:" in str(failed.value)
