"""Calrissian's log read line by line into the runner's events, and what a failure report
needs from it.

Calrissian logs through cwltool: records ``LEVEL text`` (``--disable-color``), with
``[workflow x] start``, ``[step x] start`` and ``[step x] completed <status>`` as cwltool's
workflow engine says them. Unlike cwltool alone it prints no ``[job x]`` records and no tool
output: each tool runs in a pod of its own, whose log Calrissian keeps in a file
(``--tool-logs-basepath``), and whose exit code goes to the usage report. Its own error
lines begin with the word ``ERROR`` too, and read like records."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ades.execution.runner import LogLine, RunEvent, StepFinished, StepStarted, WorkflowStarted
from ades.model import LogLevel

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_RECORD = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)$")
_SUBJECT = re.compile(r"^\[(workflow|step) (.*?)\] (.*)$")
_COMPLETED = re.compile(r"^completed (\w+)$")
_FAILED_POD = re.compile(r"^the command below failed in pod (\S+?):?$")
LEVELS = {
    "DEBUG": LogLevel.DEBUG,
    "INFO": LogLevel.INFO,
    "WARNING": LogLevel.WARNING,
    "ERROR": LogLevel.ERROR,
    "CRITICAL": LogLevel.ERROR,
}

# cwltool's opening words for errors before anything runs, in words for the user; the
# ones marked input say the job order is at fault.
_ERROR_KINDS = {
    "Workflow error, try again with --debug for more information:": ("", False),
    "Invalid job input record:": ("invalid job order: ", True),
    "Input object failed validation:": ("invalid job order: ", True),
    "Tool definition failed validation:": ("invalid CWL package: ", False),
    "Workflow or tool uses unsupported feature:": (
        "the package needs an unsupported feature: ",
        False,
    ),
}
_USAGE_ERROR = re.compile(r"^.+?: error: (.*)$")
_PLACE = re.compile(r"\S*job\.json:\d+:\d+:\s*")


@dataclass
class CalrissianLog:
    """Follows the Calrissian pod's log. ``feed`` returns the events of one line."""

    lines_kept: int = 20
    is_workflow: bool = False
    steps_started: list[str] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)
    finished_steps: list[str] = field(default_factory=list)
    failed_pods: list[str] = field(default_factory=list)
    errors: list[list[str]] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)
    final_status: str | None = None
    _level: LogLevel = LogLevel.INFO
    _open_error: list[str] | None = None

    def feed(self, raw: str) -> list[RunEvent]:
        line = _ANSI.sub("", raw.rstrip("\r\n"))
        self.tail = [*self.tail[-(self.lines_kept - 1) :], line]
        record = _RECORD.match(line)
        if record is None:
            # A further line of the record before (an error's details).
            if self._open_error is not None:
                self._open_error.append(line)
            elif usage := _USAGE_ERROR.match(line):
                self.errors.append([usage.group(1)])  # cwltool's argument parser
                self._level = LogLevel.ERROR
            return [LogLine(self._level, line)]
        level, text = record.groups()
        self._level = LEVELS[level]
        self._open_error = None
        events: list[RunEvent] = [LogLine(self._level, line)]
        if failed := _FAILED_POD.match(text):
            # Calrissian's own words (its records have no level: it writes the word), and
            # its next line the command; the tool's failure is told from the usage report.
            self.failed_pods.append(failed.group(1))
        elif level in ("ERROR", "CRITICAL"):
            self._open_error = [text]
            self.errors.append(self._open_error)
        if text.startswith("Final process status is "):
            self.final_status = text.removeprefix("Final process status is ").strip()
        subject = _SUBJECT.match(text)
        if subject is None:
            return events
        kind, name, rest = subject.groups()
        if kind == "workflow":
            if rest == "start" and not self.is_workflow:
                self.is_workflow = True
                events.insert(0, WorkflowStarted())
        elif rest == "start":
            self.is_workflow = True
            if name not in self.steps_started:  # cwltool says it once per scatter element
                self.steps_started.append(name)
                events.append(StepStarted(name))
        elif done := _COMPLETED.match(rest):
            ok = done.group(1) == "success"
            self.finished_steps.append(name)
            if not ok:
                self.failed_steps.append(name)
            events.append(StepFinished(name, ok))
        return events

    def step_of(self, job_name: str) -> str | None:
        """The step a tool job (``tile``, ``tile_2`` of a scatter) belongs to."""
        if not self.is_workflow:
            return None
        if job_name in self.steps_started:
            return job_name
        scattered = re.sub(r"_\d+$", "", job_name)
        if scattered in self.steps_started:
            return scattered
        return self.failed_steps[0] if self.failed_steps else None

    def error_message(self) -> tuple[str, bool]:
        """cwltool's errors as one message, and whether they blame the job order."""
        parts = []
        blames_input = False
        for record in self.errors:
            lines = [line.strip() for line in record if line.strip()]
            prefix = ""
            while lines and lines[0] in _ERROR_KINDS:
                kind, is_input = _ERROR_KINDS[lines.pop(0)]
                prefix = prefix or kind
                blames_input = blames_input or is_input
            text = _PLACE.sub("", " ".join(lines))
            if text.startswith("the following arguments are required:"):
                names = text.split(":", 1)[1].split(",")
                text = "the job order lacks required inputs: " + ", ".join(
                    name.strip().removeprefix("--") for name in names
                )
                blames_input = True
            if text or prefix:
                parts.append(prefix + text)
        return "\n".join(parts), blames_input
