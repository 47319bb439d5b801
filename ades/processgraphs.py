"""openEO process graphs as runs of the workspace's processes. Framework-free.

A graph is a set of nodes ``{"process_id", "namespace", "arguments", "result"}``. A node
whose ``process_id`` is a process deployed in the workspace (``namespace`` the workspace or
absent) runs that process with the node's arguments as its inputs; an argument
``{"from_node": "a"}`` takes an output of node ``a``. ``save_result``, as the result node,
names the node whose outputs are the result, and the format it wants them in.

``plan`` turns a graph into one run: a graph of one process runs that deployed process; a
graph of several, chained by ``from_node``, runs one CWL Workflow made for it
(``ades.packages.chain``), a step per node. Anything else is refused naming the node
(ProcessUnsupported, ProcessGraphInvalid, FormatUnsupported); no graph at all is
ProcessGraphMissing."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from graphlib import CycleError, TopologicalSorter
from typing import Any, Protocol

from cwltool.checker import can_assign_src_to_sink
from cwltool.process import Process as CwlProcess

from ades.errors import (
    FormatUnsupported,
    InvalidPackage,
    NoSuchProcess,
    ProcessGraphInvalid,
    ProcessGraphMissing,
    ProcessUnsupported,
)
from ades.model import Process
from ades.packages import formats
from ades.packages.chain import Link, Step, chain_document, input_name, ports
from ades.packages.formats import base_type
from ades.packages.load import load_package
from ades.packages.media import output_media_types
from ades.packages.schema import short_name

SAVE_RESULT = "save_result"
# openEO node ids: they name the steps of a chained Workflow (and prefix its ids).
NODE_ID = re.compile(r"^[A-Za-z0-9_-]+$")

class Processes(Protocol):
    def get(self, workspace: str, process_id: str) -> Process: ...


@dataclass(frozen=True)
class GraphRun:
    """What a process graph runs: ``process`` with ``inputs`` (OGC execute form), the
    output format ``save_result`` asked for (None: the process's own), and ``outputs``, the
    OGC execute request's ``outputs`` member that asks for it (None: all as offered)."""

    process: Process
    inputs: dict[str, Any]
    output_format: str | None = None
    outputs: dict[str, Any] | None = None


def nodes_of(body: Any) -> dict[str, dict[str, Any]]:
    """The nodes of an openEO request body's ``process.process_graph`` (a job or a
    synchronous request), or of a bare ``process_graph``."""
    if not isinstance(body, Mapping):
        raise ProcessGraphMissing("the request body is not an object with a 'process'")
    process = body.get("process", body)
    graph = process.get("process_graph") if isinstance(process, Mapping) else None
    if graph is None:
        raise ProcessGraphMissing("the request has no 'process' with a 'process_graph'")
    if not isinstance(graph, Mapping) or not graph:
        raise ProcessGraphInvalid("'process_graph' must be an object of one or more nodes")
    for node_id, node in graph.items():
        if not NODE_ID.match(node_id):
            raise ProcessGraphInvalid(
                f"node '{node_id}': a node id is made of letters, digits, '_' and '-'"
            )
        if not isinstance(node, Mapping) or not isinstance(node.get("process_id"), str):
            raise ProcessGraphInvalid(f"node '{node_id}' has no 'process_id'")
        if not isinstance(node.get("arguments", {}), Mapping):
            raise ProcessGraphInvalid(f"node '{node_id}': 'arguments' must be an object")
    return dict(graph)


def result_node(nodes: Mapping[str, Mapping[str, Any]]) -> str:
    """The id of the one node marked ``"result": true``."""
    results = [node_id for node_id, node in nodes.items() if node.get("result") is True]
    if len(results) != 1:
        raise ProcessGraphInvalid(
            f"a process graph has exactly one node with \"result\": true; this one has "
            f"{len(results)}{': ' + ', '.join(results) if results else ''}"
        )
    return results[0]


def plan(body: Any, workspace: str, processes: Processes) -> GraphRun:
    """The run an openEO request's process graph asks for in ``workspace``: one deployed
    process, or several chained by ``from_node`` as one CWL Workflow made for the graph."""
    nodes = nodes_of(body)
    result = result_node(nodes)
    output_format, target = None, result
    if nodes[result]["process_id"] == SAVE_RESULT:
        output_format, target = _saved(nodes, result)
    for node_id, node in nodes.items():
        if node["process_id"] == SAVE_RESULT and node_id != result:
            raise ProcessUnsupported(
                f"node '{node_id}': save_result is supported only as the result node"
            )
    links = {
        node_id: _links(nodes, node_id)
        for node_id in nodes
        if nodes[node_id]["process_id"] != SAVE_RESULT
    }
    order = _order(links, target)
    deployed = {node_id: _deployed(nodes[node_id], node_id, workspace, processes)
                for node_id in order}
    if len(order) == 1:
        process = deployed[target]
        inputs = dict(nodes[target].get("arguments", {}))
        tool = _tool(process, workspace) if output_format is not None else None
    else:
        process, inputs, tool = _chained(nodes, order, target, links, deployed, workspace)
    outputs = None
    if output_format is not None and tool is not None:
        outputs = _outputs_in(output_format, tool, target, result)
    return GraphRun(process, inputs, output_format, outputs)


def _saved(nodes: Mapping[str, Mapping[str, Any]], save: str) -> tuple[str | None, str]:
    """The format a ``save_result`` node asks for, and the node whose data it saves."""
    arguments = nodes[save].get("arguments", {})
    data = arguments.get("data")
    if not isinstance(data, Mapping) or data.get("from_node") not in nodes:
        raise ProcessGraphInvalid(
            f"node '{save}' (save_result): 'data' must be {{\"from_node\": <a node of the graph>}}"
        )
    if nodes[data["from_node"]]["process_id"] == SAVE_RESULT:
        raise ProcessGraphInvalid(
            f"node '{save}' (save_result): 'data' names node '{data['from_node']}', a "
            "save_result: it saves the output of a process"
        )
    output_format = arguments.get("format")
    if output_format is not None and not isinstance(output_format, str):
        raise ProcessGraphInvalid(f"node '{save}' (save_result): 'format' must be a string")
    return output_format, data["from_node"]


def _deployed(
    node: Mapping[str, Any], node_id: str, workspace: str, processes: Processes
) -> Process:
    namespace = node.get("namespace")
    process_id = node["process_id"]
    if namespace not in (None, workspace):
        raise ProcessUnsupported(
            f"node '{node_id}': process '{process_id}' of namespace '{namespace}': only this "
            f"workspace's processes ('{workspace}' or no namespace) run here"
        )
    try:
        return processes.get(workspace, process_id)
    except NoSuchProcess as err:
        raise ProcessUnsupported(
            f"node '{node_id}': process '{process_id}' is not deployed in workspace "
            f"'{workspace}'"
        ) from err


def _links(nodes: Mapping[str, Mapping[str, Any]], node_id: str) -> dict[str, Link]:
    """The arguments of a node that take other nodes' outputs, each with the nodes it
    takes them from (the outputs are picked later). Refuses what this server cannot wire:
    parameters, child process graphs, references nested in values, unknown nodes."""
    links = {}
    for name, value in nodes[node_id].get("arguments", {}).items():
        where = f"node '{node_id}', argument '{name}'"
        if isinstance(value, list) and any(_reference(item) for item in value):
            if not all(_reference(item) == "from_node" for item in value):
                raise ProcessGraphInvalid(
                    f"{where}: a list of references takes only {{\"from_node\": ...}} "
                    "items, not values or other references beside them"
                )
            sources = tuple(_source(nodes, where, item) for item in value)
            links[name] = Link(tuple((source, "") for source in sources), merged=True)
        elif _reference(value) == "from_node":
            links[name] = Link(((_source(nodes, where, value), ""),))
        elif _reference(value) == "from_parameter":
            raise ProcessGraphInvalid(
                f"{where}: {json.dumps(dict(value))}: a process graph run here has no "
                "parameters"
            )
        elif _reference(value) == "process_graph":
            raise ProcessUnsupported(
                f"{where}: child process graphs (callbacks) are not supported"
            )
        elif _nested_reference(value):
            raise ProcessUnsupported(
                f"{where}: references inside objects or nested lists are not supported; "
                "give {\"from_node\": ...} as the argument itself, or a list of them"
            )
    return links


def _reference(value: Any) -> str | None:
    if isinstance(value, Mapping):
        for key in ("from_node", "from_parameter", "process_graph"):
            if key in value:
                return key
    return None


def _nested_reference(value: Any) -> bool:
    if _reference(value) is not None:
        return True
    if isinstance(value, Mapping):
        return any(_nested_reference(v) for v in value.values())
    if isinstance(value, list):
        return any(_nested_reference(v) for v in value)
    return False


def _source(nodes: Mapping[str, Mapping[str, Any]], where: str, value: Mapping) -> str:
    source = value.get("from_node")
    if set(value) != {"from_node"} or not isinstance(source, str):
        raise ProcessGraphInvalid(f"{where}: a reference is {{\"from_node\": <node id>}}")
    if source not in nodes:
        raise ProcessGraphInvalid(f"{where}: there is no node '{source}' in the graph")
    if nodes[source]["process_id"] == SAVE_RESULT:
        raise ProcessUnsupported(
            f"{where}: node '{source}' is save_result: its result is saved, not passed on"
        )
    return source


def _order(links: Mapping[str, Mapping[str, Link]], target: str) -> list[str]:
    """The nodes the result comes from, each after the nodes it takes outputs from.
    Refuses a cycle, and nodes the result does not come from (they would run for
    nothing: their outputs are not returned)."""
    needs = {
        node_id: {source for link in node_links.values() for source, _ in link.sources}
        for node_id, node_links in links.items()
    }
    try:
        order = list(TopologicalSorter(needs).static_order())
    except CycleError as err:
        cycle = err.args[1]
        raise ProcessGraphInvalid(
            f"the graph has a cycle: {' → '.join(repr(n) for n in cycle)}"
        ) from err
    used, waiting = set(), [target]
    while waiting:
        node_id = waiting.pop()
        if node_id not in used:
            used.add(node_id)
            waiting.extend(needs[node_id])
    unused = sorted(set(needs) - used)
    if unused:
        raise ProcessGraphInvalid(
            f"node{'s' if len(unused) > 1 else ''} {', '.join(repr(n) for n in unused)}: "
            f"the result (node '{target}') does not come from "
            f"{'them' if len(unused) > 1 else 'it'}; remove what the result does not use"
        )
    return [node_id for node_id in order if node_id in used]


def _tool(process: Process, workspace: str) -> CwlProcess:
    """cwltool's object of a deployed process's entry point."""
    return load_package(process.package, workspace, workflow_id=process.entry).tool


def _chained(
    nodes: Mapping[str, Mapping[str, Any]],
    order: list[str],
    target: str,
    links: Mapping[str, Mapping[str, Link]],
    deployed: Mapping[str, Process],
    workspace: str,
) -> tuple[Process, dict[str, Any], CwlProcess]:
    """The Workflow that runs the nodes of ``order`` as its steps, and its inputs (the
    nodes' own values, as ``<node>__<argument>``)."""
    tools = {node_id: _tool(deployed[node_id], workspace) for node_id in order}
    inputs: dict[str, Any] = {}
    steps = []
    for node_id in order:
        process = deployed[node_id]
        in_ports = ports(tools[node_id], "inputs")
        step_links, values = {}, []
        for name, value in nodes[node_id].get("arguments", {}).items():
            if name not in in_ports:
                raise ProcessGraphInvalid(
                    f"node '{node_id}': process '{process.id}' has no input '{name}'; its "
                    f"inputs are {', '.join(in_ports) or 'none'}"
                )
            link = links[node_id].get(name)
            if link is None:
                if input_name(node_id, name) in inputs:
                    raise ProcessGraphInvalid(
                        f"node '{node_id}', argument '{name}': its Workflow input "
                        f"'{input_name(node_id, name)}' is another node's already; rename "
                        f"node '{node_id}'"
                    )
                values.append(name)
                inputs[input_name(node_id, name)] = value
                continue
            step_links[name] = Link(
                tuple(
                    (source, _fitting_output(tools[source], source, node_id, name,
                                             in_ports[name], link.merged))
                    for source, _ in link.sources
                ),
                link.merged,
            )
        for name, port in in_ports.items():
            if name not in step_links and name not in values and _required(port):
                raise ProcessGraphInvalid(
                    f"node '{node_id}': input '{name}' of process '{process.id}' is required: "
                    f"give it as an argument (a value or {{\"from_node\": ...}})"
                )
        steps.append(Step(node_id, tools[node_id], tuple(values), step_links))
    names = ", ".join(f"{node_id} ({deployed[node_id].id})" for node_id in order)
    label = f"Process graph: {names}"
    doc = (
        f"Runs the nodes {names} of an openEO process graph as the steps of one Workflow; "
        f"its result is the outputs of node '{target}'."
    )
    text = chain_document(steps, target, label, doc)
    # Named after what the Workflow is (its steps, what each runs, how they are wired),
    # not after the values it is given: the same chain is the same process.
    shape = [
        (step.id, deployed[step.id].package, deployed[step.id].entry, sorted(step.values),
         sorted((name, link.sources, link.merged) for name, link in step.links.items()))
        for step in steps
    ]
    digest = hashlib.sha256(json.dumps([shape, target]).encode()).hexdigest()
    process_id = f"graph-{digest[:12]}"
    try:
        loaded = load_package(text, workspace, source_name=f"{process_id}.cwl")
    except InvalidPackage as err:
        raise ProcessGraphInvalid(
            f"the nodes {names} cannot be chained into one CWL Workflow: {err}"
        ) from err
    return replace(loaded.process, id=process_id), inputs, tools[target]


def _required(port: Mapping[str, Any]) -> bool:
    cwl_type = port.get("type")
    optional = cwl_type == "null" or (isinstance(cwl_type, list) and "null" in cwl_type)
    return port.get("default") is None and not optional and cwl_type != "Any"


def _fitting_output(
    source: CwlProcess,
    source_id: str,
    node_id: str,
    name: str,
    sink: Mapping[str, Any],
    merged: bool,
) -> str:
    """The output of node ``source_id`` that feeds input ``name`` of node ``node_id``: its
    only output, or the one whose type fits; ProcessGraphInvalid when none or several do."""
    sink_type = sink["type"]
    if merged:
        sink_type = _items(sink_type)
        if sink_type is None:
            raise ProcessGraphInvalid(
                f"node '{node_id}', argument '{name}' ({_type_text(sink['type'])}) takes one "
                f"value, not a list of {{\"from_node\": ...}}"
            )
    outputs = ports(source, "outputs")
    fits = [o for o, port in outputs.items() if can_assign_src_to_sink(port["type"], sink_type)]
    if len(fits) > 1:
        strict = [o for o in fits
                  if can_assign_src_to_sink(outputs[o]["type"], sink_type, strict=True)]
        fits = strict if len(strict) == 1 else fits
    if len(fits) == 1:
        return fits[0]
    offered = ", ".join(f"{o} ({_type_text(port['type'])})" for o, port in outputs.items())
    where = (
        f"node '{node_id}', argument '{name}' ({_type_text(sink_type)}) from node "
        f"'{source_id}'"
    )
    if not outputs:
        raise ProcessGraphInvalid(f"{where}: node '{source_id}' has no outputs")
    if not fits:
        raise ProcessGraphInvalid(f"{where}: no output of node '{source_id}' fits: {offered}")
    raise ProcessGraphInvalid(
        f"{where}: several outputs of node '{source_id}' fit ({', '.join(fits)}), which one "
        f"is meant cannot be told: {offered}"
    )


def _items(cwl_type: Any) -> Any:
    """The type of the items of an array type (None when it is no array)."""
    if cwl_type == "Any":
        return "Any"
    if isinstance(cwl_type, list):
        members = [t for t in cwl_type if t != "null"]
        return _items(members[0]) if len(members) == 1 else None
    if isinstance(cwl_type, Mapping) and cwl_type.get("type") == "array":
        return cwl_type.get("items")
    return None


def _type_text(cwl_type: Any) -> str:
    """A CWL type as CWL's shorthand spells it: 'File', 'int?', 'string[]'."""
    if isinstance(cwl_type, str):
        return short_name(cwl_type) if "#" in cwl_type else cwl_type
    if isinstance(cwl_type, list):
        members = [t for t in cwl_type if t != "null"]
        text = " | ".join(_type_text(t) for t in members)
        if len(members) > 1 and len(members) != len(cwl_type):
            return f"({text})?"
        return text + ("?" if len(members) != len(cwl_type) else "")
    if isinstance(cwl_type, Mapping):
        if cwl_type.get("type") == "array":
            return _type_text(cwl_type.get("items")) + "[]"
        return str(cwl_type.get("type"))
    return str(cwl_type)


def media_types(output_format: str) -> tuple[str, ...] | None:
    """The media types an openEO format name (any case) or a media type stands for; None
    for a name this server does not know."""
    if "/" in output_format:
        return (output_format.strip(),)
    known = formats.by_name(output_format)
    return known.media_types if known else None


def _outputs_in(
    output_format: str, tool: CwlProcess, node_id: str, save: str
) -> dict[str, Any] | None:
    """The OGC ``outputs`` request for the outputs of node ``node_id`` that come in
    ``output_format``; None (all outputs, as they come) when the process's outputs do not
    say what they come in. FormatUnsupported when the format is unknown, or when the
    outputs say and none comes in it."""
    where = f"node '{save}' (save_result)"
    wanted = media_types(output_format)
    if wanted is None:
        raise FormatUnsupported(
            f"{where}: format '{output_format}' is not one this server knows; use one of "
            f"{', '.join(f.name for f in formats.FORMATS)} or a media type"
        )
    bases = {base_type(m) for m in wanted}
    offered = output_media_types(tool)
    chosen = {}
    for output_id, types in offered.items():
        match = next((m for m in types or () if base_type(m) in bases), None)
        if match is not None:
            chosen[output_id] = {"format": {"mediaType": match}}
    if chosen:
        return chosen
    if any(types is None for types in offered.values()):
        return None
    offered_names = sorted({_format_name(m) for types in offered.values() for m in types or ()})
    raise FormatUnsupported(
        f"{where}: node '{node_id}' cannot give its result in format '{output_format}'; "
        f"its outputs come in {', '.join(offered_names) or 'no known format'}"
    )


def _format_name(media: str) -> str:
    """'CSV (text/csv)': an openEO name of a media type beside it, or the type alone."""
    known = formats.of_media_type(media)
    return f"{known.name} ({media})" if known else media
