"""Processes chained into one CWL Workflow, made on the fly: each step runs one deployed
process, wired to the others' outputs; what is left for the user to give becomes an input
of the Workflow. The new Workflow is built with cwl-utils' CWL v1.2 classes; the processes
it runs are embedded beside it in one ``$graph``, as cwltool's loader resolved them (upgraded
to v1.2, every reference absolute), their ids prefixed by their step's id, so the document
is self-contained and two packages that both have a ``#main`` (or share a tool id) do not
collide."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cwl_utils.parser import cwl_v1_2 as cwl
from cwltool.process import Process as CwlProcess

from ades.packages.schema import short_name

# The generated document's own URI while it is built; references to it become local
# ("#main/...") before the document is written out.
DOCUMENT = "file:///ades-chain/workflow.cwl"
MAIN = f"{DOCUMENT}#main"
# Separates a step's id from the ids of the process it runs ("#a.main", "#a.main/x"). Step
# ids never hold it (openEO node ids are letters, digits, '_' and '-'), so the prefixed ids
# of two steps cannot meet.
SEPARATOR = "."
# Top-level keys of a loaded process that belong to its own document, not to the $graph.
_DOCUMENT_KEYS = frozenset({
    "cwlVersion",
    "$namespaces",
    "$schemas",
    "http://commonwl.org/cwltool#original_cwlVersion",
})
# Port fields carried over to the Workflow's own inputs and outputs.
_INPUT_FIELDS = ("label", "doc", "format", "secondaryFiles")
_OUTPUT_FIELDS = ("label", "doc")
# What a tool's types hold that a Workflow's do not.
_BINDINGS = frozenset({"inputBinding", "outputBinding"})


@dataclass(frozen=True)
class Link:
    """A step input fed by outputs of earlier steps: ``sources`` are (step, output) pairs;
    several are merged into one list (``merge_nested``)."""

    sources: tuple[tuple[str, str], ...]
    merged: bool = False


@dataclass
class Step:
    """One step: ``tool`` is cwltool's object of the process it runs; ``values`` names the
    step inputs given by the user (they become Workflow inputs ``<step>__<input>``),
    ``links`` those fed by other steps."""

    id: str
    tool: CwlProcess
    values: Sequence[str] = ()
    links: Mapping[str, Link] = field(default_factory=dict)


def input_name(step: str, name: str) -> str:
    """The Workflow input that carries the value given to input ``name`` of ``step``."""
    return f"{step}__{name}"


def ports(tool: CwlProcess, direction: str) -> dict[str, Mapping[str, Any]]:
    """A process's inputs or outputs by short id, as cwltool loaded them."""
    return {short_name(port["id"]): port for port in tool.tool[direction]}


def is_workflow(tool: CwlProcess) -> bool:
    return tool.tool.get("class") == "Workflow"


def chain_document(steps: Sequence[Step], result: str, label: str, doc: str) -> str:
    """The JSON text of a CWL v1.2 ``$graph`` whose ``#main`` Workflow runs ``steps`` (in
    an order where each comes after those feeding it) and returns the outputs of step
    ``result``."""
    embedded: list[Any] = []
    runs: dict[str, str] = {}
    renames: dict[str, tuple[str, str]] = {}
    # The named types of the processes the steps run, declared on the Workflow instead
    # (see _embedded): its own ports may be of those types.
    named: list[Any] = []
    for step in steps:
        processes, entry, rename, types = _embedded(step)
        embedded.extend(processes)
        named.extend(types)
        runs[step.id] = entry
        renames[step.id] = rename
    by_id = {step.id: step for step in steps}

    inputs, step_objects = [], []
    needs_merge = False
    for step in steps:
        step_inputs = []
        in_ports = ports(step.tool, "inputs")
        for name in step.values:
            port = in_ports[name]
            workflow_input = input_name(step.id, name)
            inputs.append(
                cwl.WorkflowInputParameter(
                    id=f"{MAIN}/{workflow_input}",
                    type_=_localized(_detached(port["type"]), renames[step.id]),
                    **_carried(port, _INPUT_FIELDS, renames[step.id]),
                )
            )
            step_inputs.append(
                cwl.WorkflowStepInput(
                    id=f"{MAIN}/{step.id}/{name}", source=f"{MAIN}/{workflow_input}"
                )
            )
        for name, link in step.links.items():
            sources = [f"{MAIN}/{node}/{output}" for node, output in link.sources]
            needs_merge |= link.merged
            step_inputs.append(
                cwl.WorkflowStepInput(
                    id=f"{MAIN}/{step.id}/{name}",
                    source=sources if link.merged else sources[0],
                    linkMerge="merge_nested" if link.merged else None,
                )
            )
        step_objects.append(
            cwl.WorkflowStep(
                id=f"{MAIN}/{step.id}",
                run=runs[step.id],
                in_=step_inputs,
                out=[
                    cwl.WorkflowStepOutput(id=f"{MAIN}/{step.id}/{name}")
                    for name in ports(step.tool, "outputs")
                ],
            )
        )
    outputs = [
        cwl.WorkflowOutputParameter(
            id=f"{MAIN}/{name}",
            type_=_localized(_detached(port["type"]), renames[result]),
            outputSource=f"{MAIN}/{result}/{name}",
            **_carried(port, _OUTPUT_FIELDS, renames[result]),
        )
        for name, port in ports(by_id[result].tool, "outputs").items()
    ]
    requirements: list[Any] = []
    if named:
        requirements.append(cwl.SchemaDefRequirement(types=named))
    if any(is_workflow(step.tool) for step in steps):
        requirements.append(cwl.SubworkflowFeatureRequirement())
    if needs_merge:
        requirements.append(cwl.MultipleInputFeatureRequirement())
    workflow = cwl.Workflow(
        id=MAIN,
        label=label,
        doc=doc,
        inputs=inputs,
        outputs=outputs,
        steps=step_objects,
        requirements=requirements or None,
        cwlVersion="v1.2",
    )
    main = _localized(cwl.save(workflow, relative_uris=False), (f"{DOCUMENT}#", "#"))
    main.pop("cwlVersion", None)
    document = {"cwlVersion": "v1.2", "$graph": [main, *embedded]}
    return json.dumps(document, indent=2)


def _embedded(step: Step) -> tuple[list[Any], str, tuple[str, str], list[Any]]:
    """The processes a step runs (its entry and every process its steps run by reference),
    their ids made local to the new document under the step's prefix; the id its ``run``
    names; the (old, new) prefix of the renaming; and the types of the entry's
    SchemaDefRequirement, taken off it: the Workflow declares them, the entry inherits
    them (a process sees one SchemaDefRequirement, the nearest, and a document may define
    a name once)."""
    entry_id = step.tool.tool["id"]
    document, _, fragment = entry_id.partition("#")
    prefix = f"#{step.id}{SEPARATOR}"
    # A single-process document without an id: the document is the process, its ports
    # are "<document>#port"; they become "#<step>.main" and "#<step>.main/port".
    rename = (f"{document}#", prefix if fragment else f"{prefix}main/")
    found: dict[str, Any] = {}

    def visit(tool: CwlProcess) -> None:
        if tool.tool["id"] in found:
            return
        found[tool.tool["id"]] = tool.tool
        raw_steps = tool.tool.get("steps", [])
        for raw, step_object in zip(raw_steps, getattr(tool, "steps", []), strict=True):
            if isinstance(raw.get("run"), str):
                visit(step_object.embedded_tool)

    visit(step.tool)
    processes, types = [], []
    for process_id, process in found.items():
        copy = {k: v for k, v in process.items() if k not in _DOCUMENT_KEYS}
        localized = _localized(copy, rename)
        if process_id == entry_id:
            requirements = localized.get("requirements") or []
            for requirement in requirements:
                if requirement.get("class") == "SchemaDefRequirement":
                    types.extend(requirement.get("types") or [])
            kept = [r for r in requirements if r.get("class") != "SchemaDefRequirement"]
            if "requirements" in localized:
                localized["requirements"] = kept
        if process_id == document:
            localized["id"] = f"{prefix}main"
        processes.append(localized)
    run = f"{prefix}main" if not fragment else prefix + fragment
    # The run reference is built as an absolute URI of the new document (cwl-utils saves
    # it as given); it is made local with the rest of the Workflow.
    return processes, f"{DOCUMENT}{run}", rename, types


def _detached(cwl_type: Any) -> Any:
    """A port type of a tool as the Workflow's own port declares it: without the tool's
    bindings (a Workflow's types have none), and its records without the names they have
    in the tool, their fields under short names, so the document defines each name once."""
    if isinstance(cwl_type, list):
        return [_detached(item) for item in cwl_type]
    if not isinstance(cwl_type, Mapping):
        return cwl_type
    detached = {k: v for k, v in cwl_type.items() if k not in _BINDINGS}
    if "items" in detached:
        detached["items"] = _detached(detached["items"])
    if isinstance(detached.get("type"), list | Mapping):
        detached["type"] = _detached(detached["type"])
    if detached.get("type") == "record":
        detached.pop("name", None)
        detached["fields"] = [
            {
                **{k: v for k, v in field_.items() if k not in _BINDINGS},
                "name": short_name(field_["name"]),
                "type": _detached(field_["type"]),
            }
            for field_ in detached.get("fields", [])
        ]
    return detached


def _carried(port: Mapping[str, Any], names: Sequence[str], rename: tuple[str, str]) -> dict:
    carried = {}
    for name in names:
        value = port.get(name)
        if value is None or (isinstance(value, str) and ("$(" in value or "${" in value)):
            continue
        carried[name] = _localized(value, rename)
    return carried


def _localized(value: Any, rename: tuple[str, str]) -> Any:
    """``value`` (a loaded process or a part of one) as plain JSON data, every string that
    starts with ``rename[0]`` (an absolute id or reference) starting with ``rename[1]``."""
    old, new = rename
    if isinstance(value, str):
        return new + value[len(old):] if value.startswith(old) else value
    if isinstance(value, Mapping):
        return {str(k): _localized(v, rename) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_localized(v, rename) for v in value]
    return value
