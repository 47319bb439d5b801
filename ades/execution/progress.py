"""A job's progress read from what cwltool says as it runs: each step started and
completed, each element of a scattered step; a package that is one tool, its tool started
and completed. The number rises and never falls; the running part of a job spans ``START``
to ``END`` percent, stage-out the rest below 100. Each message fed is one of cwltool's
records (possibly spanning several lines) or a line of a tool's output."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from ades.model import LogLevel

START = 10  # inputs staged in
END = 90  # the application ended; stage-out follows

# A record's first line: its level and text (further lines follow after a newline).
_RECORD = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)")
_WORKFLOW = re.compile(r"^\[workflow .*?\] ")
_STEP = re.compile(r"^\[step (.+?)\] (start|completed (\w+))$")
_JOB_COMMAND = re.compile(r"^\[job (.+?)\] /.*?\$ ")  # cwltool shows the command it starts
_JOB_DONE = re.compile(r"^\[job (.+?)\] completed (\w+)$")
_LEVELS = {
    "DEBUG": LogLevel.DEBUG,
    "INFO": LogLevel.INFO,
    "WARNING": LogLevel.WARNING,
    "ERROR": LogLevel.ERROR,
    "CRITICAL": LogLevel.ERROR,
}


def message_level(message: str) -> LogLevel:
    """The level of a cwltool message; a tool's own output counts as info."""
    record = _RECORD.match(message)
    return _LEVELS[record.group(1)] if record else LogLevel.INFO


def count_steps(package: str) -> int:
    """Steps of every workflow in a CWL document (inline ones included); 1 for a tool."""
    try:
        doc = yaml.safe_load(package)
    except yaml.YAMLError:
        return 1
    return max(1, _steps_in(doc))


def _steps_in(node: Any) -> int:
    if isinstance(node, list):
        return sum(_steps_in(item) for item in node)
    if not isinstance(node, dict):
        return 0
    count = 0
    steps = node.get("steps") if node.get("class") == "Workflow" else None
    if isinstance(steps, dict):
        steps = list(steps.values())
    if isinstance(steps, list):
        count += len(steps)
        count += sum(_steps_in(step.get("run")) for step in steps if isinstance(step, dict))
    return count + _steps_in(node.get("$graph"))


@dataclass
class Reading:
    progress: int
    message: str


class StepProgress:
    """Follows cwltool's messages; ``feed`` returns a new reading when it changed."""

    def __init__(self, total_steps: int):
        self.total = max(1, total_steps)
        self.started: list[str] = []
        self.done: float = 0  # steps completed
        self.is_workflow = False
        self.elements_done = 0  # completed jobs of the step now running (scatter elements)
        self.progress = START

    def feed(self, message: str) -> Reading | None:
        record = _RECORD.match(message)
        if record is None:
            return None
        text = record.group(2)
        if _WORKFLOW.match(text):
            self.is_workflow = True  # said before any step or job
            return None
        if step := _STEP.match(text):
            self.is_workflow = True
            name, event = step.group(1), step.group(2)
            if event == "start":
                # cwltool says a scattered step starts once per element.
                if name not in self.started:
                    self.started.append(name)
                    self.elements_done = 0
                return self._reading(f"running step {name}")
            self.done += 1
            self.elements_done = 0
            return self._reading(f"finished step {name}")
        if not self.is_workflow and (job := _JOB_COMMAND.match(text)):
            # A package that is one tool has one step, the tool. Once it started, the job
            # counts as half way through the running part, as far as anyone can tell.
            self.done = 0.5
            return self._reading(f"running tool {job.group(1)}")
        if job := _JOB_DONE.match(text):
            if not self.is_workflow:
                self.done = 1
                return self._reading(f"finished tool {job.group(1)}")
            self.elements_done += 1
            current = self.started[-1] if self.started else job.group(1)
            return self._reading(f"running step {current}")
        return None

    def _reading(self, what: str) -> Reading:
        # A step whose elements complete one by one moves part of the way to its end.
        partial = 1 - 1 / (1 + self.elements_done) if self.elements_done else 0.0
        units = min(self.done + partial, self.total)
        value = START + int((END - START) * units / self.total)
        self.progress = max(self.progress, min(value, END))
        position = min(max(len(self.started), 1), self.total)
        message = f"{what} ({position}/{self.total})" if self.is_workflow else what
        return Reading(self.progress, message)
