"""What cwltool says on stderr, read line by line: which lines make one message, the typed
events of the run (steps started and finished, scatter elements, log lines with their level),
and, when the run fails, which step failed with which exit code and last words. Everything
that depends on cwltool's wording lives here."""

from __future__ import annotations

import enum
import os
import re
import signal
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from ades.execution.runner import (
    ElementFinished,
    LogLine,
    RunEvent,
    RunOutcome,
    StepFinished,
    StepStarted,
    WorkflowStarted,
)
from ades.model import FailureCategory, LogLevel


class LinePlace(enum.Enum):
    """Where a stderr line of cwltool stands among the messages."""

    STARTS = "starts"  # a record of cwltool's, or a line that stands alone
    CONTINUES = "continues"  # a further line of the message before it
    TOOL_OUTPUT = "tool output"  # a line a tool printed: a message of its own


_RECORD = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)$")
_SUBJECT = re.compile(r"^\[(job|step|workflow) (.*?)\] (.*)$")
_COMMAND_ECHO = re.compile(r"^/.*?\$ ")
_EXITED = re.compile(r"^exited with status: (-?\d+)$")
_KILLED = re.compile(r"^was terminated by signal: (\w+)$")
_COMPLETED = re.compile(r"^completed (\w+)$")
_USAGE_ERROR = re.compile(r"^.+?: error: (.*)$")
_REQUIRED_ARGS = re.compile(r"^the following arguments are required: (.*)$")
_JOB_ORDER_PLACE = re.compile(r"\bjob\.json:\d+:\d+:\s*")
_SCATTER_SUFFIX = re.compile(r"_\d+$")

# cwltool's opening words for errors before anything runs, in words for the user.
_ERROR_KINDS = {
    "Workflow error, try again with --debug for more information:": "",
    "Invalid job input record:": "invalid job order: ",
    "Input object failed validation:": "invalid job order: ",
    "Tool definition failed validation:": "invalid CWL package: ",
    "Workflow or tool uses unsupported feature:": "the package needs an unsupported feature: ",
}


@dataclass
class _Job:
    exit_code: int | None = None
    signal: str | None = None
    stderr: deque[str] = field(default_factory=deque)
    stderr_file: Path | None = None
    errors: list[str] = field(default_factory=list)


class CwltoolLog:
    """What cwltool says on stderr about one run, read line by line: the jobs it runs with
    their exit codes, stderr and errors, and its own errors; made into a failure message.

    cwltool logs ``LEVEL [job name] ...`` records; a tool's own stderr (and its stdout, which
    cwltool sends to stderr) comes in between, after the ``[job name] dir$ command`` record
    and before that job's next record. That holds because cwltool runs jobs one at a time
    unless given --parallel, which this runner does not pass."""

    def __init__(self, logs_dir: Path, stderr_lines: int):
        self.logs_dir = logs_dir
        self.stderr_lines = stderr_lines
        self.jobs: dict[str, _Job] = {}
        self.steps: set[str] = set()
        self.failed_jobs: list[str] = []
        self.failed_steps: list[str] = []
        self.errors: list[list[str]] = []
        self.is_workflow = False
        self.tail: deque[str] = deque(maxlen=stderr_lines)
        self._echoing: str | None = None  # job whose command line is still being printed
        self._echo_quote: str | None = None  # quote left open in it: an argument with newlines
        self._streaming: str | None = None  # job whose tool output the next lines are
        self._running: str | None = None  # job started and not completed
        self._open_error: list[str] | None = None  # error record taking continuation lines

    @property
    def tool_output_next(self) -> bool:
        """A tool's command line has been printed whole: what follows, until cwltool's next
        record, is that tool's output."""
        return self._streaming is not None

    def feed(self, line: str) -> LinePlace:
        self.tail.append(line)
        if self._echoing is not None:
            self._echo_quote = quote_after(line, self._echo_quote)
            if self._echo_quote is None and not line.endswith(" \\"):
                self._end_echo(self._echoing, line)
            return LinePlace.CONTINUES
        record = _RECORD.match(line)
        if record is None:
            return self._feed_other(line)
        self._streaming = None
        self._open_error = None
        level, text = record.groups()
        subject = _SUBJECT.match(text)
        if subject is None:
            if level in ("ERROR", "CRITICAL"):
                self._open_error = [text]
                job = self.jobs.get(self._running) if self._running else None
                (job.errors if job else self.errors).append(self._open_error)
            return LinePlace.STARTS
        kind, name, rest = subject.groups()
        if kind == "workflow":
            self.is_workflow = True
        elif kind == "step":
            self._feed_step(name, rest)
        else:
            self._feed_job(name, rest, level)
        return LinePlace.STARTS

    def _feed_other(self, line: str) -> LinePlace:
        if self._streaming is not None:
            stderr = self.jobs[self._streaming].stderr
            stderr.append(line)
            while len(stderr) > self.stderr_lines:
                stderr.popleft()
            return LinePlace.TOOL_OUTPUT
        if self._open_error is not None:
            self._open_error.append(line)
        elif usage := _USAGE_ERROR.match(line):
            # argparse, when the job order lacks an input the package requires
            self.errors.append([usage.group(1)])
            return LinePlace.STARTS
        # A wrapped record, or details a record announced on its first line.
        return LinePlace.CONTINUES

    def _feed_step(self, name: str, rest: str) -> None:
        if rest == "start":
            self.steps.add(name)
        elif (done := _COMPLETED.match(rest)) and done.group(1) != "success":
            self.failed_steps.append(name)

    def _feed_job(self, name: str, rest: str, level: str) -> None:
        job = self.jobs.setdefault(name, _Job())
        if _COMMAND_ECHO.match(rest):
            self._running = name
            self._echo_quote = quote_after(rest, None)
            if self._echo_quote is not None or rest.endswith(" \\"):
                self._echoing = name
            else:
                self._end_echo(name, rest)
        elif exited := _EXITED.match(rest):
            job.exit_code = int(exited.group(1))
        elif killed := _KILLED.match(rest):
            job.signal = killed.group(1)
            signum = getattr(signal.Signals, job.signal, None)
            job.exit_code = -signum.value if signum else None
        elif done := _COMPLETED.match(rest):
            self._running = None
            if done.group(1) == "success":
                del self.jobs[name]  # keep only what a failure message may need
            else:
                self.failed_jobs.append(name)
        elif level in ("ERROR", "CRITICAL"):
            # "[job x] Job error:" and the like; their details follow on the next lines
            self._open_error = [rest]
            job.errors.append(self._open_error)

    def _end_echo(self, name: str, last_line: str) -> None:
        self._echoing = None
        self._streaming = name
        # cwltool prints a `stderr:` capture as "... 2> <log dir>/<job name>/<file>", last.
        capture = f" 2> {self.logs_dir}/{name}/"
        at = last_line.rfind(capture)
        if at >= 0:
            self.jobs[name].stderr_file = Path(last_line[at + 4 :].strip())

    def failure(self, returncode: int | None) -> RunOutcome:
        if self.failed_jobs:
            return self._job_failure(self.failed_jobs[0])
        if self.errors:
            message = _error_message(self.errors)
            category = (
                FailureCategory.INPUT
                if message.startswith(_INPUT_ERRORS)
                else FailureCategory.APPLICATION
            )
            return RunOutcome(ok=False, message=message, category=category)
        tail = "\n".join(self.tail)
        what = f"cwltool exited with code {returncode}" if returncode else "cwltool gave no output"
        return RunOutcome(ok=False, message=f"{what}: {tail}" if tail else what, stderr_tail=tail)

    def _job_failure(self, name: str) -> RunOutcome:
        job = self.jobs[name]
        step = self._step_of(name)
        who = f"step '{step}'" if step else f"tool '{name}'"
        if step and step != name:
            who += f" (job '{name}')"
        if job.signal:
            what = f"{who} was killed by signal {job.signal}"
        elif job.exit_code:
            what = f"{who} failed with exit code {job.exit_code}"
        else:
            what = f"{who} failed"
        lines = self._stderr_of(job)
        tail = "\n".join(lines)
        # A tool's stderr says why it failed; cwltool's errors (an output it then could not
        # find, a command not found) are the story when the tool said nothing or did not run.
        detail = "\n".join(lines[-5:]) or _error_message(job.errors)
        return RunOutcome(
            ok=False,
            message=f"{what}: {detail}" if detail else f"{what} (it wrote nothing on stderr)",
            failed_step=step,
            exit_code=job.exit_code,
            stderr_tail=tail,
        )

    def _step_of(self, job_name: str) -> str | None:
        if not self.is_workflow:
            return None
        if job_name in self.steps:
            return job_name
        scattered = _SCATTER_SUFFIX.sub("", job_name)  # scatter jobs are step_2, step_3, ...
        if scattered in self.steps:
            return scattered
        return self.failed_steps[0] if self.failed_steps else job_name

    def _stderr_of(self, job: _Job) -> list[str]:
        lines = list(job.stderr)
        if job.stderr_file is not None:
            lines = _last_lines(job.stderr_file, self.stderr_lines) or lines
        while lines and not lines[-1].strip():
            lines.pop()
        return lines


def quote_after(text: str, quote: str | None) -> str | None:
    """The shell quote still open at the end of ``text`` (cwltool prints arguments with
    shlex.quote), given the one open at its start."""
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote is None and char in "'\"":
            quote = char
        elif char == quote:
            quote = None
    return quote


def _last_lines(path: Path, count: int) -> list[str]:
    try:
        with open(path, "rb") as file:
            file.seek(0, os.SEEK_END)
            file.seek(max(0, file.tell() - 64 * 1024))
            text = file.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    return text.splitlines()[-count:]


# schema-salad starts each message with its place, `file:line:col: `, and wraps long ones
# to the width of a terminal; lines without a place continue the line before.
_PLACE = re.compile(r"^\S+:\d+:\d+: ")


def _unwrapped(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if out and _PLACE.match(out[-1]) and not _PLACE.match(line):
            out[-1] += " " + line
        else:
            out.append(line)
    return out


def _error_message(errors: list[list[str]]) -> str:
    """cwltool's error records, without its advice to use --debug and without places in
    job.json, a file the user never wrote."""
    parts = []
    for record in errors:
        lines = [line.strip() for line in record if line.strip()]
        prefix = ""
        while lines and lines[0] in _ERROR_KINDS:
            prefix = prefix or _ERROR_KINDS[lines.pop(0)]
        text = _JOB_ORDER_PLACE.sub("", "\n".join(_unwrapped(lines)))
        if required := _REQUIRED_ARGS.match(text):
            names = [name.strip().removeprefix("--") for name in required.group(1).split(",")]
            text = f"the job order lacks required inputs: {', '.join(names)}"
        parts.append(prefix + text)
    return "\n".join(part for part in parts if part)


_LEVELS = {
    "DEBUG": LogLevel.DEBUG,
    "INFO": LogLevel.INFO,
    "WARNING": LogLevel.WARNING,
    "ERROR": LogLevel.ERROR,
    "CRITICAL": LogLevel.ERROR,
}
_STEP_EVENT = re.compile(r"^\[step (.+?)\] (start|completed (\w+))$")
_JOB_COMMAND = re.compile(r"^\[job (.+?)\] /.*?\$ ")  # cwltool shows the command it starts
_JOB_DONE = re.compile(r"^\[job (.+?)\] completed (\w+)$")
# cwltool's own words for errors in the job order rather than in the application.
_INPUT_ERRORS = ("invalid job order", "the job order lacks")


class CwltoolEvents:
    """Turns cwltool's messages (a record with the lines it spans, or a line of a tool's
    output) into the runner port's typed events. cwltool says a scattered step "starts" once
    per element and completes each element as a job of its own (``tile``, ``tile_2``, …):
    here that is one StepStarted and an ElementFinished per element."""

    def __init__(self) -> None:
        self.is_workflow = False
        self.started: set[str] = set()
        self.current: str | None = None  # the step running now
        self.elements = 0  # jobs of the current step completed

    def feed(self, message: str) -> list[RunEvent]:
        record = _RECORD.match(message.split("\n", 1)[0])
        level = _LEVELS[record.group(1)] if record else LogLevel.INFO
        events: list[RunEvent] = [LogLine(level, message)]
        if record is None:
            return events
        text = record.group(2)
        if text.startswith("[workflow ") and not self.is_workflow:
            self.is_workflow = True  # said before any step or job
            events.append(WorkflowStarted())
        elif step := _STEP_EVENT.match(text):
            if not self.is_workflow:
                self.is_workflow = True
                events.append(WorkflowStarted())
            name = step.group(1)
            if step.group(2) == "start":
                if name not in self.started:
                    self.started.add(name)
                    self.current, self.elements = name, 0
                    events.append(StepStarted(name))
            else:
                events.append(StepFinished(name, step.group(3) == "success"))
                self.current, self.elements = None, 0
        elif not self.is_workflow and (job := _JOB_COMMAND.match(text)):
            events.append(StepStarted(job.group(1)))
        elif job := _JOB_DONE.match(text):
            if not self.is_workflow:
                events.append(StepFinished(job.group(1), job.group(2) == "success"))
            elif self.current is not None:
                self.elements += 1
                events.append(ElementFinished(self.current, self.elements))
        return events
