"""Load for the throughput benchmarks: ``measure(url, ...)`` keeps ``connections`` HTTP/1.1
connections busy for ``duration`` seconds and returns requests per second, the 99th
percentile latency and the count of failed answers.

It drives wrk (Debian: ``apt-get install wrk``) when the machine has it: written in C, it
leaves the cores to the servers being compared. Without it, a small asyncio client does the
same in this process; its figures are lower for every server alike, so ratios measured in
one run with it still compare, and the report says which generator ran.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Load:
    rps: float
    p99_ms: float
    requests: int
    failed: int  # answers outside 2xx/3xx, and socket errors
    generator: str


def generator() -> str:
    return "wrk" if shutil.which("wrk") else "python"


def measure(
    url: str,
    *,
    connections: int = 32,
    duration: float = 10.0,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Load:
    headers = dict(headers or {})
    if body is not None:
        headers.setdefault("Content-Type", "application/json")
    if shutil.which("wrk"):
        return _wrk(url, connections, duration, method, body, headers)
    return asyncio.run(_python(url, connections, duration, method, body, headers))


# wrk takes a request's method, body and headers from a Lua script only.
_SCRIPT = """\
wrk.method = {method}
wrk.body = {body}
{headers}
"""


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid Lua string literal for our inputs


def _wrk(url, connections, duration, method, body, headers) -> Load:
    script = _SCRIPT.format(
        method=_lua_string(method),
        body=_lua_string(body.decode()) if body is not None else "nil",
        headers="\n".join(
            f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()
        ),
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "request.lua"
        path.write_text(script)
        threads = min(2, connections)
        out = subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s",
             "--latency", "-s", str(path), url],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    p99 = _wrk_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    failed = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        failed += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        failed += sum(map(int, m.groups()))
    return Load(rps, p99, total, failed, "wrk")


def _wrk_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


async def _python(url, connections, duration, method, body, headers) -> Load:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    head = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    if body is not None:
        head.append(f"Content-Length: {len(body)}")
    request = ("\r\n".join(head) + "\r\n\r\n").encode() + (body or b"")
    latencies: list[float] = []
    failed = 0
    end = time.perf_counter() + duration

    async def connection() -> None:
        nonlocal failed
        reader = writer = None
        while time.perf_counter() < end:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
                start = time.perf_counter()
                writer.write(request)
                status, close = await _answer(reader)
                latencies.append(time.perf_counter() - start)
                if not 200 <= status < 400:
                    failed += 1
                if close:
                    writer.close()
                    writer = None
            except (OSError, asyncio.IncompleteReadError, ValueError):
                failed += 1
                writer = None
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan")
    return Load(len(latencies) / elapsed, p99, len(latencies), failed, "python")


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Reads one answer; returns its status and whether the server closes the connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            fields[name.strip().lower()] = value.strip().lower()
    if "content-length" in fields:
        await reader.readexactly(int(fields["content-length"]))
    elif fields.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.read()
        return status, True
    return status, fields.get("connection") == "close"
