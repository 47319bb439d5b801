"""The client's server-sent events: lines cut anywhere by the network, the fields of the
format, and a stream that drops and is resumed with Last-Event-ID (served by a small HTTP
server of the test that closes the first connection after one log entry)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ades.client import events
from ades.client.events import Event, follow, lines, monitor_link, parse
from ades.client.http import Api

STREAM = (b"retry: 2000\n\n"
          b"event: status\nid: 0\ndata: {\"status\": \"running\"}\n\n"
          b": keep-alive\n\n"
          b"event: log\r\nid: 7\r\n"
          b"data: {\"id\": \"7\",\r\ndata:  \"message\": \"two lines\"}\r\n\r\n"
          b"event: end\rid: 7\rdata: {\"status\": \"successful\"}\r\r")


@pytest.mark.parametrize("size", [1, 2, 3, 7, len(STREAM)])
def test_events_whatever_the_chunks(size):
    chunks = [STREAM[i:i + size] for i in range(0, len(STREAM), size)]
    events = list(parse(lines(chunks)))
    assert events == [
        Event("retry", "", None, 2000),
        Event("status", '{"status": "running"}', "0"),
        Event("log", '{"id": "7",\n "message": "two lines"}', "7"),
        Event("end", '{"status": "successful"}', "7"),
    ]
    assert json.loads(events[2].data) == {"id": "7", "message": "two lines"}


def test_utf8_cut_inside_a_character():
    data = "data: é ünïcode\n\n".encode()
    chunks = [data[i:i + 1] for i in range(len(data))]
    assert [e.data for e in parse(lines(chunks))] == ["é ünïcode"]


def test_an_event_without_data_is_not_dispatched_and_the_id_carries_on():
    events = list(parse(["event: nothing", "id: 3", "", "data: x", ""]))
    assert events == [Event("message", "x", "3")]


class _Job(BaseHTTPRequestHandler):
    """A job whose status links its event stream; the first connection to the stream
    ends after one log entry (no `end`), the next must say Last-Event-ID: 1."""

    seen_ids: list[str | None] = []

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, body: bytes, media: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.path == "/jobs/j1":
            doc = {"jobID": "j1", "status": "running", "links": [
                {"rel": "monitor", "type": "text/event-stream", "href": base + "/stream/j1"}]}
            self._send(json.dumps(doc).encode(), "application/json")
            return
        if not self.path.startswith("/stream/j1"):
            self.send_error(404)
            return
        last = self.headers.get("Last-Event-ID")
        type(self).seen_ids.append(last)
        running = json.dumps({"jobID": "j1", "status": "running", "progress": 50})
        done = json.dumps({"jobID": "j1", "status": "successful", "progress": 100})
        if last is None:
            body = (f"retry: 10\n\nevent: status\nid: 0\ndata: {running}\n\n"
                    'event: log\nid: 1\ndata: {"id": "1", "message": "one"}\n\n')
        else:
            body = (f"event: status\nid: {last}\ndata: {running}\n\n"
                    'event: log\nid: 1\ndata: {"id": "1", "message": "one again"}\n\n'
                    'event: log\nid: 2\ndata: {"id": "2", "message": "two"}\n\n'
                    f"event: end\nid: 2\ndata: {done}\n\n")
        self._send(body.encode(), "text/event-stream")


def test_a_dropped_stream_is_resumed_from_the_last_event_id():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Job)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Job.seen_ids = []
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        got = [(kind, doc.get("message") or doc.get("status"))
               for kind, doc in follow(Api(None), base + "/jobs/j1")]
    finally:
        server.shutdown()
        server.server_close()
    assert _Job.seen_ids == [None, "1"]
    # The entry sent again after the reconnect is not shown twice.
    assert got == [("status", "running"), ("log", "one"), ("status", "running"),
                   ("log", "two"), ("end", "successful")]


def test_follow_reads_the_live_servers_event_stream(live, monkeypatch):
    """Our server links its stream from the status: the client follows it (polling would
    fail here) from the first status to the end, each log entry once and in order."""

    def no_polling(*args: object, **kwargs: object) -> None:
        raise AssertionError("the client polled a server that offers its event stream")

    monkeypatch.setattr(events, "_poll", no_polling)
    r = live.post("/lab/ogc-api/processes/steps/execution", json={"inputs": {"pause": 0.2}},
                  headers={"Prefer": "respond-async"})
    job_url = r.headers["Location"]
    assert monitor_link(r.json()) == job_url + "/events"
    got = list(follow(Api(None), job_url))
    kinds = [kind for kind, _ in got]
    assert kinds[0] == "status" and kinds[-1] == "end" and kinds.count("end") == 1
    assert got[-1][1]["status"] == "successful"
    ids = [int(doc["id"]) for kind, doc in got if kind == "log"]
    assert ids == sorted(set(ids))
    messages = [doc["message"] for kind, doc in got if kind == "log"]
    assert "first says 1" in messages and messages[-1] == "job successful"
    progress = [doc["progress"] for kind, doc in got if kind == "status"]
    assert progress == sorted(progress) and progress[-1] == 100

    # Reopened from an entry on, the stream sends the status, then only later entries.
    middle = ids[len(ids) // 2]
    response = events._open(Api(None), job_url + "/events", None, str(middle))
    assert response is not None
    with response:
        again = list(parse(lines(response.iter_content(chunk_size=None))))
    assert again[1].event == "status"
    later = [int(json.loads(e.data)["id"]) for e in again if e.event == "log"]
    assert later == [i for i in ids if i > middle]
    assert again[-1].event == "end"
