"""A job followed as server-sent events through HTTP (GET /jobs/{jobId}/events): status,
progress and log events while it runs, one `end` event when it has ended, resumed with
Last-Event-ID; errors of a client named. Also run in the distributed mode, where the job
runs in another process than the one streaming it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import requests

from tests.api.conftest import poll

ASYNC = {"Prefer": "respond-async"}
OGC1 = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"


def events(response: requests.Response) -> Iterator[dict]:
    """The events of a text/event-stream body, as {event, id, data} (data parsed as JSON),
    and {"comment": ...} for comment lines; parsed by the rules of the SSE format."""
    fields: dict[str, str] = {}
    for raw in response.iter_lines(decode_unicode=True):
        if raw == "":
            if "data" in fields:
                yield {"event": fields.get("event", "message"), "id": fields.get("id"),
                       "data": json.loads(fields["data"])}
            fields = {}
            continue
        if raw.startswith(":"):
            yield {"comment": raw[1:].strip()}
            continue
        name, _, value = raw.partition(":")
        value = value[1:] if value.startswith(" ") else value
        fields[name] = fields[name] + "\n" + value if name == "data" and name in fields else value


def stream(live, location: str, **kw) -> requests.Response:
    r = live.http.get(location + "/events", stream=True, timeout=120, **kw)
    assert r.status_code == 200, r.text
    return r


def _start_steps(live, pause=0.3):
    r = live.post("/lab/ogc-api/processes/steps/execution", json={"inputs": {"pause": pause}},
                  headers=ASYNC)
    assert r.status_code == 201, r.text
    return r.headers["Location"]


def test_a_running_job_streams_status_progress_logs_and_ends(live):
    location = _start_steps(live)
    r = stream(live, location)
    assert r.headers["Content-Type"].startswith("text/event-stream")
    assert r.headers["Cache-Control"] == "no-cache"
    got = [e for e in events(r) if "event" in e]
    kinds = [e["event"] for e in got]
    assert kinds[0] == "status" and kinds[-1] == "end" and kinds.count("end") == 1, kinds
    statuses = [e["data"] for e in got if e["event"] == "status"]
    progress = [s["progress"] for s in statuses]
    assert progress == sorted(progress), progress
    # Seen while it ran, step by step (each a change of the status document).
    assert any(s["message"].startswith("running step") for s in statuses), statuses
    assert len(set(progress)) >= 3, progress
    end = got[-1]["data"]
    assert end["status"] == "successful" and end["progress"] == 100
    logs = [e for e in got if e["event"] == "log"]
    assert logs, kinds
    # Every event's id is the id of the last log entry sent so far.
    assert [e["id"] for e in logs] == [e["data"]["id"] for e in logs]
    ids = [int(e["id"]) for e in got]
    assert ids == sorted(ids)
    # The same entries, in the same order, as the logs endpoint gives.
    listed = live.http.get(location + "/logs").json()["logs"]
    assert [e["data"] for e in logs] == [
        {k: entry[k] for k in ("id", "time", "level", "message")} for entry in listed
    ]


def test_a_reconnect_with_last_event_id_gets_status_then_only_later_logs(live):
    location = live.post("/demo/ogc-api/processes/echo/execution",
                         json={"inputs": {"stringInput": "again"}}, headers=ASYNC
                         ).headers["Location"]  # fmt: skip
    first = [e for e in events(stream(live, location)) if "event" in e]
    logs = [e for e in first if e["event"] == "log"]
    assert len(logs) >= 2, first
    middle = logs[len(logs) // 2]["id"]
    again = [e for e in events(stream(live, location, headers={"Last-Event-ID": middle}))
             if "event" in e]  # fmt: skip
    assert again[0]["event"] == "status" and again[0]["id"] == middle
    assert [e["data"]["id"] for e in again if e["event"] == "log"] == [
        e["data"]["id"] for e in logs if int(e["id"]) > int(middle)
    ]
    assert again[-1]["event"] == "end"
    # An id the server never sent starts from the beginning.
    whole = [e for e in events(stream(live, location, headers={"Last-Event-ID": "yesterday"}))
             if e.get("event") == "log"]  # fmt: skip
    assert [e["id"] for e in whole] == [e["id"] for e in logs]


def test_level_filters_the_log_events(live):
    location = live.post("/lab/ogc-api/processes/fail/execution",
                         json={"inputs": {"message": "m"}}, headers=ASYNC).headers["Location"]
    got = [e for e in events(stream(live, location, params={"level": "error"})) if "event" in e]
    logs = [e["data"] for e in got if e["event"] == "log"]
    assert logs and {e["level"] for e in logs} == {"error"}
    end = got[-1]
    assert end["event"] == "end"
    failure = end["data"]["failure"]
    assert failure["category"] == "application" and failure["step"] == "explode"
    assert failure["exitCode"] == 3 and "band B04 is missing" in failure["stderr"]


def test_a_dismissed_job_ends_its_stream(live):
    location = live.post("/lab/ogc-api/processes/sleep/execution",
                         json={"inputs": {"seconds": 60}}, headers=ASYNC).headers["Location"]
    r = stream(live, location)
    seen = events(r)
    first = next(seen)
    assert first["event"] == "status"
    poll(lambda: live.http.get(location).json(), lambda d: d["status"] == "running", 60)
    assert live.http.delete(location).status_code == 200
    rest = [e for e in seen if "event" in e]
    assert rest[-1]["event"] == "end"
    assert rest[-1]["data"]["status"] == "dismissed"


def test_the_status_document_links_its_stream(live):
    location = live.post("/demo/ogc-api/processes/echo/execution",
                         json={"inputs": {"stringInput": "x"}}, headers=ASYNC
                         ).headers["Location"]  # fmt: skip
    doc = live.http.get(location).json()
    monitor = [link for link in doc["links"] if link["rel"] == "monitor"]
    assert monitor == [{"href": location + "/events", "rel": "monitor",
                        "type": "text/event-stream", "title": "The job followed live"}]
    wps3 = live.http.get(location.replace("/ogc-api/", "/wps3/")).json()
    assert [link["href"] for link in wps3["links"] if link["rel"] == "monitor"] == [
        location.replace("/ogc-api/", "/wps3/") + "/events"
    ]
    live.wait_for(location, {"successful"})


def test_an_unknown_job_is_a_404_naming_it(live):
    r = live.get("/demo/ogc-api/jobs/no-such-job-42/events")
    assert r.status_code == 404
    assert r.json()["type"] == OGC1 + "no-such-job"
    assert "no-such-job-42" in r.json()["detail"]


def test_a_bad_level_is_a_400_naming_it(live):
    location = live.post("/demo/ogc-api/processes/echo/execution",
                         json={"inputs": {"stringInput": "x"}}, headers=ASYNC
                         ).headers["Location"]  # fmt: skip
    r = live.http.get(location + "/events", params={"level": "loud"})
    assert r.status_code == 400
    assert r.json()["type"] == OGC1 + "invalid-parameter-value"
    assert "level" in r.json()["detail"] and "loud" in r.json()["detail"]
    live.wait_for(location, {"successful"})


def test_open_streams_hold_no_request_thread(live):
    """More streams than Flask has threads (a2wsgi's 10) are open on one job, and the API
    still answers; dismissing the job ends every one of them."""
    location = live.post("/lab/ogc-api/processes/sleep/execution",
                         json={"inputs": {"seconds": 60}}, headers=ASYNC).headers["Location"]
    opened = [requests.get(location + "/events", stream=True, timeout=60) for _ in range(12)]
    try:
        followed = [events(r) for r in opened]
        assert all(next(seen)["event"] == "status" for seen in followed)
        assert live.http.get(location, timeout=10).status_code == 200
        assert live.get("/demo/ogc-api/processes", timeout=10).status_code == 200
        assert live.http.delete(location, timeout=10).status_code == 200
        for seen in followed:
            assert [e for e in seen if "event" in e][-1]["data"]["status"] == "dismissed"
    finally:
        for r in opened:
            r.close()
