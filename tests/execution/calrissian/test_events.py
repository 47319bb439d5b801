"""Calrissian's log lines read into events and failure details."""

from __future__ import annotations

from ades.execution.calrissian.events import CalrissianLog
from ades.execution.runner import LogLine, StepFinished, StepStarted, WorkflowStarted
from ades.model import LogLevel


def feed_all(log: CalrissianLog, *lines: str) -> list:
    return [event for line in lines for event in log.feed(line)]


def test_workflow_and_step_records_become_events() -> None:
    log = CalrissianLog()
    events = feed_all(
        log,
        "INFO [workflow ] start",
        "INFO [workflow ] starting step ndvi",
        "INFO [step ndvi] start",
        "INFO [step ndvi] start",  # a second scatter element
        "WARNING [step ndvi] completed permanentFail",
    )
    progress = [e for e in events if not isinstance(e, LogLine)]
    assert progress == [WorkflowStarted(), StepStarted("ndvi"), StepFinished("ndvi", False)]
    assert log.failed_steps == ["ndvi"]
    assert log.step_of("ndvi_3") == "ndvi"


def test_each_line_is_a_log_line_at_its_records_level() -> None:
    log = CalrissianLog()
    events = feed_all(
        log,
        "\x1b[33mWARNING\x1b[0m [step x] completed permanentFail",
        "ERROR Workflow error, try again with --debug for more information:",
        "Invalid job input record:",
        "job.json:1:1: the `name` field is not valid because missing required field",
        "ERROR the command below failed in pod tile-2-container:",
        "\tsh -c 'exit 4'",
        "INFO Final process status is permanentFail",
    )
    lines = [(e.level, e.text) for e in events if isinstance(e, LogLine)]
    assert lines == [
        (LogLevel.WARNING, "WARNING [step x] completed permanentFail"),
        (LogLevel.ERROR, "ERROR Workflow error, try again with --debug for more information:"),
        (LogLevel.ERROR, "Invalid job input record:"),
        (
            LogLevel.ERROR,
            "job.json:1:1: the `name` field is not valid because missing required field",
        ),
        (LogLevel.ERROR, "ERROR the command below failed in pod tile-2-container:"),
        (LogLevel.ERROR, "\tsh -c 'exit 4'"),
        (LogLevel.INFO, "INFO Final process status is permanentFail"),
    ]
    assert log.failed_pods == ["tile-2-container"]
    assert log.final_status == "permanentFail"
    message, blames_input = log.error_message()
    assert blames_input
    assert message == (
        "invalid job order: the `name` field is not valid because missing required field"
    )


def test_missing_arguments_name_the_inputs() -> None:
    log = CalrissianLog()
    log.feed("usage: calrissian [-h] ...")
    log.feed("calrissian: error: the following arguments are required: --name, --scene")
    assert log.error_message() == ("the job order lacks required inputs: name, scene", True)


def test_the_tail_keeps_the_last_lines() -> None:
    log = CalrissianLog(lines_kept=3)
    feed_all(log, *(f"INFO line {i}" for i in range(10)))
    assert log.tail == ["INFO line 7", "INFO line 8", "INFO line 9"]
