"""What open event streams (GET /jobs/{id}/events) cost a server: status reads per second
of one `ades serve` worker, and the CPU it burns while nothing else happens, with no
stream open and with --streams streams following running jobs (the demo `echo` asked to
pause), measured side by side in one run. Printed as ratios to the run without streams.

    make bench            # or: .venv/bin/python bench/event_streams.py --streams 200

The streams are raw HTTP/1.1 connections of an asyncio client in this process that read
and drop what comes; the status reads come from bench/load.py (wrk when present).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import requests
from live_server import separate
from load import generator, measure
from memory import ASYNC, ECHO, JOBS, REPO, matched, until


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


class Streams:
    """``count`` event streams open on ``paths`` (round robin), read in a thread's loop."""

    def __init__(self, base: str, paths: list[str], count: int):
        self.base = urlsplit(base)
        self.paths = paths
        self.count = count
        self.open = 0
        self.bytes = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._followers: list[concurrent.futures.Future] = []

    def __enter__(self) -> Streams:
        self._thread.start()
        for i in range(self.count):
            path = self.paths[i % len(self.paths)]
            self._followers.append(
                asyncio.run_coroutine_threadsafe(self._follow(path), self._loop)
            )
        until(lambda: self.open == self.count, f"{self.count} open streams", 60)
        return self

    def __exit__(self, *_exc: object) -> None:
        for follower in self._followers:
            follower.cancel()
        concurrent.futures.wait(self._followers, timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _follow(self, path: str) -> None:
        reader, writer = await asyncio.open_connection(self.base.hostname, self.base.port)
        writer.write(f"GET {path}/events HTTP/1.1\r\nHost: {self.base.netloc}\r\n"
                     "Accept: text/event-stream\r\n\r\n".encode())  # fmt: skip
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            raise SystemExit(f"the stream of {path} was refused: {head!r}")
        self.open += 1
        try:
            while chunk := await reader.read(65536):
                self.bytes += len(chunk)
        finally:
            writer.close()


def quiet_cpu(pid: int, seconds: float) -> float:
    """The server's CPU time over ``seconds`` of wall time, as a share of one core."""
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=10, help="running jobs the streams follow")
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()
    print(f"event streams: {args.streams} open on {args.jobs} running jobs, one worker; "
          f"load from {generator()}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, requests.Session() as http, separate(
        Path(tmp) / "server", workspaces=str(REPO / "workspaces"),
        max_jobs=str(args.jobs), workers="1",
    ) as (process, base):  # fmt: skip
        jobs = []
        for i in range(args.jobs):
            r = http.post(base + ECHO, headers=ASYNC,
                          json={"inputs": {"stringInput": f"followed {i}", "pause": 900}})
            r.raise_for_status()
            jobs.append(r.json()["jobID"])
        until(lambda: matched(http, base, "running") == args.jobs, "the jobs running")
        paths = [f"{JOBS}/{job}" for job in jobs]
        status = base + paths[0]
        rows = []
        for label, count in (("no stream", 0), (f"{args.streams} streams", args.streams)):
            streams = Streams(base, paths, count) if count else None
            if streams:
                streams.__enter__()
            try:
                cpu = quiet_cpu(process.pid, args.duration)
                load = measure(status, connections=32, duration=args.duration)
            finally:
                if streams:
                    streams.__exit__(None, None, None)
            rows.append((label, cpu, load))
            print(f"  {label:<12} idle CPU {100 * cpu:5.1f} % of a core; status reads "
                  f"{load.rps:7.0f}/s (p99 {load.p99_ms:.1f} ms, {load.failed} failed)",
                  flush=True)  # fmt: skip
        (_, cpu0, load0), (_, cpu1, load1) = rows
        print(f"  ratio with streams: status reads {load1.rps / load0.rps:.2f}x, "
              f"idle CPU +{100 * (cpu1 - cpu0):.1f} % of a core "
              f"({100 * (cpu1 - cpu0) / args.streams * 100:.1f} % per 100 streams)")
        for job in jobs:
            http.delete(f"{base}{JOBS}/{job}")
        until(lambda: matched(http, base, "accepted", "running") == 0, "the jobs dismissed")


if __name__ == "__main__":
    main()
