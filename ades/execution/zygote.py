"""The warm cwltool process: started once by the runner (``python -m ades.execution.zygote
FD``), it imports cwltool and loads the CWL schemas once, then forks one child per run, so
a run no longer pays cwltool's start-up (its imports, then the schemas it would load anew).

It is single-threaded, so forking from it is safe: a selector loop over the runner's
socket (FD, a Unix SOCK_SEQPACKET socket), one socket per run, and SIGCHLD.

- A run request on the runner's socket is one JSON message (argv, env, cwd, fetch policy)
  with three descriptors: the write ends of the run's stdout and stderr pipes, and the
  zygote's end of the run's own socket. The child gets the pipes as its stdout and stderr;
  the runner reads them exactly as it read a cwltool subprocess's.
- On the run's socket the zygote says ``{"pid": N}`` once it forked and ``{"exit": CODE}``
  once the child ended (a negative code: killed by that signal), then closes it. The runner
  sends ``{"signal": N}`` on it to cancel; closing it kills the run.
- Each child is a session and process group of its own. Only the zygote reaps it, and only
  after killing its group, in this one thread: a signal for the group can never reach a
  group that reused its id.
- When the server goes (even by SIGKILL) its end of the socket closes: the zygote kills
  every run's group and exits. When the zygote goes, each child hears of it (its
  parent-death signal) and kills its own group.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import logging
import os
import selectors
import signal
import socket
import sys
import tempfile
import threading
import traceback
import warnings
from pathlib import Path
from typing import Any

# Large enough for a run request (argv and environment).
MAX_MESSAGE = 1 << 20
# CWL versions whose schema every run loads: the first one before the zygote serves, the
# others when it is first idle.
VERSIONS = ("v1.2", "v1.0", "v1.1")
# The signal a child gets when the zygote dies (prctl PR_SET_PDEATHSIG).
_PARENT_GONE = signal.SIGUSR2
_PR_SET_PDEATHSIG = 1

# A workflow with a scattered step, loaded once at start: the first load of a document
# pays for code paths and caches beyond the schema itself.
_WARM_UP = """\
cwlVersion: v1.2
class: Workflow
requirements: {ScatterFeatureRequirement: {}}
inputs: {xs: 'string[]'}
outputs: {}
steps:
  each:
    run:
      class: CommandLineTool
      baseCommand: echo
      inputs: {x: {type: string, inputBinding: {}}}
      outputs: {}
    in: {x: xs}
    scatter: x
    out: []
"""


def _keep_loaded_schemas() -> None:
    """cwltool's main() drops the schemas it holds unless given a schema callback: this
    one keeps them."""


# What every run would make anew and is the same for all: cwltool's argument parser and
# its version line (read from the package metadata). Made by warm_up().
_parser: argparse.ArgumentParser | None = None
_version = ""


def warm_up() -> None:
    global _parser, _version
    import cwltool.main  # noqa: F401  (what every run imports)
    from cwltool.argparser import arg_parser
    from cwltool.context import LoadingContext
    from cwltool.load_tool import load_tool
    from cwltool.process import get_schema
    from cwltool.utils import versionstring

    from ades.fetching import FetchPolicy  # noqa: F401
    from ades.packages.hints import quiet_about_our_hints

    quiet_about_our_hints()
    # rdflib warns on every run that keeps provenance that it writes N-Triples in UTF-8
    # (cwltool asks for no encoding): a line in each job's log that tells its user nothing.
    warnings.filterwarnings("ignore", message="NTSerializer always uses UTF-8")
    get_schema(VERSIONS[0])
    _parser = arg_parser()
    # cwltool names itself by sys.argv[0], here this module's path: each run's log would
    # begin with it. Its runs are cwltool's, as `ades` runs them.
    program, sys.argv[0] = sys.argv[0], "cwltool"
    try:
        _version = versionstring()
    finally:
        sys.argv[0] = program
    logger = logging.getLogger("cwltool")
    logger.disabled = True  # what it says of the warm-up concerns no run
    try:
        with tempfile.TemporaryDirectory(prefix="ades-zygote-") as tmp:
            document = Path(tmp) / "warm-up.cwl"
            document.write_text(_WARM_UP)
            load_tool(str(document), LoadingContext())
    finally:
        logger.disabled = False


def _warm_provenance() -> None:
    """Load what cwltool's ``--provenance`` loads at the end of every run: the research
    object's modules, and PROV's serialisations, each made once of a small document (rdflib
    loads its plugins on first use). A run forked afterwards pays for none of it."""
    import io

    import cwltool.cwlprov.provenance_profile  # noqa: F401
    import cwltool.cwlprov.ro  # noqa: F401
    from prov.model import ProvDocument

    document = ProvDocument()
    document.add_namespace("ex", "https://example.org/")
    document.entity("ex:warm-up")
    for options in ({"format": "xml"}, {"format": "provn"}, {"format": "json"},
                    {"format": "rdf", "rdf_format": "turtle"},
                    {"format": "rdf", "rdf_format": "ntriples"},
                    {"format": "rdf", "rdf_format": "json-ld"}):  # fmt: skip
        with contextlib.suppress(Exception):
            document.serialize(io.StringIO(), **options)


class Zygote:
    def __init__(self, control: socket.socket):
        self.control = control
        self.selector = selectors.DefaultSelector()
        self.runs: dict[int, socket.socket] = {}  # child pid -> its run's socket
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(wake_w, False)
        self.wake_w = wake_w
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        # A Ctrl-C in the server's terminal is the server's to handle; its exit ends us.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.selector.register(control, selectors.EVENT_READ, self._request)
        self.selector.register(self.wake_r, selectors.EVENT_READ, self._reap)
        # What is loaded when first idle: the other schemas, then what a run that keeps
        # provenance loads (PROV and its serialisers).
        self.to_warm: list[Any] = [*VERSIONS[1:], _warm_provenance]

    def serve(self) -> None:
        while True:
            # While a schema remains to load, only wait when there is work.
            ready = self.selector.select(timeout=0 if self.to_warm else None)
            if not ready and self.to_warm:
                from cwltool.process import get_schema

                step = self.to_warm.pop(0)
                step() if callable(step) else get_schema(step)
                gc.freeze()
            for key, _ in ready:
                key.data(key.fileobj)

    def _request(self, control: socket.socket) -> None:
        try:
            data, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, 3)
        except OSError:
            data, fds = b"", []
        if not data:
            self._server_gone()
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            return
        out, err, channel_fd = fds
        channel = socket.socket(fileno=channel_fd)
        try:
            request = json.loads(data)
            pid = os.fork()
        except Exception:
            traceback.print_exc()
            for fd in (out, err):
                os.close(fd)
            channel.close()  # the runner hears EOF: the run failed to start
            return
        if pid == 0:
            code = 70
            try:
                self._forget(channel)
                code = _child(request, out, err)
            except BaseException:
                traceback.print_exc()
            finally:
                for stream in (sys.stdout, sys.stderr):
                    with contextlib.suppress(Exception):
                        stream.flush()
                os._exit(code)
        os.close(out)
        os.close(err)
        self.runs[pid] = channel
        self.selector.register(channel, selectors.EVENT_READ, self._from_runner)
        _say(channel, {"pid": pid})

    def _from_runner(self, channel: socket.socket) -> None:
        pid = next(p for p, c in self.runs.items() if c is channel)
        try:
            data = channel.recv(4096)
        except OSError:
            data = b""
        if not data:
            # The runner let go of the run: nothing would read it, stop it.
            self.selector.unregister(channel)
            _kill_run(pid, signal.SIGKILL)
            return
        with contextlib.suppress(ValueError, KeyError, TypeError):
            _kill_run(pid, int(json.loads(data)["signal"]))

    def _reap(self, wake: int) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(wake, 4096):
                pass
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None:
                return
            pid = info.si_pid
            # The child is a zombie: its group id is still its own. Kill what it left
            # running (they hold the run's pipes open), then reap it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            channel = self.runs.pop(pid, None)
            if channel is None:
                continue
            with contextlib.suppress(KeyError):
                self.selector.unregister(channel)
            _say(channel, {"exit": os.waitstatus_to_exitcode(status)})
            channel.close()

    def _server_gone(self) -> None:
        for pid in self.runs:
            _kill_run(pid, signal.SIGKILL)
        os._exit(0)

    def _forget(self, channel: socket.socket) -> None:
        """In a child: close everything of the zygote's (properly, so that no object
        closes a reused descriptor number later)."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        self.selector.close()
        for run_channel in self.runs.values():
            run_channel.close()
        self.runs.clear()
        channel.close()
        self.control.close()
        os.close(self.wake_r)
        os.close(self.wake_w)


def _say(channel: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        channel.send(json.dumps(message).encode())


def _kill_run(pid: int, signum: int) -> None:
    """Signal the run's group. Only called while the child is not reaped, so the group id
    is still the child's; the child itself too, in case it has not made its group yet."""
    for kill in (os.kill, os.killpg):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(pid, signum)


def _kill_own_group(*_: Any) -> None:
    os.killpg(0, signal.SIGKILL)


def _child(request: dict[str, Any], out: int, err: int) -> int:
    """One run, in the forked child: a session of its own, the run's stdout and stderr,
    its working directory and clean environment, the fetch policy, then cwltool."""
    zygote = os.getppid()
    os.setsid()
    signal.signal(_PARENT_GONE, _kill_own_group)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, int(_PARENT_GONE), 0, 0, 0)
    if os.getppid() != zygote:  # it went before the line above
        _kill_own_group()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(err, 2)
    for fd in (null, out, err):
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    tempfile.tempdir = None  # read again from TMPDIR
    from ades.fetching import FetchPolicy

    FetchPolicy.from_argument(request["policy"]).guard_this_process()
    argv = request["argv"]
    sys.argv = list(argv)
    # What cwltool.main.run() does, but for its SIGTERM handler: that one waits for the
    # tools in the main thread, which may already wait for one under the lock the wait
    # needs, and so hangs until SIGKILL. This one stops them from a thread of its own.
    from cwltool.main import _terminate_processes, main

    def stop(signum: int) -> None:
        _terminate_processes()  # containers included (by their cidfile)
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os._exit(128 + signum)

    signal.signal(
        signal.SIGTERM,
        lambda signum, _: threading.Thread(target=stop, args=(signum,), daemon=True).start(),
    )
    if "--provenance" in argv:
        _guard_research_object()
    if _parser is None:  # not warmed up (a test calling this directly)
        warm_up()
    assert _parser is not None
    try:
        return main(
            args=_parser.parse_args(argv[1:]),
            versionfunc=lambda: _version,
            custom_schema_callback=_keep_loaded_schemas,
        )
    finally:
        _terminate_processes()


def _guard_research_object() -> None:
    """cwltool writes its research object in main()'s ``finally``, after it printed the
    outputs: an error there (a full disk, a target it cannot replace) would escape main()
    and fail a run whose outputs are complete. In this child only, that step logs a
    warning instead and leaves no research object, which the runner then reports."""
    import cwltool.main as cwltool_main

    close_ro = cwltool_main.close_ro

    def guarded(research_object: Any, save_to: str | None = None) -> None:
        try:
            close_ro(research_object, save_to)
        except Exception as err:
            cwltool_main._logger.warning(
                "[provenance] the research object could not be written to %s: %s", save_to, err
            )
            with contextlib.suppress(Exception):
                close_ro(research_object)  # drop its temporary folder
            if save_to and os.path.isdir(save_to):
                import shutil

                shutil.rmtree(save_to, ignore_errors=True)

    cwltool_main.close_ro = guarded


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    zygote = Zygote(control)
    warm_up()
    gc.freeze()  # what is loaded now stays shared with every child, untouched by its GC
    zygote.serve()


if __name__ == "__main__":
    main()
