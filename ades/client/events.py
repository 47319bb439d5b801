"""Following a job to its end: its server-sent events when the server offers them (a status
link ``rel=monitor`` of type ``text/event-stream``, or ``…/jobs/{id}/events``), else
polling its status document and ``…/logs`` every second (pygeoapi and other servers
without a stream).

The SSE parsing is written here, over a streamed ``requests`` response: the format is a
few lines of ``field: value`` (WHATWG HTML, "Server-sent events"), and the libraries for it
either bring their own HTTP stack or lag on reconnection; this one reconnects with
``Last-Event-ID`` when the stream drops and keeps the session's auth and timeouts."""

from __future__ import annotations

import codecs
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import requests

from ades.client.http import EXIT_HTTP, FINAL, Api, ClientError

EVENT_STREAM = "text/event-stream"
JSON = {"Accept": "application/json"}
# The stream sends a comment every 15 s: a read that waits longer means it is gone.
READ_TIMEOUT = 60
# Consecutive drops of the stream before giving up (each waits the stream's `retry`).
RECONNECTS = 5


@dataclass
class Event:
    event: str
    data: str
    id: str | None
    retry: int | None = None


def lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """The lines of a byte stream split on CR, LF or CRLF, also when a CRLF is cut in two by
    the chunks (``Response.iter_lines`` then yields a spurious empty line, which in SSE
    would dispatch an event early)."""
    decode = codecs.getincrementaldecoder("utf-8")(errors="replace").decode
    pending = ""
    for chunk in chunks:
        pending += decode(chunk)
        while True:
            cut = min((i for i in (pending.find("\r"), pending.find("\n")) if i >= 0),
                      default=-1)
            if cut < 0 or (pending[cut] == "\r" and cut == len(pending) - 1):
                break  # no end of line yet, or a CR whose LF may be in the next chunk
            line, rest = pending[:cut], pending[cut + 1:]
            if pending[cut] == "\r" and rest.startswith("\n"):
                rest = rest[1:]
            yield line
            pending = rest
    if pending.endswith("\r"):
        yield pending[:-1]


def parse(stream: Iterable[str]) -> Iterator[Event]:
    """Events from the lines of an event stream: ``event``, ``data`` (lines joined by LF),
    ``id`` (kept from event to event, as the spec says) and ``retry``; comments skipped."""
    kind, data, retry = "", [], None
    last_id: str | None = None
    for line in stream:
        if not line:
            if data:
                yield Event(kind or "message", "\n".join(data), last_id, retry)
            kind, data, retry = "", [], None
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            kind = value
        elif field == "data":
            data.append(value)
        elif field == "id" and "\0" not in value:
            last_id = value
        elif field == "retry" and value.isdigit():
            retry = int(value)
            if not data:  # a lone `retry:` block is a setting, not an event
                yield Event("retry", "", last_id, retry)


def monitor_link(status: dict) -> str | None:
    for link in status.get("links") or []:
        if link.get("rel") == "monitor" and (link.get("type") or "").startswith(EVENT_STREAM):
            return link.get("href")
    return None


def follow(api: Api, job_url: str, level: str | None = None, logs: bool = True,
           interval: float = 1.0) -> Iterator[tuple[str, dict]]:
    """``("status", document)`` when the job's status, progress or message change,
    ``("log", entry)`` for each log entry (from ``level`` up), and last ``("end", final
    status document)``."""
    status = api.json("GET", job_url, headers=JSON)
    events_url = monitor_link(status) or job_url + "/events"
    response = _open(api, events_url, level, None)
    if response is None:
        yield from _poll(api, job_url, status, level, logs, interval)
        return
    yield from _stream(api, events_url, level, logs, response)


def _open(api: Api, url: str, level: str | None,
          last_id: str | None) -> requests.Response | None:
    """The event stream, or None when the server has none there (404 and the like)."""
    headers = {"Accept": EVENT_STREAM, "Cache-Control": "no-cache"}
    if last_id is not None:
        headers["Last-Event-ID"] = last_id
    response = api.request("GET", url, ok=(400, 404, 405, 406, 501), stream=True,
                           headers=headers, params={"level": level} if level else None,
                           timeout=(api.timeout, READ_TIMEOUT))
    if response.status_code != 200 or not response.headers.get(
            "Content-Type", "").startswith(EVENT_STREAM):
        response.close()
        return None
    return response


def _stream(api: Api, url: str, level: str | None, logs: bool,
            response: requests.Response | None) -> Iterator[tuple[str, dict]]:
    last_id: str | None = None
    retry = 2.0
    drops = 0
    seen = -1  # the highest log id yielded: a reconnect must not repeat one
    while True:
        if response is None:
            if drops > RECONNECTS:
                raise ClientError(f"the event stream {url} dropped {drops} times in a row")
            time.sleep(retry)  # the server's reconnection delay (its `retry:`)
            try:
                response = _open(api, url, level, last_id)
            except ClientError as err:
                if err.code == EXIT_HTTP:  # the server answered an error: no use retrying
                    raise
                response = None
                drops += 1
                continue
            if response is None:
                raise ClientError(f"the event stream {url} is gone")
        try:
            for event in parse(lines(response.iter_content(chunk_size=None))):
                drops = 0
                if event.retry is not None:
                    retry = min(event.retry / 1000, 10)
                if event.id is not None:
                    last_id = event.id
                if event.event not in ("status", "log", "end"):
                    continue
                doc = json.loads(event.data)
                if event.event == "log":
                    number = _number(doc.get("id"))
                    if logs and (number is None or number > seen):
                        seen = number if number is not None else seen
                        yield "log", doc
                    continue
                yield event.event, doc
                if event.event == "end":
                    return
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                requests.Timeout):
            pass
        finally:
            response.close()
        response = None  # the stream ended without `end`: reconnect from the last id
        drops += 1


def _number(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _poll(api: Api, job_url: str, status: dict, level: str | None, logs: bool,
          interval: float) -> Iterator[tuple[str, dict]]:
    """The fallback: the status document every ``interval`` seconds, and the logs after
    the last entry seen when the server has ``…/logs`` (a 404 there turns them off)."""
    shown: tuple | None = None
    offset: str | None = None
    while True:
        key = (status.get("status"), status.get("progress"), status.get("message"))
        if key != shown:
            shown = key
            yield "status", status
        while logs:
            params = {"offset": offset, "level": level}
            page = api.request("GET", job_url + "/logs", ok=(404, 405, 501), headers=JSON,
                               params={k: v for k, v in params.items() if v})
            if page.status_code != 200 or "json" not in page.headers.get("Content-Type", ""):
                logs = False
                break
            entries = (page.json() or {}).get("logs") or []
            for entry in entries:
                yield "log", entry
            if not entries:
                break
            offset = str(entries[-1].get("id"))
        if status.get("status") in FINAL:
            yield "end", status
            return
        time.sleep(interval)
        status = api.json("GET", job_url, headers=JSON)
