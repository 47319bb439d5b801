"""Callbacks (OGC API - Processes Part 1 ``subscriber``): when a job starts running, succeeds
or fails, POST its status document (with the results, on success) to the URL the execute
request gave for that event. Deliveries run on a small pool of their own with retries and
backoff, so a slow or absent subscriber never holds a job up. One that cannot be delivered
is said in the job's own log, where its owner looks, not only in the server's."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from ades.db.logs import LogStore
from ades.fetching import FetchPolicy, FetchRefused
from ades.model import Job, JobStatus, LogLevel

log = logging.getLogger(__name__)

# Which subscriber URL hears of which status.
EVENTS = {
    JobStatus.RUNNING: "inProgressUri",
    JobStatus.SUCCESSFUL: "successUri",
    JobStatus.FAILED: "failedUri",
}
# How many events sent lately are remembered, so that one reported twice (by a stop and by
# the executor, moments apart) is sent once: the oldest are forgotten, or a server running
# for months would hold every event it ever sent.
REMEMBERED = 4096


class CallbackSender:
    def __init__(
        self,
        load: Callable[[str], Job],
        render: Callable[[Job], dict[str, Any]],
        attempts: int = 5,
        backoff: float = 0.5,
        timeout: float = 10.0,
        logs: LogStore | None = None,
        policy: FetchPolicy | None = None,
    ):
        """``load`` reads a job by id, ``render`` makes the document to POST. A delivery is
        tried ``attempts`` times, waiting ``backoff`` seconds, then twice that, and so on;
        one that never got through is a warning in the job's ``logs``. ``policy`` says
        which addresses subscribers may be at (by default the embedded one's); one it
        refuses is not tried again."""
        self.http = (policy or FetchPolicy.open()).session()
        self.load = load
        self.render = render
        self.logs = logs
        self.attempts = attempts
        self.backoff = backoff
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ades-callback")
        self._closed = threading.Event()
        self._lock = threading.Lock()
        # The events sent lately, oldest first (a dict keeps its insertion order).
        self._sent: dict[tuple[str, str, str], None] = {}

    def job_changed(self, job_id: str) -> None:
        """Tell the job's subscriber, if it has one for the job's status now. Returns at once."""
        job = self.load(job_id)
        uri = (job.request.get("subscriber") or {}).get(EVENTS.get(job.status, ""))
        if not uri or self._closed.is_set():
            return
        # The same event may be reported twice (e.g. by a stop and by the executor).
        key = (job.id, job.status.value, str(job.started))
        with self._lock:
            if key in self._sent:
                return
            self._sent[key] = None
            if len(self._sent) > REMEMBERED:
                del self._sent[next(iter(self._sent))]
        event = EVENTS[job.status]
        self._pool.submit(self._deliver, uri, self.render(job), job.id, event)

    def close(self) -> None:
        self._closed.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _deliver(self, uri: str, doc: dict[str, Any], job_id: str, event: str) -> None:
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                with self.http.post(uri, json=doc, timeout=self.timeout) as response:
                    if response.status_code < 400:
                        return
                    why = f"the subscriber answered HTTP {response.status_code}"
            except FetchRefused as err:
                self._undelivered(job_id, f"callback ({event}) to {uri} refused: {err}")
                return
            except requests.Timeout:
                why = f"no answer within {self.timeout:g}s"
            except requests.RequestException as err:
                why = _reason(err)
            log.info("job %s: callback to %s failed (%s), attempt %d", job_id, uri, why, attempt)
            if attempt == self.attempts:
                break
            if self._closed.wait(delay):
                # The server stops; its database may be gone already.
                log.warning("job %s: callback to %s abandoned at shutdown", job_id, uri)
                return
            delay *= 2
        self._undelivered(
            job_id,
            f"callback ({event}) to {uri} could not be delivered "
            f"after {self.attempts} attempt(s): {why}",
        )

    def _undelivered(self, job_id: str, message: str) -> None:
        log.warning("job %s: %s", job_id, message)
        if self.logs is not None:
            try:
                self.logs.add(job_id, LogLevel.WARNING, message)
            except Exception:
                log.exception("job %s: the undelivered callback could not be logged", job_id)


# What the operating system said, inside the wrapping of requests and urllib3
# ("... Failed to establish a new connection: [Errno 111] Connection refused')").
_OS_ERROR = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def _reason(err: requests.RequestException) -> str:
    found = _OS_ERROR.search(str(err))
    return found.group(1).strip() if found else str(err)
