"""Checks made when a package is deployed, after cwltool has validated it: can it run on
this server (its container requirements against the configured engine), and does it
follow the OGC Best Practice for EO Application Packages (OGC 20-089)? The first are
errors; the second are warnings unless the workspace asks for them to be errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from cwltool.process import Process as CwlProcess

from ades.errors import InvalidPackage
from ades.model import Process
from ades.packages.load import DEFAULT_VERSION
from ades.packages.schema import data_locations, short_name

DOCKER = "DockerRequirement"
# Where a File or Directory written into a package (a default, a literal listing) may be.
DATA_SCHEMES = ("http", "https", "s3")


def check_runnable(tool: CwlProcess, container_engine: str) -> None:
    """InvalidPackage when a process of the package requires a container and the server
    has no engine to run one. (A DockerRequirement under ``hints`` is fine: without an
    engine cwltool runs the tool from the server's environment.)"""
    if container_engine != "none":
        return
    for process in _processes(tool):
        # cwltool hands each step's process the requirements it inherits, too.
        required = _named(process.requirements, DOCKER)
        if required is not None:
            image = required.get("dockerPull") or required.get("dockerImageId") or "an image"
            raise InvalidPackage(
                f"{_kind(process)} '{_name(process)}' has a DockerRequirement under "
                f"'requirements' (image '{image}'), but this server runs without a container "
                f"engine (ADES_CONTAINER_ENGINE=none): move it to 'hints' to run the tools "
                f"from the server's environment, or have the server configured with docker, "
                f"podman or singularity"
            )


def check_locations(tool: CwlProcess) -> None:
    """InvalidPackage when a File or Directory written into the package (an input's or a
    step's default, a literal of a listing) lies on this machine (file://, a path) or
    anywhere else than http(s) or s3: the job would read the server's own files."""
    for process in _processes(tool):
        for where, kind, key, value in data_locations(process.tool, _name(process)):
            if isinstance(value, str) and urlsplit(value).scheme not in DATA_SCHEMES:
                raise InvalidPackage(
                    f"'{where}' has a {kind} at '{value}' ({key}): a deployed package may "
                    f"only point at data over {', '.join(DATA_SCHEMES)}, not at files of "
                    f"this server"
                )


def best_practice_warnings(tool: CwlProcess, process: Process) -> list[str]:
    """The Best Practice rules the package breaks, each as one sentence naming where."""
    warnings: list[str] = []
    if tool.tool.get("class") != "Workflow":
        warnings.append(
            f"the entry point '{process.id}' is a {tool.tool.get('class')}, not a Workflow: "
            f"the Best Practice wants a Workflow as the application's entry point"
        )
    for parameter in process.inputs:
        if parameter.kind == "File":
            warnings.append(
                f"input '{parameter.id}' is a File: the Best Practice stages EO data in as a "
                f"Directory (a STAC catalog)"
            )
    for parameter in process.outputs:
        if parameter.kind == "File":
            warnings.append(
                f"output '{parameter.id}' is a File: the Best Practice stages results out as "
                f"a Directory (a STAC catalog)"
            )
    if not any(p.kind == "Directory" for p in process.outputs):
        warnings.append(
            "no output is a Directory: the Best Practice stages results out as a Directory "
            "holding a STAC catalog"
        )
    for sub in _processes(tool):
        if sub.tool.get("class") == "CommandLineTool" and not (
            _named(sub.requirements, DOCKER) or _named(sub.hints, DOCKER)
        ):
            warnings.append(
                f"CommandLineTool '{_name(sub)}' names no container image (DockerRequirement): "
                f"the Best Practice wants each tool to run in a container"
            )
    if process.version == DEFAULT_VERSION:
        warnings.append(
            "the package has no s:softwareVersion: the Best Practice wants one "
            "(it is the process version)"
        )
    return warnings


def _processes(tool: CwlProcess) -> Iterator[CwlProcess]:
    """The entry point and every process its steps run, sub-workflows included, once each."""
    seen: set[str] = set()
    stack = [tool]
    while stack:
        process = stack.pop()
        key = f"{process.tool.get('id')}|{id(process)}"
        if key in seen:
            continue
        seen.add(key)
        yield process
        stack.extend(step.embedded_tool for step in getattr(process, "steps", []))


def _named(requirements: Any, cls: str) -> dict[str, Any] | None:
    if isinstance(requirements, dict):  # the map form, as written
        found = requirements.get(cls)
        return {"class": cls, **found} if isinstance(found, dict) else None
    for requirement in requirements or []:
        if isinstance(requirement, dict) and short_name(str(requirement.get("class"))) == cls:
            return requirement
    return None


def _kind(process: CwlProcess) -> str:
    return str(process.tool.get("class", "process"))


def _name(process: CwlProcess) -> str:
    return short_name(str(process.tool.get("id", "")))
