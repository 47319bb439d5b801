"""Progress read from a run's events (here as cwltool's messages make them): steps counted
in the package, scatter elements moving a step part of the way, the number never falling."""

from pathlib import Path

from ades.execution.cwltool_log import CwltoolEvents
from ades.execution.progress import END, START, Reading, StepProgress, count_steps
from ades.execution.runner import ElementFinished, StepStarted, WorkflowStarted


class Tracker:
    """StepProgress fed with cwltool's messages through CwltoolEvents."""

    def __init__(self, steps: int):
        self.progress_of = StepProgress(steps)
        self.events = CwltoolEvents()

    @property
    def progress(self) -> int:
        return self.progress_of.progress

    def feed(self, message: str) -> Reading | None:
        readings = [self.progress_of.feed(e) for e in self.events.feed(message)]
        return ([r for r in readings if r is not None] or [None])[-1]

DATA = Path(__file__).resolve().parent / "data"


def test_count_steps_of_graphs_and_tools():
    assert count_steps((DATA / "two_steps.cwl").read_text()) == 2
    assert count_steps((DATA / "scatter.cwl").read_text()) == 2  # outer step + inner step
    assert count_steps((DATA / "greet.cwl").read_text()) == 1
    assert count_steps("not: [valid") == 1


def test_steps_and_scatter_elements_raise_progress_monotonically():
    tracker = Tracker(2)
    lines = [
        "INFO [workflow ] start",
        "INFO [step fetch] start",
        "INFO [job fetch] /tmp/x$ echo a",
        "some tool output",
        "INFO [job fetch] completed success",
        "INFO [step fetch] completed success",
        # as cwltool 3.1 logs a scatter: the step "starts" once per element
        "INFO [workflow ] starting step tile",
        "INFO [step tile] start",
        "INFO [job tile] /tmp/a$ echo \\",
        "INFO [job tile] completed success",
        "INFO [step tile] start",
        "INFO [job tile_2] completed success",
        "INFO [step tile] start",
        "INFO [job tile_3] completed success",
        "INFO [step tile] completed success",
    ]
    fed = [(line, tracker.feed(line)) for line in lines]
    readings = [r for _, r in fed if r is not None]
    elements = [r.progress for line, r in fed if "[job tile" in line and "completed" in line]
    assert elements[0] < elements[1] < elements[2], elements
    values = [r.progress for r in readings]
    assert values == sorted(values)
    assert values[0] == START and values[-1] == END
    assert readings[0].message == "running step fetch (1/2)"
    assert any(r.message == "running step tile (2/2)" for r in readings)
    assert all("(3/2)" not in r.message for r in readings)
    assert len(set(values)) >= 4  # scatter elements moved the bar within step tile


def test_a_tool_is_done_when_its_job_completes():
    tracker = Tracker(1)
    assert tracker.feed("INFO [job echo] completed success").progress == END


def test_a_lone_tool_moves_when_it_starts_and_says_what_runs():
    tracker = Tracker(1)
    assert tracker.feed("INFO Resolved 'echo.cwl' to 'file:///x/echo.cwl'") is None
    # cwltool's command record spans lines: the command, then one argument per line.
    started = tracker.feed("INFO [job echo] /tmp/out-x$ sh \\\n    -c \\\n    'sleep 3'")
    assert START < started.progress < END
    assert started.message == "running tool echo"
    assert tracker.feed("a line the tool printed") is None
    done = tracker.feed("INFO [job echo] completed success")
    assert (done.progress, done.message) == (END, "finished tool echo")


def test_a_workflow_step_command_is_not_taken_for_a_lone_tool():
    tracker = Tracker(2)
    tracker.feed("INFO [workflow ] start")
    assert tracker.feed("INFO [job fetch] /tmp/x$ echo a") is None
    assert tracker.progress == START


def test_a_known_number_of_scatter_elements_moves_the_step_by_its_share():
    progress = StepProgress(1)
    progress.feed(WorkflowStarted())
    progress.feed(StepStarted("tile"))
    half = progress.feed(ElementFinished("tile", 2, 4))
    assert half.progress == START + (END - START) // 2
