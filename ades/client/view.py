"""How the client shows things: one-line texts for a job's status, log entries and
failure; tables of processes and results; and the live view of a running job (a rich
progress bar naming the current step, the logs scrolling above it) when the output is a
terminal, or plain lines (one per change, no colour) when it is a file or a pipe."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from ades.client.http import FINAL


def console(file: TextIO | None = None) -> Console:
    """A console on ``file`` (stdout by default, looked up now: tests replace it). Rich
    turns colour and live displays off by itself off a terminal and under NO_COLOR."""
    return Console(file=file or sys.stdout, highlight=False, soft_wrap=True)


def json_out(doc: Any, file: TextIO | None = None) -> None:
    print(json.dumps(doc, indent=2, ensure_ascii=False), file=file or sys.stdout)


def json_line(doc: Any) -> None:
    print(json.dumps(doc, ensure_ascii=False), flush=True)


def status_line(doc: dict) -> str:
    progress = doc.get("progress")
    percent = f"{progress:>3}%" if isinstance(progress, int | float) else "   -"
    message = doc.get("message") or ""
    if message == doc.get("status"):
        message = ""
    return f"{doc.get('status', '?'):<10} {percent}  {message}".rstrip()


def failure_text(doc: dict) -> str:
    """What a failed job's status says of why: category, step, exit code, stderr tail."""
    failure = doc.get("failure")
    if not isinstance(failure, dict):
        return doc.get("message") or ""
    where = [str(failure["category"])] if failure.get("category") else []
    if failure.get("step"):
        where.append(f"in step {failure['step']!r}")
    if failure.get("exitCode") is not None:
        where.append(f"exit code {failure['exitCode']}")
    text = " ".join(where) or doc.get("message") or "failed"
    stderr = str(failure.get("stderr") or "").rstrip()
    if stderr:
        text += "\n" + "\n".join("  | " + line for line in stderr.splitlines()[-10:])
    return text


def log_line(entry: dict) -> str:
    """``HH:MM:SS level   message``, the lines after a message's first indented."""
    time = str(entry.get("time") or "")
    clock = time[11:19] if len(time) >= 19 else time
    message = str(entry.get("message") or "").rstrip("\n").replace("\n", "\n" + " " * 17)
    return f"{clock:<8} {entry.get('level', ''):<7}  {message}"


def table(rows: list[list[str]], header: list[str]) -> str:
    """Columns padded to their widest cell, the last one left free."""
    rows = [header, *rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join([*(c.ljust(w) for c, w in zip(r[:-1], widths, strict=False)), r[-1]]).rstrip()
        for r in rows
    )


def output_text(value: Any) -> str:
    """An output of a results document in one line: its link, or its value."""
    if isinstance(value, dict) and "href" in value:
        kind = f" ({value['type']})" if value.get("type") else ""
        return f"{value['href']}{kind}"
    if isinstance(value, dict) and "value" in value and len(value) <= 3:
        return output_text(value["value"])
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def outputs(results: Any) -> list[tuple[str, Any]]:
    """(output id, value) of a results document: OGC 1.0's map, or the list of
    ``{"id", "value"}`` of EOEPCA and pygeoapi documents."""
    if isinstance(results, dict) and isinstance(results.get("outputs"), list):
        return [(str(o.get("id", i)), o.get("value", o.get("href", o)))
                for i, o in enumerate(results["outputs"]) if isinstance(o, dict)]
    if isinstance(results, dict) and not {"id", "value"} <= set(results):
        return [(k, v) for k, v in results.items() if k != "links"]
    return [("", results)]  # a bare value (a raw result), or pygeoapi's {"id", "value"}


class JobView:
    """Shows a followed job's events. ``live`` (a terminal): a progress bar whose label is
    the status and current step, logs printed above it. Otherwise one line per status
    change and per log entry, for files, pipes and captures."""

    def __init__(self, job: str, live: bool, out: Console | None = None) -> None:
        self.out = out or console()
        self.job = job
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.shown = ""
        self.ending = False
        if live:
            self.progress = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                TaskProgressColumn(), TimeElapsedColumn(), console=self.out, transient=False,
            )

    def __enter__(self) -> JobView:
        if self.progress is not None:
            self.progress.start()
            self.task = self.progress.add_task(f"job {self.job}", total=100)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def print(self, text: str) -> None:
        if self.progress is not None:
            self.progress.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self.out.file, flush=True)

    def status(self, doc: dict) -> None:
        if self.progress is not None and self.task is not None:
            label = str(doc.get("status", "?"))
            if doc.get("message") and doc.get("message") != doc.get("status"):
                label += f": {doc['message']}"
            progress = doc.get("progress")
            self.progress.update(self.task, description=label,
                                 completed=progress if isinstance(progress, int | float)
                                 else None)
            self.progress.refresh()  # a new step shows now, not at the next tick
        elif doc.get("status") in FINAL and not self.ending:
            pass  # said by end(), after the last log entries the stream sends after it
        elif status_line(doc) != self.shown:
            self.shown = status_line(doc)
            self.print(f"[{self.shown}]")

    def log(self, entry: dict) -> None:
        self.print(log_line(entry))

    def end(self, doc: dict) -> None:
        self.ending = True
        self.status(doc)
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        said = f"job {doc.get('jobID', self.job)} {doc.get('status')}"
        if doc.get("status") == "failed":
            said += ": " + failure_text(doc)
        self.print(said)


class DownloadView:
    """The progress of a download: one bar over all bytes and files on a terminal (on
    ``out``, stderr), one line per finished file on stdout elsewhere."""

    def __init__(self, files: int, live: bool, out: Console | None = None) -> None:
        self.out = out or console()
        self.files = files
        self.totals: dict[str, int | None] = {}
        self.progress: Progress | None = None
        if live:
            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                TransferSpeedColumn(), console=self.out,
            )
            self.task = self.progress.add_task(f"0/{files} files", total=None)
        self.finished = 0

    def __enter__(self) -> DownloadView:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def advance(self, path: str, written: int, total: int | None) -> None:
        """Called from the download threads: rich's Progress is thread-safe."""
        if self.progress is None:
            return
        if path not in self.totals:
            self.totals[path] = total
            known = [t for t in self.totals.values() if t is not None]
            self.progress.update(self.task, total=sum(known) if known else None)
        self.progress.advance(self.task, written)

    def done(self, line: str) -> None:
        self.finished += 1
        if self.progress is not None:
            self.progress.update(self.task, description=f"{self.finished}/{self.files} files")
            self.progress.console.print(line, markup=False, highlight=False)
        else:
            print(line, flush=True)  # the command's output: stdout, as the bar is not there
