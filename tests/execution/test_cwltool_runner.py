"""CwltoolRunner against real cwltool runs: outputs, failures a user can act on, logs, and
cancels that leave no process behind."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from ades.execution.cwltool_runner import CwltoolRunner
from ades.execution.runner import LogLine, RunEvent, RunOutcome

DATA = Path(__file__).resolve().parent / "data"


def texts(messages: list[str]) -> Callable[[RunEvent], None]:
    """An on_event that keeps the text of each log message."""
    return lambda event: messages.append(event.text) if isinstance(event, LogLine) else None


def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll ``check`` until it returns something truthy, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    pytest.fail(f"not true within {timeout} s: {check}")


@pytest.fixture(scope="module")
def greeted(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunOutcome, list[str], Path]:
    """One successful run of greet.cwl, shared by the tests that look at its parts."""
    workdir = tmp_path_factory.mktemp("greet")
    lines: list[str] = []
    outcome = CwltoolRunner().run(
        "greet", DATA / "greet.cwl", "#main", {"name": "Ada"}, workdir, texts(lines)
    )
    return outcome, lines, workdir


def test_success_gives_the_outputs(greeted: tuple[RunOutcome, list[str], Path]) -> None:
    outcome, _, workdir = greeted
    assert outcome.ok, outcome.message
    greeting = outcome.outputs["greeting"]
    assert greeting["class"] == "File"
    assert Path(greeting["path"]).parent == workdir / "outputs"
    assert Path(greeting["path"]).read_text() == "hello Ada\n"


def test_tools_run_the_servers_python(greeted: tuple[RunOutcome, list[str], Path]) -> None:
    # The string output is sys.prefix as the tool's `python3` saw it: this venv's.
    outcome, _, _ = greeted
    assert Path(outcome.outputs["python"]) == Path(sys.prefix)


def test_a_docker_hint_runs_without_a_container_engine(
    greeted: tuple[RunOutcome, list[str], Path],
) -> None:
    outcome, lines, _ = greeted
    assert outcome.ok, outcome.message
    assert not any("docker" in line and "run" in line for line in lines)


def test_log_messages_go_to_on_event_and_their_lines_to_the_log_file(
    greeted: tuple[RunOutcome, list[str], Path],
) -> None:
    _, messages, workdir = greeted
    assert "greeted Ada" in messages  # the tool's own stderr, a line of its own
    assert any("Final process status is success" in m for m in messages)
    assert (workdir / "cwltool.log").read_text().splitlines() == "\n".join(messages).splitlines()


def test_a_command_line_is_one_message_and_each_line_of_tool_output_another(
    greeted: tuple[RunOutcome, list[str], Path],
) -> None:
    _, messages, _ = greeted
    commands = [m for m in messages if m.startswith("INFO [job main] /")]
    assert len(commands) == 1
    # cwltool prints the command over several lines: the script, then the argument.
    assert "python3" in commands[0] and commands[0].rstrip().endswith("Ada")
    assert "print(f\"greeted {name}\", file=sys.stderr)" in commands[0]
    after = messages[messages.index(commands[0]) + 1]
    assert after == "greeted Ada"


def test_a_wrapped_error_record_is_one_message(tmp_path: Path) -> None:
    messages: list[str] = []
    CwltoolRunner().run("bad", DATA / "greet.cwl", "main", {"name": ["Ada"]}, tmp_path,
                        texts(messages))
    errors = [m for m in messages if m.startswith("ERROR ")]
    assert len(errors) == 1, messages
    assert "Invalid job input record" in errors[0]
    assert "the 'name' field is not valid" in errors[0]
    # No line of it came apart as a message of its own.
    assert all(m.startswith(("INFO ", "WARNING ", "ERROR ")) for m in messages), messages


def test_no_message_about_the_servers_own_hints(tmp_path: Path) -> None:
    # The demo echo carries the ades:JobControl hint, which cwltool does not know.
    echo = Path(__file__).resolve().parents[2] / "workspaces" / "demo" / "processes" / "echo.cwl"
    messages: list[str] = []
    outcome = CwltoolRunner().run("echo", echo, None, {"stringInput": "hi"}, tmp_path,
                                  texts(messages))
    assert outcome.ok, outcome.message
    assert not [m for m in messages if "ades.dev" in m or m.startswith("WARNING")], messages


def test_the_job_order_is_kept_in_the_workdir(
    greeted: tuple[RunOutcome, list[str], Path],
) -> None:
    _, _, workdir = greeted
    assert (workdir / "job.json").read_text() == '{"name": "Ada"}'


def test_a_failing_tool_reports_its_exit_code_and_stderr(tmp_path: Path) -> None:
    outcome = CwltoolRunner().run("fail", DATA / "fail.cwl", None, {}, tmp_path)
    assert not outcome.ok and not outcome.cancelled
    assert outcome.exit_code == 3
    assert outcome.failed_step is None  # a lone tool, not a workflow step
    # Only what the tool wrote: not the lines of its script that cwltool echoes.
    assert outcome.stderr_tail == "reading band B04\nerror: band B08 missing from scene"
    assert outcome.message == (
        "tool 'fail.cwl' failed with exit code 3: "
        "reading band B04\nerror: band B08 missing from scene"
    )


def test_a_failing_workflow_step_is_named(tmp_path: Path) -> None:
    outcome = CwltoolRunner().run(
        "wf", DATA / "two_steps.cwl", "main", {"scene": "S2B_T31UFS"}, tmp_path
    )
    assert not outcome.ok
    assert outcome.failed_step == "ndvi"
    assert outcome.exit_code == 3
    # ndvi captures its stderr to a file (`stderr: ndvi.err`): it is read from there.
    assert outcome.stderr_tail == "scene S2B_T31UFS\nndvi: cannot read band B08"
    assert outcome.message.startswith("step 'ndvi' failed with exit code 3: scene S2B_T31UFS")


def test_a_failing_scattered_job_names_its_step(tmp_path: Path) -> None:
    outcome = CwltoolRunner().run(
        "scatter", DATA / "scatter.cwl", "#main", {"codes": [0, 5, 0]}, tmp_path
    )
    assert not outcome.ok
    assert outcome.failed_step == "tile"
    assert outcome.exit_code == 5
    assert outcome.message == "step 'tile' (job 'tile_2') failed with exit code 5: tile exits 5"


@pytest.mark.parametrize(
    ("job_order", "expected"),
    [
        ({}, "Missing required input parameter 'name'"),
        ({"name": ["Ada"]}, "the 'name' field is not valid"),
    ],
)
def test_an_invalid_job_order_says_what_is_wrong(
    tmp_path: Path, job_order: dict[str, Any], expected: str
) -> None:
    outcome = CwltoolRunner().run("bad", DATA / "greet.cwl", "main", job_order, tmp_path)
    assert not outcome.ok
    assert outcome.message.startswith("invalid job order: ")
    assert expected in outcome.message
    assert "--debug" not in outcome.message and "job.json" not in outcome.message


def test_an_unknown_entry_says_so(tmp_path: Path) -> None:
    outcome = CwltoolRunner().run("entry", DATA / "greet.cwl", "#nope", {}, tmp_path)
    assert not outcome.ok
    assert outcome.message.startswith("invalid CWL package: Reference '#nope' not found")


def _run_until_cancelled(
    runner: CwltoolRunner, package: Path, workdir: Path
) -> tuple[RunOutcome, psutil.Process]:
    """Start ``package`` in a thread, cancel it once its `sleep` runs, return the outcome
    and the (by then ended) sleep process."""
    outcome: list[RunOutcome] = []
    thread = threading.Thread(
        target=lambda: outcome.append(runner.run("long", package, None, {}, workdir))
    )
    thread.start()
    try:
        sleeper = eventually(_sleeper, timeout=60)
        pgid = os.getpgid(sleeper.pid)
        assert pgid != os.getpgid(0)  # the run has a process group of its own
        assert runner.cancel("long") is True
    finally:
        thread.join(timeout=60)
    assert not thread.is_alive()

    def group_gone() -> bool:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        return False

    eventually(group_gone)
    return outcome[0], sleeper


def test_cancel_stops_the_run_and_its_whole_process_group(tmp_path: Path) -> None:
    outcome, sleeper = _run_until_cancelled(CwltoolRunner(), DATA / "sleep.cwl", tmp_path)
    assert outcome == RunOutcome(ok=False, cancelled=True, message="dismissed")
    assert not sleeper.is_running()


def test_cancel_kills_a_tool_that_ignores_sigterm(tmp_path: Path) -> None:
    runner = CwltoolRunner(kill_grace=1.0)
    outcome, sleeper = _run_until_cancelled(runner, DATA / "sleep_ignoring_term.cwl", tmp_path)
    assert outcome.cancelled
    assert not sleeper.is_running()


def test_cancel_before_the_run_starts_stops_it_from_starting(tmp_path: Path) -> None:
    runner = CwltoolRunner()
    assert runner.cancel("early") is False  # nothing was running
    outcome = runner.run("early", DATA / "sleep.cwl", None, {}, tmp_path)
    assert outcome == RunOutcome(ok=False, cancelled=True, message="dismissed")
    assert not (tmp_path / "job.json").exists() and not (tmp_path / "cwltool.log").exists()


def test_the_command_line_follows_the_container_engine(tmp_path: Path) -> None:
    package = DATA / "greet.cwl"
    none = CwltoolRunner().command(package, "main", tmp_path)
    assert "--no-container" in none
    assert none[none.index("--preserve-environment") + 1] == "PATH"
    assert none[-2:] == [f"{package}#main", str(tmp_path / "job.json")]
    podman = CwltoolRunner(container_engine="podman").command(package, None, tmp_path)
    assert "--podman" in podman and "--no-container" not in podman
    assert "--preserve-environment" not in podman  # the host's PATH means nothing in there
    with pytest.raises(ValueError, match="unknown container engine 'lxc'"):
        CwltoolRunner(container_engine="lxc")


def test_schemas_are_read_only_for_a_package_that_declares_formats(tmp_path: Path) -> None:
    plain = DATA / "greet.cwl"
    assert "--skip-schemas" in CwltoolRunner().command(plain, None, tmp_path)
    formats = tmp_path / "formats.cwl"
    formats.write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\n$namespaces: {edam: http://edamontology.org/}\n"
        "$schemas: [EDAM.owl]\ninputs:\n  seq: {type: File, format: edam:format_2330}\n"
        "outputs: []\nbaseCommand: 'true'\n"
    )
    # A subclass of the declared format matches only through the ontology in $schemas.
    assert "--skip-schemas" not in CwltoolRunner().command(formats, None, tmp_path)


CANARIES = {
    "ADES_S3_SECRET_KEY": "leak-canary-s3-secret",
    "ADES_ADMIN_TOKEN": "leak-canary-admin-token",
    "ADES_DATABASE_URL": "postgresql://ades:leak-canary-db-password@db/ades",
    "AWS_SECRET_ACCESS_KEY": "leak-canary-aws-secret",
    "AWS_ACCESS_KEY_ID": "leak-canary-aws-key",
}


def test_a_tool_sees_nothing_of_the_servers_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ades.execution.cwltool_runner import _PASSED, stop_zygote

    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    stop_zygote()  # the next run's zygote starts from the server's environment as it is now
    outcome = CwltoolRunner().run("env", DATA / "environment.cwl", None, {}, tmp_path)
    assert outcome.ok, outcome.message
    printed = Path(outcome.outputs["environment"]["path"]).read_text()
    own, parent = printed.split("--- parent", 1)
    names = [line.split("=", 1)[0] for line in printed.splitlines() if "=" in line]
    assert "leak-canary" not in printed
    assert not [n for n in names if n.startswith(("ADES_", "AWS_"))], names
    # The tool's own: what CWL says a tool gets, and the PATH to the server's python3.
    own_names = {line.split("=", 1)[0] for line in own.splitlines() if "=" in line}
    assert {"HOME", "TMPDIR", "PATH"} <= own_names
    # cwltool's, as /proc shows it: what its zygote started with, only the names passed.
    parent_names = {line.split("=", 1)[0] for line in parent.splitlines() if "=" in line}
    assert parent_names <= {*_PASSED, "PATH", "PYTHONPATH"}, parent_names


def test_a_container_engines_client_keeps_its_settings_and_nothing_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ades.execution.cwltool_runner import _child_env

    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/docker.sock")
    monkeypatch.setenv("HOME", "/home/ades")
    docker = _child_env(tmp_path, "docker")
    assert docker["DOCKER_HOST"] == "unix:///run/docker.sock"
    assert docker["HOME"] == "/home/ades"  # registry logins and image storage live there
    none = _child_env(tmp_path, "none")
    assert "DOCKER_HOST" not in none and none["HOME"] == str(tmp_path)
    for env in (docker, none):
        assert not [n for n in env if n.startswith(("ADES_", "AWS_"))]
        assert "leak-canary" not in repr(env)


def _default_reader(location: str) -> str:
    """A tool whose File input has ``location`` as its default, which cwltool downloads
    itself when the job order leaves the input out."""
    return f"""cwlVersion: v1.2
class: CommandLineTool
id: main
baseCommand: cat
inputs:
  data:
    type: File
    default: {{class: File, location: "{location}"}}
    inputBinding: {{}}
outputs:
  said: {{type: stdout}}
stdout: said.txt
"""


@pytest.fixture
def listener() -> Any:
    """An HTTP server on 127.0.0.1 answering every GET with 'served'."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", "6")
            self.end_headers()
            self.wfile.write(b"served")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_cwltools_own_downloads_keep_to_the_fetch_policy(tmp_path: Path, listener: str) -> None:
    """A package's http(s) default is fetched by cwltool, not by stage-in: the policy is
    in force in the cwltool process too. Private addresses open in the embedded default
    only; metadata addresses never."""
    from ades.fetching import FetchPolicy

    package = tmp_path / "reader.cwl"
    package.write_text(_default_reader(f"{listener}/data.txt"))
    embedded = CwltoolRunner().run("open", package, "#main", {}, tmp_path / "open", print)
    assert embedded.ok, embedded.message
    assert Path(embedded.outputs["said"]["path"]).read_text() == "served"

    guarded = CwltoolRunner(fetch_policy=FetchPolicy())
    lines: list[str] = []
    refused = guarded.run("shut", package, "#main", {}, tmp_path / "shut", texts(lines))
    assert not refused.ok
    assert "127.0.0.1 is a loopback address" in "\n".join(lines)

    package.write_text(_default_reader("http://169.254.169.254/latest/meta-data/iam"))
    lines.clear()
    metadata = CwltoolRunner().run("meta", package, "#main", {}, tmp_path / "meta", texts(lines))
    assert not metadata.ok
    assert "169.254.169.254 is a link-local address" in "\n".join(lines)


def _sleeper() -> psutil.Process | None:
    """The `sleep 300` of a run of sleep.cwl, once it runs."""
    for child in psutil.Process().children(recursive=True):
        try:
            if child.cmdline() == ["sleep", "300"]:
                return child
        except psutil.NoSuchProcess:
            pass
    return None


def _in_thread(runner: CwltoolRunner, job_id: str, *args: Any) -> tuple[threading.Thread, list]:
    outcome: list[RunOutcome] = []
    thread = threading.Thread(target=lambda: outcome.append(runner.run(job_id, *args)))
    thread.start()
    return thread, outcome


def test_a_run_that_crashes_leaves_the_others_running(tmp_path: Path) -> None:
    """cwltool of one run killed by SIGKILL (as a crash would end it): that run fails with
    the signal, its tool goes with it, and a run beside it goes on and succeeds."""
    runner = CwltoolRunner()
    flag = tmp_path / "go"
    other, other_outcome = _in_thread(
        runner, "other", DATA / "wait_for.cwl", None, {"flag": str(flag)}, tmp_path / "other"
    )
    victim, victim_outcome = _in_thread(runner, "victim", DATA / "sleep.cwl", None, {},
                                        tmp_path / "victim")
    try:
        sleeper = eventually(_sleeper, timeout=60)
        cwltool = sleeper.parent()
        assert cwltool.cwd() == str(tmp_path / "victim")
        cwltool.kill()
        victim.join(timeout=60)
        assert not victim.is_alive()
        assert not victim_outcome[0].ok and not victim_outcome[0].cancelled
        assert victim_outcome[0].message.startswith("cwltool exited with code -9")
        eventually(lambda: not sleeper.is_running())
        assert other.is_alive()
    finally:
        flag.touch()
        other.join(timeout=60)
    assert other_outcome[0].ok, other_outcome[0].message
    assert Path(other_outcome[0].outputs["said"]["path"]).read_text() == "done\n"


def test_a_zygote_that_dies_fails_its_runs_and_is_replaced(tmp_path: Path) -> None:
    from ades.execution import cwltool_runner

    runner = CwltoolRunner()
    thread, outcome = _in_thread(runner, "cut", DATA / "sleep.cwl", None, {}, tmp_path / "cut")
    try:
        sleeper = eventually(_sleeper, timeout=60)
        zygote = cwltool_runner._zygote
        assert zygote is not None and sleeper.parent().ppid() == zygote.process.pid
        zygote.process.kill()
        thread.join(timeout=60)
    finally:
        runner.cancel("cut")
        thread.join(timeout=60)
    assert outcome[0].category == "system" and not outcome[0].ok
    assert outcome[0].message.startswith("the server's cwltool process (its zygote) ended")
    eventually(lambda: not sleeper.is_running())  # the run's tools went with it
    again = runner.run("again", DATA / "greet.cwl", "#main", {"name": "Bo"}, tmp_path / "again")
    assert again.ok, again.message
    assert cwltool_runner._zygote is not zygote


def test_no_run_outlives_the_server(tmp_path: Path) -> None:
    """The server killed by SIGKILL mid-run: its zygote, the run's cwltool and its tool all
    end on their own."""
    import subprocess

    server = subprocess.Popen([
        sys.executable, "-c",
        "import sys; from pathlib import Path; "
        "from ades.execution.cwltool_runner import CwltoolRunner; "
        "CwltoolRunner().run('x', Path(sys.argv[1]), None, {}, Path(sys.argv[2]))",
        str(DATA / "sleep.cwl"), str(tmp_path),
    ])  # fmt: skip
    try:
        sleeper = eventually(_sleeper, timeout=60)
        tree = [sleeper, *sleeper.parents()[: sleeper.parents().index(psutil.Process(server.pid))]]
        assert len(tree) == 3  # the tool, its cwltool, the zygote
    finally:
        server.kill()
        server.wait()
    eventually(lambda: not any(p.is_running() and p.status() != "zombie" for p in tree))
