"""GET /{workspace}/{root}/jobs/{jobId}/events: a job followed live as server-sent events
(text/event-stream), for the job page and for scripts.

The stream says, in order: ``retry``, then an ``event: status`` with the job's status
document (the body of GET /jobs/{jobId}), again whenever that document changes (status,
progress, the step running); an ``event: log`` for each log entry as it is written (the
shape of one entry of GET /jobs/{jobId}/logs); and, once the job has ended and its logs are
all sent, ``event: end`` with the final status document, after which the server closes the
stream. Every event's id is the id of the last log entry sent so far: a client reconnecting
with ``Last-Event-ID`` gets the current status and only the entries after that one.

Everything is read from the database, so it works wherever the job runs. A status change
heard by this process (made here, or read by ``JobEvents`` from the table) wakes the stream
at once. For the rest (progress, log entries, whoever wrote them) one watcher per process
asks the database every ``interval`` seconds what changed of all the jobs followed here, in
two queries however many streams are open, and wakes only the streams of jobs that changed:
an idle stream costs no query and no thread.

The stream is served here, as ASGI, behind routing, security and validation (so the
contract, the credentials check and the 404 of an unknown job are the API's own), and never
reaches Flask: each request there holds one of a few threads for as long as it lasts."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ades.api.views import Urls, log_entry, status_info
from ades.model import Job, JobStatus
from ades.services import Services

log = logging.getLogger(__name__)

OPERATION = "ades.api.job_stream.job_events"
MEDIA_TYPE = "text/event-stream"
# What EventSource waits before reconnecting, in milliseconds.
RETRY_MS = 2000
# A comment line this often keeps proxies from closing an idle stream.
KEEP_ALIVE = 15.0
# Log entries read per query.
BATCH = 500


def job_events(workspace: str, root: str, jobId: str, level: str = "debug") -> None:  # noqa: N803
    """The operation of the contract; ``JobEventStream`` answers every request routed to
    it, so a request never gets here."""
    raise RuntimeError("GET /jobs/{jobId}/events is served by ades.api.job_stream")


def event(kind: str, last_log: int, data: Any) -> bytes:
    """One server-sent event; JSON never spans lines, so ``data`` is one line."""
    return f"event: {kind}\nid: {last_log}\ndata: {json.dumps(data)}\n\n".encode()


def last_event_id(header: str | None) -> int:
    """The log entry a reconnecting client last had: ``Last-Event-ID`` as we sent it. A
    value we never sent (not a number) starts from the beginning, as no header would:
    the stream then repeats what the client may have, which is harmless for status and
    better than losing log entries."""
    try:
        return max(0, int((header or "0").strip()))
    except ValueError:
        return 0


class JobEventStream:
    """The ASGI middleware that answers the events operation (see the module)."""

    def __init__(self, app: ASGIApp, services: Services, interval: float = 0.5):
        self.app = app
        self.services = services
        self.interval = interval
        # Streams of this process waiting on a job: woken when it changes.
        self._waiting: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watcher: asyncio.Task | None = None
        # What the watcher last read of each followed job (JobService.marks).
        self._marks: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routing = scope.get("extensions", {}).get("connexion_routing", {})
        operation, _, root = (routing.get("operation_id") or "").partition("@")
        if scope["type"] != "http" or operation != OPERATION:
            await self.app(scope, receive, send)
            return
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self.services.events.subscribe(self._heard)
        params = scope.get("path_params", {})
        workspace, job_id = params["workspace"], params["jobId"]
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        # The first read answers an unknown job with the API's 404, before any byte is sent.
        job = await asyncio.to_thread(self.services.jobs.get, workspace, job_id)
        urls = Urls(_base(scope, headers, workspace, root), root)
        await send({
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", f"{MEDIA_TYPE}; charset=utf-8".encode()),
                (b"cache-control", b"no-cache"),
                # nginx (an ingress) would otherwise hold the events back in its buffer.
                (b"x-accel-buffering", b"no"),
            ],
        })
        stream = _Stream(self, send, workspace, job, urls, query.get("level", "debug"),
                         last_event_id(headers.get("last-event-id")))  # fmt: skip
        disconnected = asyncio.Event()
        watcher = asyncio.create_task(_until_disconnect(receive, disconnected))
        try:
            await stream.run(disconnected)
        except Exception:
            # The status line is sent: all that is left is to end the stream; the client
            # reconnects with its Last-Event-ID and loses nothing.
            log.exception("job %s: its event stream broke off", job_id)
        finally:
            watcher.cancel()
        if not disconnected.is_set():
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    def follow(self, job_id: str, wake: asyncio.Event) -> None:
        self._waiting[job_id].add(wake)
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._watch())

    def unfollow(self, job_id: str, wake: asyncio.Event) -> None:
        waiting = self._waiting.get(job_id)
        if waiting is not None:
            waiting.discard(wake)
            if not waiting:
                del self._waiting[job_id]
                self._marks.pop(job_id, None)

    async def _watch(self) -> None:
        """While streams are open: every ``interval`` seconds, what changed of the jobs
        they follow, and wake theirs."""
        while self._waiting:
            await asyncio.sleep(self.interval)
            followed = list(self._waiting)
            try:
                marks = await asyncio.to_thread(self.services.jobs.marks, followed)
            except Exception:
                log.exception("reading the followed jobs failed; trying again")
                continue
            for job_id, mark in marks.items():
                if job_id in self._waiting and self._marks.get(job_id) != mark:
                    self._marks[job_id] = mark
                    self._wake(job_id)

    def _heard(self, job_id: str, _status: JobStatus) -> None:
        """A status change (any thread): wake the streams of that job."""
        if self._loop is not None and self._waiting.get(job_id):
            self._loop.call_soon_threadsafe(self._wake, job_id)

    def _wake(self, job_id: str) -> None:
        for waiting in self._waiting.get(job_id, ()):
            waiting.set()


class _Stream:
    def __init__(self, owner: JobEventStream, send: Send, workspace: str, job: Job,
                 urls: Urls, level: str, last_log: int):  # fmt: skip
        self.owner = owner
        self.send = send
        self.workspace = workspace
        self.job = job
        self.urls = urls
        self.level = level
        self.last_log = last_log
        self.shown: dict[str, Any] | None = None

    async def run(self, disconnected: asyncio.Event) -> None:
        jobs = self.owner.services.jobs
        wake = asyncio.Event()
        self.owner.follow(self.job.id, wake)
        try:
            await self._write(f"retry: {RETRY_MS}\n\n".encode())
            while not disconnected.is_set():
                wake.clear()
                job = self.job
                doc = status_info(job, self.urls)
                if doc != self.shown:
                    self.shown = doc
                    await self._write(event("status", self.last_log, doc))
                more = await self._logs()
                if job.status.finished and not more:
                    await self._write(event("end", self.last_log, doc))
                    return
                if not more:
                    try:
                        await asyncio.wait_for(_first(wake, disconnected), KEEP_ALIVE)
                    except TimeoutError:
                        await self._write(b": keep-alive\n\n")
                        continue
                self.job = await asyncio.to_thread(jobs.get, self.workspace, self.job.id)
        finally:
            self.owner.unfollow(self.job.id, wake)

    async def _logs(self) -> bool:
        """Send the entries after the last one sent; whether a full batch came (more may
        be waiting)."""
        entries, _ = await asyncio.to_thread(
            self.owner.services.jobs.logs, self.workspace, self.job.id,
            str(self.last_log), self.level, BATCH,
        )  # fmt: skip
        for entry in entries:
            self.last_log = entry.id
            await self._write(event("log", self.last_log, log_entry(entry)))
        return len(entries) == BATCH

    async def _write(self, data: bytes) -> None:
        await self.send({"type": "http.response.body", "body": data, "more_body": True})


async def _first(*events: asyncio.Event) -> None:
    """Return as soon as one of ``events`` is set."""
    tasks = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


async def _until_disconnect(receive: Receive, disconnected: asyncio.Event) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            disconnected.set()
            return


def _base(scope: Scope, headers: dict[str, str], workspace: str, root: str) -> str:
    """The workspace root's absolute URL, as the API's documents spell it (Flask's
    ``request.host_url``: the scheme and the Host header)."""
    host = headers.get("host")
    if not host:
        server = scope.get("server") or ("localhost", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}/{workspace}/{root}"
