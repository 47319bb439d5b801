"""ades.processgraphs: an openEO process graph as a run of a deployed process."""

from __future__ import annotations

from pathlib import Path

import pytest

from ades.errors import NoSuchProcess, ProcessGraphInvalid, ProcessGraphMissing, ProcessUnsupported
from ades.model import Process
from ades.packages.load import load_process
from ades.processgraphs import plan

DEMO = Path(__file__).resolve().parents[1] / "workspaces" / "demo" / "processes"


class Deployed:
    """The processes port over a dict: the graphs are checked, not the registry."""

    def __init__(self, *processes: Process):
        self.by_id = {p.id: p for p in processes}

    def get(self, workspace: str, process_id: str) -> Process:
        if process_id not in self.by_id:
            raise NoSuchProcess(process_id, workspace)
        return self.by_id[process_id]


@pytest.fixture(scope="module")
def deployed() -> Deployed:
    return Deployed(load_process(DEMO / "echo.cwl", "demo"))


def graph(**nodes):
    return {"process": {"process_graph": nodes}}


def test_one_node_runs_its_process_with_its_arguments(deployed):
    run = plan(
        graph(e={"process_id": "echo", "arguments": {"message": "hi"}, "result": True}),
        "demo",
        deployed,
    )
    assert run.process.id == "echo"
    assert run.inputs == {"message": "hi"}
    assert run.output_format is None


def test_save_result_names_the_format_of_the_node_it_saves(deployed):
    run = plan(
        graph(
            e={"process_id": "echo", "namespace": "demo", "arguments": {"message": "hi"}},
            s={
                "process_id": "save_result",
                "arguments": {"data": {"from_node": "e"}, "format": "GTiff"},
                "result": True,
            },
        ),
        "demo",
        deployed,
    )
    assert (run.process.id, run.output_format) == ("echo", "GTiff")


@pytest.mark.parametrize(
    ("body", "error", "named"),
    [
        ({}, ProcessGraphMissing, "process_graph"),
        ({"process": {"process_graph": {}}}, ProcessGraphInvalid, "one or more nodes"),
        (graph(a={"arguments": {}}), ProcessGraphInvalid, "node 'a'"),
        (graph(a={"process_id": "echo"}), ProcessGraphInvalid, "has 0"),
        (
            graph(
                a={"process_id": "echo", "result": True}, b={"process_id": "echo", "result": True}
            ),
            ProcessGraphInvalid,
            "a, b",
        ),
        (graph(a={"process_id": "absent", "result": True}), ProcessUnsupported, "'absent'"),
        (
            graph(a={"process_id": "echo", "namespace": "lab", "result": True}),
            ProcessUnsupported,
            "namespace 'lab'",
        ),
        (
            graph(s={"process_id": "save_result", "arguments": {"data": 1}, "result": True}),
            ProcessGraphInvalid,
            "node 's' (save_result)",
        ),
        (
            graph(
                a={
                    "process_id": "echo",
                    "arguments": {"message": {"from_parameter": "x"}},
                    "result": True,
                }
            ),
            ProcessGraphInvalid,
            "argument 'message'",
        ),
    ],
)
def test_graphs_that_cannot_run_are_refused_naming_the_node(deployed, body, error, named):
    with pytest.raises(error) as caught:
        plan(body, "demo", deployed)
    assert named in str(caught.value)
