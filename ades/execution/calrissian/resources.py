"""How much memory and how many cores the tool pods of one run may use at once: Calrissian's
``--max-ram`` and ``--max-cores``, read from the package's ResourceRequirements and capped by
what the server allows a workspace.

Calrissian treats these numbers as a ceiling, not a reservation: each tool pod requests
what its own ResourceRequirement asks (its max, else its min, clipped to the ceiling), and
steps wait while the pods running already fill the ceiling. So the ceiling of a run is the
SUM over its steps of what each step asks, not the largest step: a sum is the most the steps
can use when all of them run at once, which costs nothing when they run one after the other
(nothing is reserved), while the largest step alone would serialise independent steps. A
scattered step, or a request given as an expression, asks for an amount only known at run
time: the run then gets the workspace's cap."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kubernetes.utils import parse_quantity

MIB = 2**20
# What CWL v1.2 assumes of a tool that states no ResourceRequirement.
DEFAULT_RAM_MIB = 256
DEFAULT_CORES = 1


@dataclass(frozen=True)
class Resources:
    ram_mib: int
    cores: float

    @property
    def ram_arg(self) -> str:
        """As Calrissian's --max-ram (a Kubernetes quantity)."""
        return f"{self.ram_mib}Mi"

    @property
    def cores_arg(self) -> str:
        return f"{self.cores:g}"


def caps_from(max_ram: str, max_cores: str) -> Resources:
    """The workspace caps from their settings; ValueError naming the setting when one is
    not a Kubernetes quantity."""
    try:
        ram = parse_quantity(max_ram)
    except ValueError as err:
        raise ValueError(
            f"ADES_CALRISSIAN_MAX_RAM={max_ram!r} is not a memory quantity such as 8G or 512Mi"
        ) from err
    try:
        cores = parse_quantity(max_cores)
    except ValueError as err:
        raise ValueError(
            f"ADES_CALRISSIAN_MAX_CORES={max_cores!r} is not a CPU quantity such as 4 or 500m"
        ) from err
    if ram <= 0 or cores <= 0:
        raise ValueError(
            f"ADES_CALRISSIAN_MAX_RAM={max_ram!r} and ADES_CALRISSIAN_MAX_CORES={max_cores!r} "
            "must be positive"
        )
    return Resources(ram_mib=max(1, int(ram / MIB)), cores=float(cores))


@dataclass(frozen=True)
class Budget:
    """What one run gets (``limits``), and the first tool whose minimum does not fit the
    caps (Calrissian would refuse to start it), if any."""

    limits: Resources
    too_big: str | None = None


def run_budget(document: Any, entry: str | None, caps: Resources) -> Budget:
    """The ``--max-ram``/``--max-cores`` of a run of ``document`` (the parsed package) at
    ``entry`` (e.g. "#main"), within ``caps``."""
    graph = _graph(document)
    process = _entry(document, graph, entry)
    walk = _Walk(graph, caps)
    need = walk.need(process, None, 0) if isinstance(process, Mapping) else None
    if need is None:
        limits = caps
    else:
        ram, cores = need
        limits = Resources(
            ram_mib=min(caps.ram_mib, max(1, math.ceil(ram))),
            cores=min(caps.cores, max(cores, 0.001)),
        )
    return Budget(limits, walk.too_big)


def is_workflow(document: Any, entry: str | None) -> bool:
    process = _entry(document, _graph(document), entry)
    return isinstance(process, Mapping) and process.get("class") == "Workflow"


def _graph(document: Any) -> dict[str, Any]:
    graph: dict[str, Any] = {}
    if isinstance(document, Mapping) and isinstance(document.get("$graph"), list):
        for process in document["$graph"]:
            if isinstance(process, Mapping) and isinstance(process.get("id"), str):
                graph[process["id"].lstrip("#")] = process
    return graph


def _entry(document: Any, graph: dict[str, Any], entry: str | None) -> Any:
    if not graph:
        return document
    if entry:
        return graph.get(entry.lstrip("#"))
    if "main" in graph:
        return graph["main"]
    workflows = [p for p in graph.values() if p.get("class") == "Workflow"]
    return workflows[0] if len(workflows) == 1 else next(iter(graph.values()))


def _requirement(process: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The process's own ResourceRequirement (a requirement wins over a hint)."""
    for key in ("requirements", "hints"):
        section = process.get(key)
        if isinstance(section, Mapping):
            found = section.get("ResourceRequirement")
            if isinstance(found, Mapping):
                return found
        elif isinstance(section, list):
            for item in section:
                if isinstance(item, Mapping) and item.get("class") == "ResourceRequirement":
                    return item
    return None


class _Walk:
    def __init__(self, graph: dict[str, Any], caps: Resources):
        self.graph = graph
        self.caps = caps
        self.too_big: str | None = None

    def need(
        self, process: Mapping[str, Any], inherited: Mapping[str, Any] | None, depth: int
    ) -> tuple[float, float] | None:
        """(MiB, cores) the process can use at once; None when only known at run time."""
        requirement = _requirement(process) or inherited
        kind = process.get("class")
        if kind == "Workflow" and depth < 32:
            return self._workflow(process, requirement, depth)
        if kind != "CommandLineTool":
            return (0, 0)  # expressions run inside Calrissian itself, in no pod of their own
        name = str(process.get("id") or "the tool").lstrip("#")
        ram = _amount(requirement, "ram", DEFAULT_RAM_MIB)
        cores = _amount(requirement, "cores", DEFAULT_CORES)
        if ram is None or cores is None:
            return None
        (ram_min, ram_max), (cores_min, cores_max) = ram, cores
        if self.too_big is None and (ram_min > self.caps.ram_mib or cores_min > self.caps.cores):
            self.too_big = (
                f"'{name}' needs at least {ram_min:g} MiB and {cores_min:g} cores; this server "
                f"allows a run {self.caps.ram_mib} MiB and {self.caps.cores:g} cores"
            )
        return (ram_max, cores_max)

    def _workflow(
        self, workflow: Mapping[str, Any], requirement: Mapping[str, Any] | None, depth: int
    ) -> tuple[float, float] | None:
        steps = workflow.get("steps") or []
        if isinstance(steps, Mapping):
            steps = list(steps.values())
        total_ram = total_cores = 0.0
        unknown = False
        for step in steps:
            if not isinstance(step, Mapping):
                continue
            run = step.get("run")
            if isinstance(run, str):
                run = self.graph.get(run.lstrip("#"))
            if not isinstance(run, Mapping):
                unknown = True
                continue
            need = self.need(run, _requirement(step) or requirement, depth + 1)
            if need is None or step.get("scatter"):
                unknown = True  # still walked, to find a tool too big for the caps
                continue
            total_ram += need[0]
            total_cores += need[1]
        return None if unknown else (total_ram, total_cores)


def _amount(
    requirement: Mapping[str, Any] | None, what: str, default: float
) -> tuple[float, float] | None:
    """(min, max) of ``ram`` or ``cores``; None when either is an expression."""
    low = requirement.get(f"{what}Min") if requirement else None
    high = requirement.get(f"{what}Max") if requirement else None
    for value in (low, high):
        if value is not None and (isinstance(value, bool) or not _is_number(value)):
            return None
    # As cwltool reads them: one bound alone stands for both; neither means the default.
    if low is None:
        low = default if high is None else high
    if high is None:
        high = low
    return (float(low), max(float(low), float(high)))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal)
