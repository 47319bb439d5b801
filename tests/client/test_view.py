"""What the client prints: the live view of a job on a terminal (rich, forced here onto a
string), the plain lines elsewhere, and a failed job's reasons."""

from __future__ import annotations

import io

from rich.console import Console

from ades.client.view import JobView, failure_text, log_line, status_line

RUNNING = {"jobID": "j", "status": "running", "progress": 40,
           "message": "running step resize (2/3)"}
FAILED = {"jobID": "j", "status": "failed", "progress": 60, "message": "failed",
          "failure": {"category": "application", "step": "resize", "exitCode": 3,
                      "stderr": "line 1\nno band B04\n"}}
ENTRY = {"id": "3", "time": "2026-12-05T01:02:03.456Z", "level": "info",
         "message": "INFO [job x] /tmp$ sh \\\n    -c"}


def test_live_view_on_a_terminal_shows_the_step_the_bar_and_the_logs():
    text = io.StringIO()
    out = Console(file=text, force_terminal=True, width=120, color_system=None)
    with JobView("j", live=True, out=out) as view:
        view.status(RUNNING)
        view.log(ENTRY)
        view.end(FAILED)
    said = text.getvalue()
    assert "running: running step resize (2/3)" in said
    assert "40%" in said
    assert "01:02:03 info     INFO [job x] /tmp$ sh \\" in said
    assert "job j failed: application in step 'resize' exit code 3" in said


def test_plain_lines_elsewhere():
    out = Console(file=io.StringIO(), force_terminal=False)
    with JobView("j", live=False, out=out) as view:
        view.status(RUNNING)
        view.status(RUNNING)  # unchanged: not said again
        view.log(ENTRY)
        view.end(FAILED)
    assert out.file.getvalue().splitlines() == [
        "[running     40%  running step resize (2/3)]",
        "01:02:03 info     INFO [job x] /tmp$ sh \\",
        "                     -c",
        "[failed      60%]",
        "job j failed: application in step 'resize' exit code 3",
        "  | line 1",
        "  | no band B04",
    ]


def test_texts():
    assert status_line({"status": "accepted"}) == "accepted      -"
    assert log_line({"message": "x", "level": "error", "time": "bad"}) == "bad      error    x"
    assert failure_text({"status": "failed", "message": "it broke"}) == "it broke"
