"""The CWL runner port implemented with cwltool: each run is a cwltool subprocess in its own
session, so a dismiss can kill it and every tool it started, and what cwltool prints on stderr
is read as it comes to say which step failed, with which exit code and which last words."""

from __future__ import annotations

import json
import logging
import os
import selectors
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import ades
from ades.execution.cwltool_log import CwltoolEvents, CwltoolLog, LinePlace
from ades.execution.runner import CwlRunner, EarlyCancels, RunEvent, RunOutcome
from ades.fetching import FetchPolicy

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
# What cwltool downloads itself (a package's http(s) defaults) keeps to the server's fetch
# policy, as stage-in does: no package reaches a metadata address through its defaults.
_CWLTOOL_MAIN = """\
import os, signal, sys, threading, time
def _watch(server=int(sys.argv.pop(1))):
    while os.getppid() == server:
        time.sleep(0.5)
    os.killpg(0, signal.SIGKILL)
threading.Thread(target=_watch, name="ades-orphan-watchdog", daemon=True).start()
from ades.fetching import FetchPolicy
FetchPolicy.from_argument(sys.argv.pop(1)).guard_this_process()
sys.argv[0] = "cwltool"
from ades.packages.hints import quiet_about_our_hints
quiet_about_our_hints()
from cwltool.main import run
sys.exit(run())
"""



def declares_formats(package: Path) -> bool:
    """Whether a parameter of the package (any process of it) declares a ``format``."""
    try:
        document = yaml.safe_load(package.read_text())
    except (OSError, yaml.YAMLError):
        return False

    def walk(node: Any) -> bool:
        if isinstance(node, dict):
            if "format" in node and ("type" in node or "id" in node):
                return True
            return any(walk(v) for v in node.values())
        if isinstance(node, list):
            return any(walk(v) for v in node)
        return False

    return walk(document)


class CwltoolRunner(CwlRunner):
    def __init__(
        self,
        container_engine: str = "none",
        kill_grace: float = 5.0,
        stderr_lines: int = 20,
        fetch_schemas: bool = False,
        fetch_policy: FetchPolicy | None = None,
    ):
        """``container_engine``: "none", "docker", "podman" or "singularity". ``kill_grace``:
        seconds a cancelled run gets between SIGTERM and SIGKILL (cwltool uses them to kill
        its containers). ``stderr_lines``: how much of a failed tool's stderr is kept.
        ``fetch_schemas``: download the package's ``$schemas`` on every run. Off by default
        it costs a network round trip (or an offline failure) per run and only serves
        ``format`` checks, so a package's ``$schemas`` are still read when one of its
        parameters declares a ``format`` (an ontology decides whether a subclass matches),
        as cwltool would, and skipped otherwise (schema.org in EO packages).
        ``fetch_policy``: where cwltool's own downloads may connect (by default the
        embedded one's: anywhere but link-local and metadata addresses)."""
        if container_engine not in CONTAINER_FLAGS:
            raise ValueError(
                f"unknown container engine {container_engine!r}; "
                f"expected one of {', '.join(CONTAINER_FLAGS)}"
            )
        self.container_engine = container_engine
        self.kill_grace = kill_grace
        self.stderr_lines = stderr_lines
        self.fetch_schemas = fetch_schemas
        self.fetch_policy = fetch_policy or FetchPolicy.open()
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._early_cancels = EarlyCancels()

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
        if not self.fetch_schemas and not declares_formats(package):
            flags.append("--skip-schemas")
        if self.container_engine == "none":
            # Tools run `python3` and friends from the server's environment; inside a
            # container the host's PATH would be wrong, so only without one.
            flags += ["--preserve-environment", "PATH"]
        # The first argument, the server's pid, is the watchdog's: taken off before cwltool
        # reads its own.
        return [
            sys.executable, "-c", _CWLTOOL_MAIN,
            str(os.getpid()), self.fetch_policy.argument(),
            *flags, target, str(workdir / "job.json"),
        ]  # fmt: skip

    def run(
        self,
        job_id: str,
        package: Path,
        entry: str | None,
        job_order: dict[str, Any],
        workdir: Path,
        on_event: Callable[[RunEvent], None] | None = None,
    ) -> RunOutcome:
        with self._lock:
            if self._early_cancels.take(job_id):
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
                    env=_child_env(workdir, self.container_engine),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    start_new_session=True,
                )
            cwl_log = CwltoolLog(workdir / "logs", self.stderr_lines)
            with open(workdir / "cwltool.log", "a", encoding="utf-8", buffering=1) as log_file:
                stdout = _follow(run, _LineSink(cwl_log, log_file, on_event, job_id))
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
            self._early_cancels.forget(job_id)

    def cancel(self, job_id: str) -> bool:
        with self._lock:
            run = self._runs.get(job_id)
            if run is None:
                self._early_cancels.add(job_id)
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


# What cwltool gets of the server's environment: what Python, node and the container
# engines' clients need, and nothing of the server's configuration (ADES_*, AWS_*, a
# database password): a package can read the environment of the cwltool that runs it.
_PASSED = (
    "LANG", "LC_ALL", "LC_CTYPE", "TZ", "LD_LIBRARY_PATH",
    # Fetching $schemas over HTTPS, through the machine's proxy if it has one.
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
    "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
)  # fmt: skip
# With a container engine, what its client needs to find its daemon, storage and image
# cache (under HOME too, which it keeps): the tools, in their containers, see none of it.
_ENGINE_PASSED = ("XDG_RUNTIME_DIR",)
_ENGINE_PREFIXES = ("DOCKER_", "CONTAINER_", "CONTAINERS_", "SINGULARITY", "APPTAINER",
                    "CWL_SINGULARITY_")  # fmt: skip


def _child_env(workdir: Path, container_engine: str = "none") -> dict[str, str]:
    """The environment of one cwltool run. cwltool hands its tools only HOME (their output
    dir), TMPDIR and, without a container, PATH (``--preserve-environment PATH``); without
    a container a tool could still read cwltool's own environment in /proc, so that holds
    only what is listed above."""
    server = os.environ
    env = {name: server[name] for name in _PASSED if name in server}
    env["PATH"] = os.pathsep.join(
        [str(Path(sys.executable).parent), *filter(None, [server.get("PATH")])]
    )
    env.setdefault("LANG", "C.UTF-8")
    env["TMPDIR"] = str(workdir / "tmp")
    if container_engine == "none":
        env["HOME"] = str(workdir)
    else:
        env["HOME"] = server.get("HOME", str(workdir))
        env.update(
            (name, value)
            for name, value in server.items()
            if name in _ENGINE_PASSED or name.startswith(_ENGINE_PREFIXES)
        )
    # The child imports ades (for the hint filter) from the workdir, where a server started
    # from a source checkout without installing would not find it. cwltool passes tools
    # no PYTHONPATH, so theirs stays untouched.
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(ades.__file__).resolve().parents[1]), *filter(None, [server.get("PYTHONPATH")])]
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
    together into messages, the run's events. A message is one of cwltool's records with
    the lines it spans (a wrapped warning, an error with its details, a command line with
    its arguments), or one line of a tool's own output; cwltool.log keeps the lines as
    they came."""

    def __init__(
        self,
        cwl_log: CwltoolLog,
        log_file: Any,
        on_event: Callable[[RunEvent], None] | None,
        job_id: str,
    ):
        self.cwl_log = cwl_log
        self.log_file = log_file
        self.on_event = on_event
        self.events = CwltoolEvents()
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
        if self.on_event is None:
            return
        try:
            for event in self.events.feed(message):
                self.on_event(event)
        except Exception:
            # A broken event consumer must not break, or orphan, the run itself.
            log.exception("job %s: on_event failed; no more events go to it", self.job_id)
            self.on_event = None
