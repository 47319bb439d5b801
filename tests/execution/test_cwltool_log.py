"""cwltool's messages read as the runner port's typed events."""

from ades.execution.cwltool_log import CwltoolEvents
from ades.execution.runner import (
    ElementFinished,
    LogLine,
    StepFinished,
    StepStarted,
    WorkflowStarted,
)
from ades.model import LogLevel


def _typed(messages: list[str]) -> list:
    reader = CwltoolEvents()
    return [e for m in messages for e in reader.feed(m) if not isinstance(e, LogLine)]


def test_a_scattered_step_starts_once_and_finishes_element_by_element():
    events = _typed([
        "INFO [workflow ] start",
        "INFO [step tile] start",
        "INFO [job tile] /tmp/a$ echo a",
        "INFO [job tile] completed success",
        "INFO [step tile] start",
        "INFO [job tile_2] completed success",
        "INFO [step tile] completed success",
    ])
    assert events == [
        WorkflowStarted(),
        StepStarted("tile"),
        ElementFinished("tile", 1),
        ElementFinished("tile", 2),
        StepFinished("tile", True),
    ]


def test_a_lone_tool_is_one_step_started_by_its_command():
    events = _typed([
        "INFO [job echo] /tmp/out$ sh \\\n    -c \\\n    'echo hi'",
        "hi",
        "INFO [job echo] completed permanentFail",
    ])
    assert events == [StepStarted("echo"), StepFinished("echo", False)]


def test_every_message_is_a_log_line_at_the_level_of_its_first_line():
    reader = CwltoolEvents()
    assert reader.feed("WARNING Workflow checker warning:\nINFO-looking detail")[0] == LogLine(
        LogLevel.WARNING, "WARNING Workflow checker warning:\nINFO-looking detail"
    )
    assert reader.feed("CRITICAL boom")[0].level is LogLevel.ERROR
    assert reader.feed("plain tool output")[0] == LogLine(LogLevel.INFO, "plain tool output")
