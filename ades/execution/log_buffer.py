"""Writing a run's log lines to the log store in batches: a chatty tool prints thousands of
lines, and one transaction per line would slow it down to the database's pace. Lines wait
at most ``interval`` seconds, so a client following the logs still sees them as they come."""

from __future__ import annotations

import logging
import threading

from ades.db.logs import LogStore
from ades.model import LogLevel

log = logging.getLogger(__name__)


class LogBuffer:
    def __init__(self, logs: LogStore, job_id: str, interval: float = 0.25, batch: int = 500):
        self.logs = logs
        self.job_id = job_id
        self.interval = interval
        self.batch = batch
        self._lines: list[tuple[LogLevel, str]] = []
        self._lock = threading.Lock()  # guards _lines
        self._write = threading.Lock()  # keeps batches in order
        self._closed = threading.Event()
        self._flusher = threading.Thread(
            target=self._flush_often, name=f"ades-logs-{job_id[:8]}", daemon=True
        )
        self._flusher.start()

    def add(self, level: LogLevel, message: str) -> None:
        with self._lock:
            self._lines.append((level, message))
            full = len(self._lines) >= self.batch
        if full:
            self.flush()

    def flush(self) -> None:
        with self._write:
            with self._lock:
                lines, self._lines = self._lines, []
            if lines:
                try:
                    self.logs.add_many(self.job_id, lines)
                except Exception:
                    # Losing log lines must not fail, or orphan, the run.
                    log.exception("job %s: %d log lines were lost", self.job_id, len(lines))

    def close(self) -> None:
        """Write what is left; later lines are written at once."""
        self._closed.set()
        self._flusher.join()
        self.flush()

    def _flush_often(self) -> None:
        while not self._closed.wait(self.interval):
            self.flush()
