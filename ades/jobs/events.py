"""JobEvents: where a process hears of job status changes, wherever they were made. A change
made here is heard at once (the store tells its listeners after the commit); one made by
another process (a worker, another replica) is read from the ``job_events`` table, polled
every ``interval`` seconds. A new job accepted anywhere is an event too (read from the table,
in every process). Sync execute, ``Prefer: wait`` and the runner's cancel watcher listen
here; so does a local pool with room, for jobs queued elsewhere."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ades.db.jobs import JobStore
from ades.model import JobStatus

log = logging.getLogger(__name__)

Subscriber = Callable[[str, JobStatus], None]

# How far back each poll reads again (see _poll).
_LOOKBACK = 200


class JobEvents:
    def __init__(self, store: JobStore, interval: float = 0.2):
        self.store = store
        self.interval = interval
        self._subscribers: list[Subscriber] = []
        self._elsewhere: list[Subscriber] = []
        self._changed = threading.Condition()
        # Events already told (made here, or read before), skipped when a poll reads them.
        self._told: set[int] = set()
        self._last = store.last_event()
        self._stopped = threading.Event()
        store.listeners.append(self._local)
        self._thread = threading.Thread(target=self._poll, name="ades-job-events", daemon=True)
        self._thread.start()

    def subscribe(self, subscriber: Subscriber) -> None:
        """Call ``subscriber(job_id, status)`` for every status change from now on."""
        self._subscribers.append(subscriber)

    def subscribe_elsewhere(self, subscriber: Subscriber) -> None:
        """Call ``subscriber(job_id, status)`` for every event read from the table, from
        now on: the changes other processes made, and the new jobs accepted anywhere (an
        insert tells no listener); not the changes this process made."""
        self._elsewhere.append(subscriber)

    def wait(self, done: Callable[[], bool], timeout: float) -> bool:
        """Block until ``done()`` holds, checked after each status change (and at least
        every second), or until ``timeout`` seconds have passed; returns ``done()``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (result := done()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(min(remaining, 1.0))
        return result

    def close(self) -> None:
        self._stopped.set()
        if self.store.listeners.count(self._local):
            self.store.listeners.remove(self._local)
        self._thread.join(timeout=5)

    def _local(self, event: int, job_id: str, status: JobStatus) -> None:
        with self._changed:
            told = event in self._told
            self._told.add(event)
        if not told:
            self._tell(job_id, status)

    def _poll(self) -> None:
        while not self._stopped.wait(self.interval):
            # PostgreSQL hands out ids when a transaction inserts, not when it commits: an
            # event may become visible after one with a larger id was read. Each poll reads
            # again the last _LOOKBACK ids and skips those told already.
            since = max(0, self._last - _LOOKBACK)
            try:
                events = self.store.events_after(since)
            except Exception:
                log.exception("reading job events failed; trying again")
                continue
            for event, job_id, status in events:
                with self._changed:
                    self._last = max(self._last, event)
                    told = event in self._told
                    self._told.add(event)
                if not told:
                    self._tell(job_id, status, elsewhere=True)
            with self._changed:
                self._told = {e for e in self._told if e > self._last - _LOOKBACK}

    def _tell(self, job_id: str, status: JobStatus, elsewhere: bool = False) -> None:
        with self._changed:
            self._changed.notify_all()
        for subscriber in list(self._subscribers) + (list(self._elsewhere) if elsewhere else []):
            try:
                subscriber(job_id, status)
            except Exception:
                log.exception("job %s: a subscriber of its events failed", job_id)
