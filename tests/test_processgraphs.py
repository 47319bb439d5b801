"""ades.processgraphs: an openEO process graph as a run of a deployed process, or of one
CWL Workflow chaining several (ades.packages.chain); every generated Workflow is loaded
back by cwltool (load_package), as the job will run it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ades.errors import (
    FormatUnsupported,
    NoSuchProcess,
    ProcessGraphInvalid,
    ProcessGraphMissing,
    ProcessUnsupported,
)
from ades.model import Process
from ades.packages.formats import by_name
from ades.packages.load import load_package, load_process
from ades.processgraphs import media_types, plan

DEMO = Path(__file__).resolve().parents[1] / "workspaces" / "demo" / "processes"
DATA = Path(__file__).resolve().parent / "packages" / "data"


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
    return Deployed(
        load_process(DEMO / "echo.cwl", "demo"),
        load_process(QUIET, "demo"),
        load_process(PASS, "demo"),
        # A CommandLineTool named 'write': text → file (text.txt) and length (int).
        load_process(DATA / "chain_write.cwl", "demo"),
        # A $graph (#main and #upper): source (File) → text (upper.txt), table (upper.csv).
        load_process(DATA / "chain_upper.cwl", "demo"),
        # A $graph (#main and #greet): who (string) → greeting (File, stdout).
        load_process(DATA / "graph_main.cwl", "demo"),
    )


def graph(**nodes):
    return {"process": {"process_graph": nodes}}


def saved(node: str, output_format: str | None = "CSV") -> dict:
    arguments = {"data": {"from_node": node}}
    if output_format is not None:
        arguments["format"] = output_format
    return {"process_id": "save_result", "arguments": arguments, "result": True}


WRITE = {"process_id": "write", "arguments": {"text": "hello"}}
# A tool without outputs, and one that passes its text on (its other input's name holds '__').
QUIET = """cwlVersion: v1.2
class: CommandLineTool
id: quiet
baseCommand: "true"
inputs: {text: string?}
outputs: []
"""
PASS = """cwlVersion: v1.2
class: CommandLineTool
id: pass
baseCommand: "true"
inputs: {text: string?, b__text: string?}
outputs:
  said: {type: string?, outputBinding: {outputEval: $(inputs.text)}}
"""


def upper(source: str = "w", **arguments) -> dict:
    return {"process_id": "chain_upper",
            "arguments": {"source": {"from_node": source}, **arguments}}


def test_one_node_runs_its_process_with_its_arguments(deployed):
    run = plan(
        graph(e={"process_id": "echo", "arguments": {"message": "hi"}, "result": True}),
        "demo",
        deployed,
    )
    assert run.process.id == "echo"
    assert run.inputs == {"message": "hi"}
    assert (run.output_format, run.outputs) == (None, None)


def test_save_result_picks_the_output_that_comes_in_its_format(deployed):
    run = plan(graph(u={"process_id": "chain_upper", "arguments": {}}, s=saved("u", "csv")),
               "demo", deployed)
    assert (run.process.id, run.output_format) == ("chain_upper", "csv")
    assert run.outputs == {"table": {"format": {"mediaType": "text/csv"}}}
    # JSON is what literal outputs come in.
    run = plan(graph(e={"process_id": "echo", "namespace": "demo", "arguments": {}},
                     s=saved("e", "json")), "demo", deployed)
    assert run.outputs == {
        "echoOutput": {"format": {"mediaType": "application/json"}},
        "mixedOutput": {"format": {"mediaType": "application/json"}},
    }
    # A media type is a format too.
    run = plan(graph(u=upper("w"), w=WRITE, s=saved("u", "Text/Plain")), "demo", deployed)
    assert run.outputs == {"text": {"format": {"mediaType": "text/plain"}}}


def test_save_result_without_a_format_asks_for_all_outputs(deployed):
    run = plan(graph(u={"process_id": "chain_upper", "arguments": {}}, s=saved("u", None)),
               "demo", deployed)
    assert (run.output_format, run.outputs) == (None, None)


def test_a_format_the_process_cannot_give_names_the_node_and_the_formats_offered(deployed):
    with pytest.raises(FormatUnsupported) as caught:
        plan(graph(u={"process_id": "chain_upper", "arguments": {}}, s=saved("u", "GTiff")),
             "demo", deployed)
    message = str(caught.value)
    assert "node 's' (save_result)" in message and "node 'u'" in message
    assert "'GTiff'" in message and "CSV (text/csv)" in message and "TXT (text/plain)" in message
    with pytest.raises(FormatUnsupported, match="format 'BMPX' is not one this server knows"):
        plan(graph(u={"process_id": "chain_upper", "arguments": {}}, s=saved("u", "BMPX")),
             "demo", deployed)


def test_openeo_format_names_are_matched_whatever_their_case():
    assert media_types("gtiff") == media_types("GTiff") == by_name("GTIFF").media_types
    assert media_types("geotiff") == media_types("GTiff")  # an alias
    assert media_types("netCDF") == ("application/x-netcdf", "application/netcdf")
    assert media_types("nope") is None


def test_a_chain_becomes_one_workflow_with_a_step_per_node(deployed):
    run = plan(graph(w=WRITE, u=upper("w", header="words"), s=saved("u")), "demo", deployed)
    process = run.process
    assert process.id.startswith("graph-")
    assert process.title == "Process graph: w (write), u (chain_upper)"
    # The nodes' values are the Workflow's inputs; the result node's outputs its outputs.
    assert run.inputs == {"w__text": "hello", "u__header": "words"}
    assert [p.id for p in process.inputs] == ["w__text", "u__header"]
    assert [p.id for p in process.outputs] == ["table", "text"]
    assert run.outputs == {"table": {"format": {"mediaType": "text/csv"}}}

    document = json.loads(process.package)
    assert process.entry == "#main"
    main = document["$graph"][0]
    assert main["id"] == "#main"
    assert [(s["id"], s["run"]) for s in main["steps"]] == [
        ("#main/w", "#w.write"), ("#main/u", "#u.main")
    ]
    # write has a File and an int output: the File one fits 'source'.
    wired = {i["id"]: i["source"] for i in main["steps"][1]["in"]}
    assert wired == {"#main/u/source": "#main/w/file", "#main/u/header": "#main/u__header"}
    # A step runs a Workflow: cwltool needs SubworkflowFeatureRequirement to say so.
    assert {"class": "SubworkflowFeatureRequirement"} in main["requirements"]
    # What the embedded packages need stays with them.
    write = next(p for p in document["$graph"] if p["id"] == "#w.write")
    assert write["requirements"] == [{"class": "InlineJavascriptRequirement"}]
    # Valid CWL for cwltool, described the same way once loaded.
    loaded = load_package(process.package, "demo", source_name=f"{process.id}.cwl").process
    assert (loaded.inputs, loaded.outputs) == (process.inputs, process.outputs)


def test_two_packages_with_the_same_ids_do_not_collide(deployed):
    # graph_main and chain_upper are both a $graph with a #main.
    run = plan(graph(g={"process_id": "graph_main", "arguments": {"who": "you"}},
                     u={**upper("g"), "result": True}), "demo", deployed)
    ids = [p["id"] for p in json.loads(run.process.package)["$graph"]]
    assert ids == ["#main", "#g.main", "#g.greet", "#u.main", "#u.upper"]
    assert run.inputs == {"g__who": "you"}
    assert run.outputs is None
    # The same package twice: its ids twice, under each node's prefix. echo has two outputs
    # that may feed a string: only echoOutput always does (mixedOutput may be a number).
    run = plan(graph(a={"process_id": "echo", "arguments": {"stringInput": "hi"}},
                     b={"process_id": "echo", "arguments": {"stringInput": {"from_node": "a"}},
                        "result": True}), "demo", deployed)
    document = json.loads(run.process.package)
    assert [p["id"] for p in document["$graph"]] == ["#main", "#a.echo", "#b.echo"]
    assert document["$graph"][0]["steps"][1]["in"] == [
        {"id": "#main/b/stringInput", "source": "#main/a/echoOutput"}
    ]
    assert [p.id for p in run.process.outputs] == ["echoOutput", "mixedOutput"]


def test_a_list_of_references_feeds_an_array_input():
    gather = load_process(DATA / "chain_gather.cwl", "demo")
    processes = Deployed(load_process(DATA / "chain_write.cwl", "demo"), gather)
    run = plan(graph(a=WRITE, b={"process_id": "write", "arguments": {"text": "b"}},
                     g={"process_id": "gather",
                        "arguments": {"files": [{"from_node": "a"}, {"from_node": "b"}]},
                        "result": True}), "demo", processes)
    main = json.loads(run.process.package)["$graph"][0]
    assert main["steps"][2]["in"] == [{
        "id": "#main/g/files", "source": ["#main/a/file", "#main/b/file"],
        "linkMerge": "merge_nested",
    }]
    assert {"class": "MultipleInputFeatureRequirement"} in main["requirements"]
    assert run.inputs == {"a__text": "hello", "b__text": "b"}


@pytest.mark.parametrize(
    ("body", "error", "named"),
    [
        ({}, ProcessGraphMissing, "process_graph"),
        ({"process": {"process_graph": {}}}, ProcessGraphInvalid, "one or more nodes"),
        (graph(a={"arguments": {}}), ProcessGraphInvalid, "node 'a'"),
        (graph(**{"a b": {"process_id": "echo", "result": True}}), ProcessGraphInvalid,
         "node 'a b': a node id"),
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
        # A node of a chain that is not a process of this workspace.
        (graph(w=WRITE, u={**upper("w"), "namespace": "lab"}, s=saved("u")),
         ProcessUnsupported, "node 'u': process 'chain_upper' of namespace 'lab'"),
        (graph(x={"process_id": "absent", "arguments": {}}, u=upper("x"), s=saved("u")),
         ProcessUnsupported, "node 'x': process 'absent' is not deployed"),
        (
            graph(s={"process_id": "save_result", "arguments": {"data": 1}, "result": True}),
            ProcessGraphInvalid,
            "node 's' (save_result)",
        ),
        (graph(q={"process_id": "quiet", "arguments": {}},
               w={"process_id": "write", "arguments": {"text": {"from_node": "q"}}},
               u={**upper("w"), "result": True}),
         ProcessGraphInvalid, "node 'w', argument 'text' (string) from node 'q': node 'q' has "
                              "no outputs"),
        # a's b__text and a__b's text would both be the Workflow's input a__b__text.
        (graph(a={"process_id": "pass", "arguments": {"b__text": "x"}},
               a__b={"process_id": "pass", "result": True,
                     "arguments": {"text": "y", "b__text": {"from_node": "a"}}}),
         ProcessGraphInvalid, "node 'a__b', argument 'text': its Workflow input 'a__b__text' "
                              "is another node's already"),
        (graph(s=saved("s")), ProcessGraphInvalid, "'data' names node 's', a save_result"),
        (graph(s={"process_id": "save_result", "result": True,
                  "arguments": {"data": {"from_node": "w"}, "format": 5}}, w=WRITE),
         ProcessGraphInvalid, "'format' must be a string"),
        (graph(w=WRITE, t={**saved("w"), "result": False}, u={**upper("w"), "result": True}),
         ProcessUnsupported, "node 't': save_result is supported only as the result node"),
        (
            graph(
                a={
                    "process_id": "echo",
                    "arguments": {"message": {"from_parameter": "x"}},
                    "result": True,
                }
            ),
            ProcessGraphInvalid,
            "node 'a', argument 'message': {\"from_parameter\": \"x\"}: a process graph run here "
            "has no parameters",
        ),
        (graph(u={**upper("nowhere"), "result": True}), ProcessGraphInvalid,
         "node 'u', argument 'source': there is no node 'nowhere'"),
        (graph(u={**upper("u"), "result": True}), ProcessGraphInvalid, "cycle: 'u' → 'u'"),
        (graph(a=upper("b"), b={**upper("a"), "result": True}), ProcessGraphInvalid,
         "the graph has a cycle"),
        (graph(w=WRITE, x={"process_id": "echo", "arguments": {}}, u=upper("w"),
               s=saved("u")),
         ProcessGraphInvalid, "node 'x': the result (node 'u') does not come from it"),
        (graph(w=WRITE, u=upper("w", header={"from_node": "s"}), s=saved("u")),
         ProcessUnsupported, "node 's' is save_result"),
        # A File feeds an int: no output of the node fits.
        (graph(w=WRITE, e={"process_id": "echo", "arguments": {"stringInput": "a",
                                                               "pause": {"from_node": "w"}},
                           "result": True}),
         ProcessGraphInvalid,
         "node 'e', argument 'pause' (float?) from node 'w': no output of node 'w' fits: "
         "file (File), length (int)"),
        # Two File outputs could feed a File input.
        (graph(w=WRITE, u=upper("w"), v={**upper("u"), "result": True}), ProcessGraphInvalid,
         "node 'v', argument 'source' (File) from node 'u': several outputs of node 'u' fit "
         "(table, text)"),
        (graph(w={"process_id": "write", "arguments": {}}, u={**upper("w"), "result": True}),
         ProcessGraphInvalid, "node 'w': input 'text' of process 'write' is required"),
        (graph(w={"process_id": "write", "arguments": {"text": "a", "size": 3}},
               u={**upper("w"), "result": True}),
         ProcessGraphInvalid, "node 'w': process 'write' has no input 'size'; its inputs are "
                              "text"),
        (graph(w=WRITE, u=upper("w", header=[{"from_node": "w"}, "x"]), s=saved("u")),
         ProcessGraphInvalid, "node 'u', argument 'header': a list of references takes only"),
        (graph(w=WRITE, u=upper("w", header=[{"from_node": "w"}]), s=saved("u")),
         ProcessGraphInvalid, "node 'u', argument 'header' (string) takes one value"),
        (graph(w=WRITE, u=upper("w", header={"a": {"from_node": "w"}}), s=saved("u")),
         ProcessUnsupported, "node 'u', argument 'header': references inside objects"),
        (graph(w=WRITE, u=upper("w", header={"process_graph": {}}), s=saved("u")),
         ProcessUnsupported, "node 'u', argument 'header': child process graphs"),
        (graph(w=WRITE, u=upper("w", header={"from_node": "w", "x": 1}), s=saved("u")),
         ProcessGraphInvalid, "node 'u', argument 'header': a reference is"),
    ],
)
def test_graphs_that_cannot_run_are_refused_naming_the_node(deployed, body, error, named):
    with pytest.raises(error) as caught:
        plan(body, "demo", deployed)
    assert named in str(caught.value)


def test_values_of_named_or_bound_types_are_inputs_of_the_workflow(caplog):
    processes = Deployed(load_process(DATA / "chain_write.cwl", "demo"),
                         load_process(DATA / "chain_typed.cwl", "demo"))
    arguments = {"colour": "green", "size": {"width": 3}, "words": ["a"],
                 "text": {"from_node": "w"}}
    run = plan(graph(w=WRITE, c={"process_id": "chain_typed", "result": True,
                                 "arguments": arguments}), "demo", processes)
    assert run.inputs == {"w__text": "hello", "c__colour": "green", "c__size": {"width": 3},
                          "c__words": ["a"]}
    colour = next(p for p in run.process.inputs if p.id == "c__colour")
    assert colour.schema == {"type": "string", "enum": ["red", "green", "blue"]}
    document = json.loads(run.process.package)
    main, _, tool = document["$graph"]
    # The named types are declared once, on the Workflow; the step's process inherits them.
    names = [t["name"] for r in main["requirements"] if r["class"] == "SchemaDefRequirement"
             for t in r["types"]]
    assert names == ["#c.main/Colour", "#c.main/Size"]
    assert not tool.get("requirements")
    assert "previously defined" not in caplog.text
    # The tool's bindings stay with the tool.
    assert "Binding" not in json.dumps(main["inputs"]) + json.dumps(main["outputs"])
    assert main["outputs"] == [{"id": "#main/report", "outputSource": "#main/c/report",
                                "type": {"type": "record",
                                         "fields": [{"name": "out", "type": "File"}]}}]


def test_format_unsupported_is_openeos_own_code():
    from ades.api.openeo.errors import status_and_code

    assert status_and_code(FormatUnsupported("x")) == (400, "FormatUnsupported")
    assert status_and_code(ProcessGraphInvalid("x")) == (400, "ProcessGraphInvalid")


def test_the_same_chain_is_the_same_process_whatever_its_values(deployed):
    def planned(text: str, header: str):
        return plan(graph(w={"process_id": "write", "arguments": {"text": text}},
                          u=upper("w", header=header), s=saved("u")), "demo", deployed)

    assert planned("a", "b").process.id == planned("c", "d").process.id
    other = plan(graph(w=WRITE, u=upper("w"), s=saved("u")), "demo", deployed)
    assert other.process.id != planned("a", "b").process.id
