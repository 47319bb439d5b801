"""Logs and progress of jobs through HTTP, read while they run: openEO LogEntries paged by
offset, level and limit; progress that only rises and reaches 100 on success; a failed
step's category, name, exit code and stderr in the status and in the logs."""

from __future__ import annotations

import re
import time

from tests.api.conftest import poll

ASYNC = {"Prefer": "respond-async"}


def _start_steps(live, pause=0.3):
    r = live.post("/lab/ogc-api/processes/steps/execution", json={"inputs": {"pause": pause}},
                  headers=ASYNC)
    assert r.status_code == 201, r.text
    return r.headers["Location"]


def test_progress_rises_step_by_step_to_100(live):
    location = _start_steps(live)
    readings = []

    def read():
        doc = live.http.get(location).json()
        readings.append((doc["progress"], doc["message"], doc["status"]))
        return doc

    poll(read, lambda d: d["status"] in ("successful", "failed"), deadline=120)
    progress = [p for p, _, _ in readings]
    assert readings[-1][2] == "successful", readings[-1]
    assert progress == sorted(progress), readings
    assert progress[-1] == 100
    assert all(p < 100 for p, _, status in readings if status != "successful")
    messages = {m for _, m, _ in readings}
    # Each step was seen running; the counts say where in the workflow the job is.
    assert {m for m in messages if re.fullmatch(r"running step \w+ \(\d/3\)", m)}, messages
    assert len({p for p in progress if 10 <= p < 90}) >= 2, readings


def test_logs_page_by_offset_level_and_limit_while_running(live):
    location = _start_steps(live, pause=0.5)
    seen: list[dict] = []
    offset = None
    saw_running = False
    end = time.monotonic() + 120
    while True:
        status = live.http.get(location).json()["status"]
        params = {"limit": 3, **({"offset": offset} if offset else {})}
        page = live.http.get(location + "/logs", params=params).json()
        assert len(page["logs"]) <= 3
        if page["logs"]:
            offset = page["logs"][-1]["id"]
            saw_running = saw_running or status == "running"
            seen += page["logs"]
            nxt = [link["href"] for link in page["links"] if link["rel"] == "next"]
            if nxt:
                assert f"offset={offset}" in nxt[0]
            else:
                # Only the last page of an ended job has no next: the job may have ended
                # between the status read above and this page.
                assert live.http.get(location).json()["status"] in ("successful", "failed")
                assert live.http.get(location + "/logs", params={"offset": offset}).json()[
                    "logs"] == []
        elif status in ("successful", "failed"):
            break
        assert time.monotonic() < end, "the job did not end"
    assert saw_running
    ids = [int(e["id"]) for e in seen]
    assert ids == sorted(set(ids))  # no entry twice, none out of order
    everything = live.http.get(location + "/logs").json()["logs"]
    assert [e["id"] for e in everything] == [e["id"] for e in seen]
    messages = [e["message"] for e in everything]
    for said in ("first says 1", "second says 4", "third says 2"):
        assert said in messages
    assert any("[step second] start" in m for m in messages)
    assert messages[0].startswith("job accepted")
    assert messages[-1] == "job successful"
    for entry in everything:
        assert set(entry) == {"id", "level", "message", "time"}
        assert entry["level"] in ("debug", "info", "warning", "error")
    warnings = live.http.get(location + "/logs", params={"level": "warning"}).json()["logs"]
    assert {e["level"] for e in warnings} <= {"warning", "error"}
    assert len(warnings) < len(everything)


def test_failing_step_category_step_exit_code_and_stderr(live):
    location = live.post("/lab/ogc-api/processes/fail/execution",
                         json={"inputs": {"message": "m"}}, headers=ASYNC).headers["Location"]
    done = live.wait_for(location, {"successful", "failed"})
    failure = done.get("failure") or {}
    assert failure["category"] == "application"
    assert failure["step"] == "explode"
    assert failure["exitCode"] == 3
    assert "band B04 is missing" in failure["stderr"]
    assert done["progress"] < 100
    errors = live.http.get(location + "/logs", params={"level": "error"}).json()
    last = errors["logs"][-1]["message"]
    assert last.startswith("job failed (application in step 'explode')")
    assert "band B04 is missing" in last


def test_bad_log_parameters_are_400_naming_them(live):
    r = live.post("/demo/ogc-api/processes/echo/execution", json={"inputs": {"stringInput": "x"}},
                  headers=ASYNC)
    location = r.headers["Location"]
    bad = live.http.get(location + "/logs", params={"offset": "yesterday"})
    assert bad.status_code == 400
    assert "'offset'" in bad.json()["detail"]
    bad = live.http.get(location + "/logs", params={"level": "loud"})
    assert bad.status_code == 400
    assert "level" in bad.json()["detail"]


def test_echo_logs_no_warning_and_one_entry_per_message(live):
    r = live.post("/demo/ogc-api/processes/echo/execution",
                  json={"inputs": {"stringInput": "two words"}}, headers=ASYNC)
    location = r.headers["Location"]
    assert live.wait_for(location, {"successful", "failed"})["status"] == "successful"
    # The server's own ades:JobControl hint of echo is no concern of the user's.
    warnings = live.http.get(location + "/logs", params={"level": "warning"}).json()["logs"]
    assert warnings == []
    messages = [e["message"] for e in live.http.get(location + "/logs").json()["logs"]]
    assert not [m for m in messages if "ades.dev" in m]
    # cwltool prints the command over several lines; they make one entry.
    commands = [m for m in messages if m.startswith("INFO [job echo] /")]
    assert len(commands) == 1, messages
    assert "\n    -c \\\n" in commands[0] and "'two words'" in commands[0]
    assert not [m for m in messages if m.startswith(" ")], messages


def test_a_lone_tool_shows_its_progress_and_what_runs(live):
    r = live.post("/demo/ogc-api/processes/echo/execution",
                  json={"inputs": {"stringInput": "slow", "pause": 60}}, headers=ASYNC)
    location = r.headers["Location"]
    try:
        running = poll(lambda: live.http.get(location).json(),
                       lambda d: d["status"] != "accepted" and d["progress"] > 10, deadline=60)
        assert running["status"] == "running"
        assert running["message"] == "running tool echo"
        assert 10 < running["progress"] < 90
    finally:
        live.http.delete(location)
