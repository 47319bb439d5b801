"""The callback sender's memory of the events it sent: a repeat is sent once, and what it
remembers stays bounded however many jobs a server runs."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ades.jobs.callbacks import CallbackSender
from ades.model import Job, JobStatus, utcnow


@pytest.fixture
def subscriber():
    """A real HTTP subscriber on 127.0.0.1: its URL and the job ids it was told of."""
    heard: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            heard.append(self.path.strip("/"))
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", heard
    server.shutdown()


def test_repeats_are_sent_once_and_only_the_latest_events_are_remembered(
    subscriber, monkeypatch
):
    monkeypatch.setattr("ades.jobs.callbacks.REMEMBERED", 3)
    url, heard = subscriber
    started = utcnow()
    jobs = {
        f"job{i}": Job(
            id=f"job{i}", workspace="ws", process_id="p", status=JobStatus.SUCCESSFUL,
            started=started, request={"subscriber": {"successUri": f"{url}/job{i}"}},
        )  # fmt: skip
        for i in range(5)
    }
    sender = CallbackSender(jobs.__getitem__, lambda job: {"jobID": job.id}, attempts=1)
    try:
        for job_id in [*jobs, "job4", "job3"]:  # the two latest told again: not sent again
            sender.job_changed(job_id)
        deadline = time.monotonic() + 30
        while len(heard) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(heard) == sorted(jobs)
        assert len(sender._sent) == 3
        sender.job_changed("job0")  # forgotten since: a late repeat is sent again
        while len(heard) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert heard.count("job0") == 2
    finally:
        sender.close()
