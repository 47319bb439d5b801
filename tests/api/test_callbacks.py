"""Subscriber callbacks, received by an HTTP server of the test: in progress, success (with
the results) and failure, delivered again after the subscriber answered an error."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.api.conftest import free_port, poll

CALLBACK = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/callback"
ASYNC = {"Prefer": "respond-async"}


class Subscriber:
    """Records each POST by path; answers 503 to the first ``refuse`` POSTs of a path."""

    def __init__(self) -> None:
        self.received: dict[str, list[dict]] = {}
        self.refused: dict[str, int] = {}
        self.refuse: dict[str, int] = {}
        self.lock = threading.Lock()
        subscriber = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with subscriber.lock:
                    if subscriber.refused.get(self.path, 0) < subscriber.refuse.get(self.path, 0):
                        subscriber.refused[self.path] = subscriber.refused.get(self.path, 0) + 1
                        code = 503
                    else:
                        subscriber.received.setdefault(self.path, []).append(body)
                        code = 204
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def got(self, path: str) -> list[dict]:
        with self.lock:
            return list(self.received.get(path, []))


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    sub = Subscriber()
    yield sub
    sub.server.shutdown()
    sub.server.server_close()


@pytest.mark.conformance(CALLBACK)
def test_success_and_in_progress_callbacks(live, subscriber):
    subscriber.refuse["/done"] = 2  # delivered on the third try
    body = {
        "inputs": {"stringInput": "called back"},
        "subscriber": {"successUri": subscriber.base + "/done",
                       "inProgressUri": subscriber.base + "/running",
                       "failedUri": subscriber.base + "/failed"},
    }
    r = live.post("/demo/ogc-api/processes/echo/execution", json=body, headers=ASYNC)
    assert r.status_code == 201, r.text
    job_id = r.json()["jobID"]
    done = poll(lambda: subscriber.got("/done"), bool, deadline=60)
    assert subscriber.refused["/done"] == 2
    assert len(done) == 1
    assert done[0]["jobID"] == job_id
    assert done[0]["status"] == "successful"
    assert done[0]["results"] == {"echoOutput": "called back"}
    assert {"rel": "self", "href": live.url(f"/demo/ogc-api/jobs/{job_id}")}.items() <= \
        done[0]["links"][0].items()
    running = poll(lambda: subscriber.got("/running"), bool, deadline=30)
    assert [d["status"] for d in running] == ["running"]
    assert subscriber.got("/failed") == []


@pytest.mark.conformance(CALLBACK)
def test_failed_callback_of_a_created_then_started_job(live, subscriber):
    created = live.post("/lab/wps3/jobs", json={
        "process": "fail", "inputs": {"message": "m"},
        "subscriber": {"failedUri": subscriber.base + "/failed"},
    })
    assert created.status_code == 201, created.text
    live.http.post(created.headers["Location"] + "/results")
    failed = poll(lambda: subscriber.got("/failed"), bool, deadline=60)
    assert failed[0]["status"] == "failed"
    assert failed[0]["failure"]["step"] == "explode"
    assert failed[0]["links"][0]["href"].startswith(live.url("/lab/wps3/jobs/"))


def test_undeliverable_callbacks_are_warnings_in_the_jobs_logs(live, subscriber):
    attempts = live.server.services.settings.callback_attempts
    subscriber.refuse["/done"] = attempts + 1  # refuses every try
    nobody = f"http://127.0.0.1:{free_port()}/running"  # a closed port: refused connections
    body = {
        "inputs": {"stringInput": "unheard"},
        "subscriber": {"successUri": subscriber.base + "/done", "inProgressUri": nobody},
    }
    r = live.post("/demo/ogc-api/processes/echo/execution", json=body, headers=ASYNC)
    assert r.status_code == 201, r.text
    logs = r.headers["Location"] + "/logs"

    def warnings() -> list[str]:
        entries = live.http.get(logs, params={"level": "warning"}).json()["logs"]
        return [e["message"] for e in entries if e["level"] == "warning"]

    said = poll(warnings, lambda w: len(w) == 2, deadline=60)
    # Only after the last attempt: the subscriber was asked every time first.
    assert subscriber.refused["/done"] == attempts
    refused = next(m for m in said if subscriber.base in m)
    assert refused == (f"callback (successUri) to {subscriber.base}/done could not be delivered "
                       f"after {attempts} attempt(s): the subscriber answered HTTP 503")
    closed = next(m for m in said if nobody in m)
    assert closed == (f"callback (inProgressUri) to {nobody} could not be delivered "
                      f"after {attempts} attempt(s): Connection refused")


@pytest.mark.parametrize(
    "subscriber_doc",
    [{"successUri": "ftp://example.org/x"}, {"sucessUri": "http://example.org/x"}],
)
def test_bad_subscriber_is_400_naming_it(live, subscriber_doc):
    r = live.post("/demo/ogc-api/processes/echo/execution", headers=ASYNC,
                  json={"inputs": {"stringInput": "x"}, "subscriber": subscriber_doc})
    assert r.status_code == 400, r.text
    assert f"subscriber '{next(iter(subscriber_doc))}'" in r.json()["detail"]
