"""The CWL runner port implemented with cwltool: each run is a cwltool process of its own,
forked from a warm one (the zygote), in its own session, so a dismiss can kill it and every
tool it started, and what cwltool prints on stderr is read as it comes to say which step
failed, with which exit code and which last words."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import selectors
import shutil
import signal
import socket
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
from ades.execution.runner import (
    PROVENANCE_DIR,
    CwlRunner,
    EarlyCancels,
    RunEvent,
    RunOutcome,
)
from ades.fetching import FetchPolicy
from ades.model import FailureCategory

log = logging.getLogger(__name__)

# cwltool flags selecting the container engine. "none" still runs packages that carry a
# DockerRequirement as a *hint*; one under `requirements` fails with a clear message.
CONTAINER_FLAGS: dict[str, list[str]] = {
    "none": ["--no-container"],
    "docker": [],
    "podman": ["--podman"],
    "singularity": ["--singularity"],
}

# A run is a child forked by the zygote (ades/execution/zygote.py), a process that imported
# cwltool and loaded the CWL schemas once: it runs cwltool's main() on the argv that
# command() makes, and its exit status is the run's. The runner hands it the run's stdout
# and stderr pipes and reads them here as they come.


def declares_formats(package: Path) -> bool:
    """Whether a parameter of the package (any process of it) declares a ``format``."""
    try:
        return _declares_formats(package.read_text())
    except OSError:
        return False


@functools.lru_cache(maxsize=256)
def _declares_formats(text: str) -> bool:
    # Kept per document text: every job of a pinned package reads the same one.
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
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

    def command(
        self, package: Path, entry: str | None, workdir: Path, provenance: bool = False
    ) -> list[str]:
        """The command line of one run; ``workdir`` must be absolute. ``provenance``: have
        cwltool write its CWLProv research object of the run to ``workdir/provenance``
        (it copies every input and output file into it, with their checksums)."""
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
        if provenance:
            flags += ["--provenance", str(workdir / PROVENANCE_DIR)]
        return ["cwltool", *flags, target, str(workdir / "job.json")]

    def run(
        self,
        job_id: str,
        package: Path,
        entry: str | None,
        job_order: dict[str, Any],
        workdir: Path,
        on_event: Callable[[RunEvent], None] | None = None,
        provenance: bool = False,
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
            if (workdir / PROVENANCE_DIR).is_dir():  # an earlier run's
                shutil.rmtree(workdir / PROVENANCE_DIR, ignore_errors=True)
            (workdir / "job.json").write_text(json.dumps(job_order))
            request = {
                "argv": self.command(package, entry, workdir, provenance),
                "env": _child_env(workdir, self.container_engine),
                "cwd": str(workdir),
                "policy": self.fetch_policy.argument(),
            }
            log.debug("job %s: %s", job_id, request["argv"])
            with self._lock:
                # Under the lock, so a cancel() either sees the flag set before we start
                # or finds the run to signal: never neither.
                if run.cancelled:
                    return _dismissed()
                run.stdout, run.stderr, run.channel = _start(request)
            cwl_log = CwltoolLog(workdir / "logs", self.stderr_lines)
            with open(workdir / "cwltool.log", "a", encoding="utf-8", buffering=1) as log_file:
                stdout = _follow(run, _LineSink(cwl_log, log_file, on_event, job_id))
        finally:
            _end(run)
            with self._lock:
                del self._runs[job_id]
        if run.cancelled:
            return _dismissed()
        returncode = run.returncode
        if returncode is None:
            return RunOutcome(
                ok=False,
                category=FailureCategory.SYSTEM,
                message="the server's cwltool process (its zygote) ended during the run, "
                "which was cut off; start the job again",
            )
        if returncode == 0:
            try:
                outputs = json.loads(stdout)
            except ValueError:
                outputs = None
            if isinstance(outputs, dict):
                outcome = RunOutcome(ok=True, outputs=outputs)
                if provenance:
                    _research_object(outcome, workdir / PROVENANCE_DIR)
                return outcome
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
            started = run.channel is not None
        if started:
            run.signal(signal.SIGTERM)
            if not run.finished.wait(self.kill_grace):
                run.signal(signal.SIGKILL)
                run.finished.wait(self.kill_grace)
        return True


def _research_object(outcome: RunOutcome, folder: Path) -> None:
    """Point the outcome of a successful run at the research object cwltool wrote, or say
    why there is none (the zygote had cwltool log a warning when writing it failed)."""
    if (folder / "bagit.txt").is_file() and (folder / "workflow" / "packed.cwl").is_file():
        outcome.provenance = folder
    else:
        outcome.provenance_failure = (
            "cwltool wrote no provenance research object of the run (see its warning above)"
        )


@dataclass
class _Run:
    # The read ends of the run's stdout and stderr, and its socket to the zygote.
    stdout: int | None = None
    stderr: int | None = None
    channel: socket.socket | None = None
    cancelled: bool = False
    pid: int | None = None
    # The exit status the zygote reported (negative: killed by that signal); None when
    # the zygote went before the run ended.
    returncode: int | None = None
    closing: threading.Lock = field(default_factory=threading.Lock)
    # Set once the run ended and what it left behind is killed.
    finished: threading.Event = field(default_factory=threading.Event)

    def signal(self, signum: int) -> None:
        """Have the zygote signal the run's process group (it alone reaps the run, so the
        group it signals is always the run's)."""
        with self.closing:
            if self.channel is None or self.finished.is_set():
                return
            with contextlib.suppress(OSError):
                self.channel.send(json.dumps({"signal": int(signum)}).encode())


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
    env = _zygote_env()
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
    return env


def _zygote_env() -> dict[str, str]:
    """The environment the zygote starts with, which is what /proc shows of every run's
    cwltool (a fork keeps it), whatever the run's own: only what is listed above."""
    server = os.environ
    env = {name: server[name] for name in _PASSED if name in server}
    env["PATH"] = os.pathsep.join(
        [str(Path(sys.executable).parent), *filter(None, [server.get("PATH")])]
    )
    env.setdefault("LANG", "C.UTF-8")
    # The zygote imports ades from /, where a server started from a source checkout
    # without installing would not find it. cwltool passes tools no PYTHONPATH, so theirs
    # stays untouched.
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(ades.__file__).resolve().parents[1]), *filter(None, [server.get("PYTHONPATH")])]
    )
    return env


class _ZygoteHandle:
    """The zygote of this process, started on first use and replaced when it died (or when
    this process is a fork of the one that started it)."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ades.execution.zygote", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            env=_zygote_env(),
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        theirs.close()
        self.control = ours
        self.owner = os.getpid()

    def usable(self) -> bool:
        return self.owner == os.getpid() and self.process.poll() is None

    def close(self) -> None:
        self.control.close()  # the zygote ends its runs and exits
        if self.owner == os.getpid():
            self.process.wait()


_zygote: _ZygoteHandle | None = None
_zygote_lock = threading.Lock()


def _start(request: dict[str, Any]) -> tuple[int, int, socket.socket]:
    """Have the zygote fork one run: the read ends of its stdout and stderr, and its
    socket. When the zygote is gone (even right after the request), the socket closes
    without an exit status."""
    global _zygote
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        message = json.dumps(request).encode()
        with _zygote_lock:
            for attempt in (1, 2):
                if _zygote is None or not _zygote.usable():
                    if _zygote is not None and _zygote.owner != os.getpid():
                        # A fork's copy of its parent's socket: the parent's zygote must
                        # still see the parent go.
                        _zygote.control.close()
                    _zygote = _ZygoteHandle()
                try:
                    socket.send_fds(_zygote.control, [message], [out_w, err_w, theirs.fileno()])
                    break
                except OSError:
                    if attempt == 2:
                        raise
                    _zygote = None  # it died since: a new one
    except BaseException:
        for fd in (out_r, err_r):
            os.close(fd)
        mine.close()
        raise
    finally:
        for fd in (out_w, err_w):
            os.close(fd)
        theirs.close()
    return out_r, err_r, mine


def stop_zygote() -> None:
    """End this process's zygote and its runs (a new one starts on the next run)."""
    global _zygote
    with _zygote_lock:
        zygote, _zygote = _zygote, None
    if zygote is not None:
        zygote.close()


def _follow(run: _Run, sink: _LineSink) -> bytes:
    """Read the run's stdout whole and its stderr line by line until both close, and the
    zygote's word on the run until it has said how the run ended; returns stdout. The
    zygote kills the tools left running once cwltool exits, as they hold the pipes open."""
    assert run.stdout is not None and run.stderr is not None and run.channel is not None
    stdout = bytearray()
    partial = b""
    with selectors.DefaultSelector() as selector:
        selector.register(run.stdout, selectors.EVENT_READ)
        selector.register(run.stderr, selectors.EVENT_READ)
        selector.register(run.channel, selectors.EVENT_READ)
        while selector.get_map():
            ready = selector.select(timeout=0.5)
            if not ready:
                # cwltool writes a record whole; a pause means the last one is complete.
                sink.flush()
            for key, _ in ready:
                if key.fileobj is run.channel:
                    try:
                        said = run.channel.recv(4096)
                    except OSError:
                        said = b""
                    if not said:
                        selector.unregister(run.channel)
                        continue
                    message = json.loads(said)
                    run.pid = message.get("pid", run.pid)
                    run.returncode = message.get("exit", run.returncode)
                    continue
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                elif key.fileobj == run.stdout:
                    stdout += chunk
                else:
                    *lines, partial = (partial + chunk).split(b"\n")
                    for line in lines:
                        sink.put(line)
    if partial:
        sink.put(partial)
    sink.flush()
    return bytes(stdout)


def _end(run: _Run) -> None:
    """Let go of the run: closing its socket has the zygote kill whatever of it is left
    (nothing, when it ended); then tell a waiting cancel()."""
    with run.closing:
        for fd in (run.stdout, run.stderr):
            if fd is not None:
                os.close(fd)
        run.stdout = run.stderr = None
        if run.channel is not None:
            run.channel.close()
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
