"""openEO process graphs as runs of the workspace's processes. Framework-free.

A graph is a set of nodes ``{"process_id", "namespace", "arguments", "result"}``. A node
whose ``process_id`` is a process deployed in the workspace (``namespace`` the workspace or
absent) runs that process with the node's arguments as its inputs; ``save_result`` names
the output format of the node it saves. ``plan`` turns a graph into one run: a deployed
process and its inputs. Anything else is refused naming the node (ProcessUnsupported,
ProcessGraphInvalid); no graph at all is ProcessGraphMissing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ades.errors import (
    NoSuchProcess,
    ProcessGraphInvalid,
    ProcessGraphMissing,
    ProcessUnsupported,
)
from ades.model import Process

SAVE_RESULT = "save_result"


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
    """The run an openEO request's process graph asks for in ``workspace``."""
    nodes = nodes_of(body)
    result = result_node(nodes)
    output_format = None
    if nodes[result]["process_id"] == SAVE_RESULT:
        output_format, result = _saved(nodes, result)
    others = sorted(set(nodes) - {result} - ({_save_node(nodes)} - {None}))
    if others:
        raise ProcessUnsupported(
            f"node '{others[0]}': graphs of several processes are not supported yet"
        )
    node = nodes[result]
    process = _deployed(node, result, workspace, processes)
    inputs = {}
    for name, value in node.get("arguments", {}).items():
        if isinstance(value, Mapping) and ("from_node" in value or "from_parameter" in value):
            raise ProcessGraphInvalid(
                f"node '{result}', argument '{name}': references ({', '.join(value)}) are not "
                "supported here"
            )
        inputs[name] = value
    return GraphRun(process, inputs, output_format)


def _save_node(nodes: Mapping[str, Mapping[str, Any]]) -> str | None:
    for node_id, node in nodes.items():
        if node["process_id"] == SAVE_RESULT:
            return node_id
    return None


def _saved(nodes: Mapping[str, Mapping[str, Any]], save: str) -> tuple[str | None, str]:
    """The format a ``save_result`` node asks for, and the node whose data it saves."""
    arguments = nodes[save].get("arguments", {})
    data = arguments.get("data")
    if not isinstance(data, Mapping) or data.get("from_node") not in nodes:
        raise ProcessGraphInvalid(
            f"node '{save}' (save_result): 'data' must be {{\"from_node\": <a node of the graph>}}"
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
