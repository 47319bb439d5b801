"""A job's progress read from its runner's typed events: each step started and finished,
each element of a scattered step; a package that is one tool, its tool started and finished.
The number rises and never falls; the running part of a job spans ``START`` to ``END``
percent, stage-out the rest below 100."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import yaml

from ades.execution.runner import (
    ElementFinished,
    RunEvent,
    StepFinished,
    StepStarted,
    WorkflowStarted,
)

START = 10  # inputs staged in
END = 90  # the application ended; stage-out follows


@functools.lru_cache(maxsize=256)
def count_steps(package: str) -> int:
    """Steps of every workflow in a CWL document (inline ones included); 1 for a tool.
    Kept per document text: every job of a pinned package reads the same one."""
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
    """Follows a run's events; ``feed`` returns a new reading when one changed it."""

    def __init__(self, total_steps: int):
        self.total = max(1, total_steps)
        self.started: list[str] = []
        self.done: float = 0  # steps finished
        self.is_workflow = False
        self.elements_done = 0  # elements of the scattered step now running
        self.elements_total: int | None = None
        self.progress = START

    def feed(self, event: RunEvent) -> Reading | None:
        if isinstance(event, WorkflowStarted):
            self.is_workflow = True
            return None
        if isinstance(event, StepStarted):
            if not self.is_workflow:
                # A package that is one tool has one step, the tool. Once it started, the
                # job counts as half way through the running part, as far as anyone can tell.
                self.done = 0.5
                return self._reading(f"running tool {event.step}")
            if event.step not in self.started:
                self.started.append(event.step)
            self.elements_done, self.elements_total = 0, None
            return self._reading(f"running step {event.step}")
        if isinstance(event, ElementFinished):
            self.elements_done, self.elements_total = event.done, event.total
            return self._reading(f"running step {event.step}")
        if isinstance(event, StepFinished):
            if not self.is_workflow:
                self.done = 1
                return self._reading(f"finished tool {event.step}")
            self.done += 1
            self.elements_done, self.elements_total = 0, None
            return self._reading(f"finished step {event.step}")
        return None

    def _reading(self, what: str) -> Reading:
        # A step whose elements finish one by one moves part of the way to its end: the
        # known share when the runner knows how many there are, else ever closer to it.
        partial = 0.0
        if self.elements_done:
            if self.elements_total:
                partial = min(1.0, self.elements_done / self.elements_total)
            else:
                partial = 1 - 1 / (1 + self.elements_done)
        units = min(self.done + partial, self.total)
        value = START + int((END - START) * units / self.total)
        self.progress = max(self.progress, min(value, END))
        position = min(max(len(self.started), 1), self.total)
        message = f"{what} ({position}/{self.total})" if self.is_workflow else what
        return Reading(self.progress, message)
