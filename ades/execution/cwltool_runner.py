"""The CWL runner port implemented with cwltool: each run is a cwltool subprocess in its own
session, so a dismiss can kill it and every tool it started, and what cwltool prints on stderr
is read as it comes to say which step failed, with which exit code and which last words."""

from __future__ import annotations

import enum
import json
import logging
import os
import re
import selectors
import signal
import subprocess
import sys
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ades
from ades.execution.runner import CwlRunner, RunOutcome

log = logging.getLogger(__name__)

# cwltool flags selecting the container engine. "none" still runs packages that carry a
# DockerRequirement as a *hint*; one under `requirements` fails with a clear message.
CONTAINER_FLAGS: dict[str, list[str]] = {
    "none": ["--no-container"],
    "docker": [],
    "podman": ["--podman"],
    "singularity": ["--singularity"],
}

# `python -m cwltool` (3.3.20260925135507) drops the status cwltool.main.run() returns, so a
# failed run would exit 0; call run() ourselves to keep the exit status.
# Before that, a watchdog thread: when the server that started cwltool dies (even by SIGKILL,
# which leaves no chance to clean up) cwltool is re-parented, and the watchdog kills its whole
# process group, the tools included, so no orphan keeps computing. A parent-death signal
# (prctl) would not do: it fires when the *thread* that forked exits, not the server.
# cwltool's warnings about the server's own hints (ades:JobControl) are dropped here, at
# their source, so the job's log holds only what concerns the user's package.
_CWLTOOL_MAIN = """\
import os, signal, sys, threading, time
def _watch(server=int(os.environ.pop("ADES_SERVER_PID"))):
    while os.getppid() == server:
        time.sleep(0.5)
    os.killpg(0, signal.SIGKILL)
threading.Thread(target=_watch, name="ades-orphan-watchdog", daemon=True).start()
sys.argv[0] = "cwltool"
from ades.packages.hints import quiet_about_our_hints
quiet_about_our_hints()
from cwltool.main import run
sys.exit(run())
"""

# Cancels of job ids not running (yet) are remembered so a run() that starts later returns at
# once; bounded, since most of them are dismisses of jobs that already ended.
_EARLY_CANCELS_KEPT = 1024


class CwltoolRunner(CwlRunner):
    def __init__(
        self,
        container_engine: str = "none",
        kill_grace: float = 5.0,
        stderr_lines: int = 20,
        fetch_schemas: bool = False,
    ):
        """``container_engine``: "none", "docker", "podman" or "singularity". ``kill_grace``:
        seconds a cancelled run gets between SIGTERM and SIGKILL (cwltool uses them to kill
        its containers). ``stderr_lines``: how much of a failed tool's stderr is kept.
        ``fetch_schemas``: download the package's ``$schemas`` on every run; off by default
        because it costs a network round trip (or an offline failure) per run and only serves
        ``format`` subclass checks; identical formats still match without it."""
        if container_engine not in CONTAINER_FLAGS:
            raise ValueError(
                f"unknown container engine {container_engine!r}; "
                f"expected one of {', '.join(CONTAINER_FLAGS)}"
            )
        self.container_engine = container_engine
        self.kill_grace = kill_grace
        self.stderr_lines = stderr_lines
        self.fetch_schemas = fetch_schemas
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._early_cancels: OrderedDict[str, None] = OrderedDict()

    def command(self, package: Path, entry: str | None, workdir: Path) -> list[str]:
        """The command line of one run; ``workdir`` must be absolute."""
        target = str(package.resolve())
        if entry:
            target += entry if entry.startswith("#") else "#" + entry
        flags = [
            "--disable-color",  # cwltool colours its log even when stderr is a pipe
            # jshint only lints JS expressions into warnings, at a node start per tool.
            "--disable-js-validation",
            *CONTAINER_FLAGS[self.container_engine],
            "--outdir", str(workdir / "outputs"),
            "--tmpdir-prefix", str(workdir / "tmp") + "/",
            "--tmp-outdir-prefix", str(workdir / "tmp" / "out-"),
            # Keeps each tool's `stderr:` capture file after the run, where a failure can
            # quote it; without it a failed step's files vanish with its temporary outdir.
            "--log-dir", str(workdir / "logs"),
        ]  # fmt: skip
        if not self.fetch_schemas:
            flags.append("--skip-schemas")
        if self.container_engine == "none":
            # Tools run `python3` and friends from the server's environment; inside a
            # container the host's PATH would be wrong, so only without one.
            flags += ["--preserve-environment", "PATH"]
        return [sys.executable, "-c", _CWLTOOL_MAIN, *flags, target, str(workdir / "job.json")]

    def run(
        self,
        job_id: str,
        package: Path,
        entry: str | None,
        job_order: dict[str, Any],
        workdir: Path,
        on_log: Callable[[str], None] | None = None,
    ) -> RunOutcome:
        with self._lock:
            if job_id in self._early_cancels:
                del self._early_cancels[job_id]
                return _dismissed()
            if job_id in self._runs:
                raise RuntimeError(f"job {job_id} is already running")
            run = self._runs[job_id] = _Run()
        try:
            workdir = workdir.resolve()
            for sub in ("outputs", "tmp", "logs"):
                (workdir / sub).mkdir(parents=True, exist_ok=True)
            (workdir / "job.json").write_text(json.dumps(job_order))
            command = self.command(package, entry, workdir)
            log.debug("job %s: %s", job_id, command)
            with self._lock:
                # Under the lock, so a cancel() either sees the flag set before we start
                # or finds the process to kill: never neither.
                if run.cancelled:
                    return _dismissed()
                run.process = subprocess.Popen(
                    command,
                    cwd=workdir,
                    env=_child_env(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    start_new_session=True,
                )
            cwl_log = CwltoolLog(workdir / "logs", self.stderr_lines)
            with open(workdir / "cwltool.log", "a", encoding="utf-8", buffering=1) as log_file:
                stdout = _follow(run, _LineSink(cwl_log, log_file, on_log, job_id))
        finally:
            _end(run)
            with self._lock:
                del self._runs[job_id]
        if run.cancelled:
            return _dismissed()
        returncode = run.process.returncode
        if returncode == 0:
            try:
                outputs = json.loads(stdout)
            except ValueError:
                outputs = None
            if isinstance(outputs, dict):
                return RunOutcome(ok=True, outputs=outputs)
        return cwl_log.failure(returncode)

    def forget_cancel(self, job_id: str) -> None:
        with self._lock:
            self._early_cancels.pop(job_id, None)

    def cancel(self, job_id: str) -> bool:
        with self._lock:
            run = self._runs.get(job_id)
            if run is None:
                self._early_cancels[job_id] = None
                while len(self._early_cancels) > _EARLY_CANCELS_KEPT:
                    self._early_cancels.popitem(last=False)
                return False
            run.cancelled = True
            process = run.process
        if process is not None:
            _signal_group(run, signal.SIGTERM)
            if not run.finished.wait(self.kill_grace):
                _signal_group(run, signal.SIGKILL)
                run.finished.wait(self.kill_grace)
        return True


@dataclass
class _Run:
    process: subprocess.Popen[bytes] | None = None
    cancelled: bool = False
    # Held while signalling the group and while reaping its leader: once the leader is
    # reaped its pid, hence the group id, may be reused, and must not be signalled.
    group_lock: threading.Lock = field(default_factory=threading.Lock)
    reaped: bool = False
    # Set once the leader is reaped and what it left behind is killed.
    finished: threading.Event = field(default_factory=threading.Event)


def _dismissed() -> RunOutcome:
    return RunOutcome(ok=False, cancelled=True, message="dismissed")


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["ADES_SERVER_PID"] = str(os.getpid())
    env["PATH"] = os.pathsep.join(
        [str(Path(sys.executable).parent), *filter(None, [env.get("PATH")])]
    )
    # The child imports ades (for the hint filter) from the workdir, where a server started
    # from a source checkout without installing would not find it. cwltool passes tools
    # no PYTHONPATH, so theirs stays untouched.
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(ades.__file__).resolve().parents[1]), *filter(None, [env.get("PYTHONPATH")])]
    )
    return env


def _signal_group(run: _Run, signum: int) -> None:
    with run.group_lock:
        if run.process is None or run.reaped:
            return
        try:
            os.killpg(run.process.pid, signum)
        except ProcessLookupError:
            pass


def _leader_exited(process: subprocess.Popen[bytes]) -> bool:
    # WNOWAIT leaves the leader a zombie, so its group id stays ours while we kill the rest.
    return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _follow(run: _Run, sink: _LineSink) -> bytes:
    """Read the run's stdout whole and its stderr line by line until both close; returns
    stdout. Tools left running after cwltool exits are killed, as they hold the pipes open."""
    process = run.process
    assert process is not None and process.stdout and process.stderr
    stdout = bytearray()
    partial = b""
    leader_gone = False
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        selector.register(process.stderr, selectors.EVENT_READ)
        while selector.get_map():
            ready = selector.select(timeout=0.5)
            if not ready:
                # cwltool writes a record whole; a pause means the last one is complete.
                sink.flush()
            for key, _ in ready:
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                elif key.fileobj is process.stdout:
                    stdout += chunk
                else:
                    *lines, partial = (partial + chunk).split(b"\n")
                    for line in lines:
                        sink.put(line)
            if not leader_gone and _leader_exited(process):
                leader_gone = True
                _signal_group(run, signal.SIGKILL)
    if partial:
        sink.put(partial)
    sink.flush()
    return bytes(stdout)


def _end(run: _Run) -> None:
    """Kill whatever of the run is left, reap cwltool, and tell a waiting cancel()."""
    if run.process is not None:
        _signal_group(run, signal.SIGKILL)
        with run.group_lock:
            run.process.wait()
            run.reaped = True
        for pipe in (run.process.stdout, run.process.stderr):
            if pipe:
                pipe.close()
    run.finished.set()


class _LineSink:
    """Where each stderr line of cwltool goes: the failure parser, cwltool.log, and, put
    together into messages, on_log. A message is one of cwltool's records with the lines it
    spans (a wrapped warning, an error with its details, a command line with its arguments),
    or one line of a tool's own output; cwltool.log keeps the lines as they came."""

    def __init__(
        self,
        cwl_log: CwltoolLog,
        log_file: Any,
        on_log: Callable[[str], None] | None,
        job_id: str,
    ):
        self.cwl_log = cwl_log
        self.log_file = log_file
        self.on_log = on_log
        self.job_id = job_id
        self._message: list[str] = []  # lines of the message not yet complete

    def put(self, raw: bytes) -> None:
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        place = self.cwl_log.feed(line)
        self.log_file.write(line + "\n")
        if place is LinePlace.CONTINUES and self._message:
            self._message.append(line)
        else:
            self.flush()
            self._message = [line]
        if place is LinePlace.TOOL_OUTPUT or self.cwl_log.tool_output_next:
            self.flush()  # nothing more can join it

    def flush(self) -> None:
        """Hand on the message being put together, complete or not."""
        if not self._message:
            return
        message = "\n".join(self._message)
        self._message = []
        if self.on_log is not None:
            try:
                self.on_log(message)
            except Exception:
                # A broken log consumer must not break, or orphan, the run itself.
                log.exception("job %s: on_log failed; no more lines go to it", self.job_id)
                self.on_log = None


class LinePlace(enum.Enum):
    """Where a stderr line of cwltool stands among the messages."""

    STARTS = "starts"  # a record of cwltool's, or a line that stands alone
    CONTINUES = "continues"  # a further line of the message before it
    TOOL_OUTPUT = "tool output"  # a line a tool printed: a message of its own


_RECORD = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)$")
_SUBJECT = re.compile(r"^\[(job|step|workflow) (.*?)\] (.*)$")
_COMMAND_ECHO = re.compile(r"^/.*?\$ ")
_EXITED = re.compile(r"^exited with status: (-?\d+)$")
_KILLED = re.compile(r"^was terminated by signal: (\w+)$")
_COMPLETED = re.compile(r"^completed (\w+)$")
_USAGE_ERROR = re.compile(r"^.+?: error: (.*)$")
_REQUIRED_ARGS = re.compile(r"^the following arguments are required: (.*)$")
_JOB_ORDER_PLACE = re.compile(r"\bjob\.json:\d+:\d+:\s*")
_SCATTER_SUFFIX = re.compile(r"_\d+$")

# cwltool's opening words for errors before anything runs, in words for the user.
_ERROR_KINDS = {
    "Workflow error, try again with --debug for more information:": "",
    "Invalid job input record:": "invalid job order: ",
    "Input object failed validation:": "invalid job order: ",
    "Tool definition failed validation:": "invalid CWL package: ",
    "Workflow or tool uses unsupported feature:": "the package needs an unsupported feature: ",
}


@dataclass
class _Job:
    exit_code: int | None = None
    signal: str | None = None
    stderr: deque[str] = field(default_factory=deque)
    stderr_file: Path | None = None
    errors: list[str] = field(default_factory=list)


class CwltoolLog:
    """What cwltool says on stderr about one run, read line by line: the jobs it runs with
    their exit codes, stderr and errors, and its own errors; made into a failure message.

    cwltool logs ``LEVEL [job name] ...`` records; a tool's own stderr (and its stdout, which
    cwltool sends to stderr) comes in between, after the ``[job name] dir$ command`` record
    and before that job's next record. That holds because cwltool runs jobs one at a time
    unless given --parallel, which this runner does not pass."""

    def __init__(self, logs_dir: Path, stderr_lines: int):
        self.logs_dir = logs_dir
        self.stderr_lines = stderr_lines
        self.jobs: dict[str, _Job] = {}
        self.steps: set[str] = set()
        self.failed_jobs: list[str] = []
        self.failed_steps: list[str] = []
        self.errors: list[list[str]] = []
        self.is_workflow = False
        self.tail: deque[str] = deque(maxlen=stderr_lines)
        self._echoing: str | None = None  # job whose command line is still being printed
        self._echo_quote: str | None = None  # quote left open in it: an argument with newlines
        self._streaming: str | None = None  # job whose tool output the next lines are
        self._running: str | None = None  # job started and not completed
        self._open_error: list[str] | None = None  # error record taking continuation lines

    @property
    def tool_output_next(self) -> bool:
        """A tool's command line has been printed whole: what follows, until cwltool's next
        record, is that tool's output."""
        return self._streaming is not None

    def feed(self, line: str) -> LinePlace:
        self.tail.append(line)
        if self._echoing is not None:
            self._echo_quote = _quote_after(line, self._echo_quote)
            if self._echo_quote is None and not line.endswith(" \\"):
                self._end_echo(self._echoing, line)
            return LinePlace.CONTINUES
        record = _RECORD.match(line)
        if record is None:
            return self._feed_other(line)
        self._streaming = None
        self._open_error = None
        level, text = record.groups()
        subject = _SUBJECT.match(text)
        if subject is None:
            if level in ("ERROR", "CRITICAL"):
                self._open_error = [text]
                job = self.jobs.get(self._running) if self._running else None
                (job.errors if job else self.errors).append(self._open_error)
            return LinePlace.STARTS
        kind, name, rest = subject.groups()
        if kind == "workflow":
            self.is_workflow = True
        elif kind == "step":
            self._feed_step(name, rest)
        else:
            self._feed_job(name, rest, level)
        return LinePlace.STARTS

    def _feed_other(self, line: str) -> LinePlace:
        if self._streaming is not None:
            stderr = self.jobs[self._streaming].stderr
            stderr.append(line)
            while len(stderr) > self.stderr_lines:
                stderr.popleft()
            return LinePlace.TOOL_OUTPUT
        if self._open_error is not None:
            self._open_error.append(line)
        elif usage := _USAGE_ERROR.match(line):
            # argparse, when the job order lacks an input the package requires
            self.errors.append([usage.group(1)])
            return LinePlace.STARTS
        # A wrapped record, or details a record announced on its first line.
        return LinePlace.CONTINUES

    def _feed_step(self, name: str, rest: str) -> None:
        if rest == "start":
            self.steps.add(name)
        elif (done := _COMPLETED.match(rest)) and done.group(1) != "success":
            self.failed_steps.append(name)

    def _feed_job(self, name: str, rest: str, level: str) -> None:
        job = self.jobs.setdefault(name, _Job())
        if _COMMAND_ECHO.match(rest):
            self._running = name
            self._echo_quote = _quote_after(rest, None)
            if self._echo_quote is not None or rest.endswith(" \\"):
                self._echoing = name
            else:
                self._end_echo(name, rest)
        elif exited := _EXITED.match(rest):
            job.exit_code = int(exited.group(1))
        elif killed := _KILLED.match(rest):
            job.signal = killed.group(1)
            signum = getattr(signal.Signals, job.signal, None)
            job.exit_code = -signum.value if signum else None
        elif done := _COMPLETED.match(rest):
            self._running = None
            if done.group(1) == "success":
                del self.jobs[name]  # keep only what a failure message may need
            else:
                self.failed_jobs.append(name)
        elif level in ("ERROR", "CRITICAL"):
            # "[job x] Job error:" and the like; their details follow on the next lines
            self._open_error = [rest]
            job.errors.append(self._open_error)

    def _end_echo(self, name: str, last_line: str) -> None:
        self._echoing = None
        self._streaming = name
        # cwltool prints a `stderr:` capture as "... 2> <log dir>/<job name>/<file>", last.
        capture = f" 2> {self.logs_dir}/{name}/"
        at = last_line.rfind(capture)
        if at >= 0:
            self.jobs[name].stderr_file = Path(last_line[at + 4 :].strip())

    def failure(self, returncode: int | None) -> RunOutcome:
        if self.failed_jobs:
            return self._job_failure(self.failed_jobs[0])
        if self.errors:
            return RunOutcome(ok=False, message=_error_message(self.errors))
        tail = "\n".join(self.tail)
        what = f"cwltool exited with code {returncode}" if returncode else "cwltool gave no output"
        return RunOutcome(ok=False, message=f"{what}: {tail}" if tail else what, stderr_tail=tail)

    def _job_failure(self, name: str) -> RunOutcome:
        job = self.jobs[name]
        step = self._step_of(name)
        who = f"step '{step}'" if step else f"tool '{name}'"
        if step and step != name:
            who += f" (job '{name}')"
        if job.signal:
            what = f"{who} was killed by signal {job.signal}"
        elif job.exit_code:
            what = f"{who} failed with exit code {job.exit_code}"
        else:
            what = f"{who} failed"
        lines = self._stderr_of(job)
        tail = "\n".join(lines)
        # A tool's stderr says why it failed; cwltool's errors (an output it then could not
        # find, a command not found) are the story when the tool said nothing or did not run.
        detail = "\n".join(lines[-5:]) or _error_message(job.errors)
        return RunOutcome(
            ok=False,
            message=f"{what}: {detail}" if detail else f"{what} (it wrote nothing on stderr)",
            failed_step=step,
            exit_code=job.exit_code,
            stderr_tail=tail,
        )

    def _step_of(self, job_name: str) -> str | None:
        if not self.is_workflow:
            return None
        if job_name in self.steps:
            return job_name
        scattered = _SCATTER_SUFFIX.sub("", job_name)  # scatter jobs are step_2, step_3, ...
        if scattered in self.steps:
            return scattered
        return self.failed_steps[0] if self.failed_steps else job_name

    def _stderr_of(self, job: _Job) -> list[str]:
        lines = list(job.stderr)
        if job.stderr_file is not None:
            lines = _last_lines(job.stderr_file, self.stderr_lines) or lines
        while lines and not lines[-1].strip():
            lines.pop()
        return lines


def _quote_after(text: str, quote: str | None) -> str | None:
    """The shell quote still open at the end of ``text`` (cwltool prints arguments with
    shlex.quote), given the one open at its start."""
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote is None and char in "'\"":
            quote = char
        elif char == quote:
            quote = None
    return quote


def _last_lines(path: Path, count: int) -> list[str]:
    try:
        with open(path, "rb") as file:
            file.seek(0, os.SEEK_END)
            file.seek(max(0, file.tell() - 64 * 1024))
            text = file.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    return text.splitlines()[-count:]


# schema-salad starts each message with its place, `file:line:col: `, and wraps long ones
# to the width of a terminal; lines without a place continue the line before.
_PLACE = re.compile(r"^\S+:\d+:\d+: ")


def _unwrapped(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if out and _PLACE.match(out[-1]) and not _PLACE.match(line):
            out[-1] += " " + line
        else:
            out.append(line)
    return out


def _error_message(errors: list[list[str]]) -> str:
    """cwltool's error records, without its advice to use --debug and without places in
    job.json, a file the user never wrote."""
    parts = []
    for record in errors:
        lines = [line.strip() for line in record if line.strip()]
        prefix = ""
        while lines and lines[0] in _ERROR_KINDS:
            prefix = prefix or _ERROR_KINDS[lines.pop(0)]
        text = _JOB_ORDER_PLACE.sub("", "\n".join(_unwrapped(lines)))
        if required := _REQUIRED_ARGS.match(text):
            names = [name.strip().removeprefix("--") for name in required.group(1).split(",")]
            text = f"the job order lacks required inputs: {', '.join(names)}"
        parts.append(prefix + text)
    return "\n".join(part for part in parts if part)
