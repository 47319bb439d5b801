"""openEO's process list and file formats: the workspace's deployed processes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Response

from ades.api.context import json_response, services
from ades.api.openeo.capabilities import root_url
from ades.api.openeo.views import link
from ades.model import Parameter, Process
from ades.packages.formats import by_name, input_formats, output_formats

# openEO's category of every deployed process: what the openEO Web Editor groups them by.
CATEGORY = "deployed"


def list_processes(workspace: str, limit: int = 100, offset: int = 0) -> Response:
    root = root_url(workspace)
    everything = services().processes.list(workspace)
    page = everything[offset : offset + limit]
    links = [link(f"{root}/processes", "self")]
    if offset + limit < len(everything):
        query = urlencode({"limit": limit, "offset": offset + limit})
        links.append(link(f"{root}/processes?{query}", "next"))
    return json_response({"processes": [openeo_process(p) for p in page], "links": links})


def openeo_process(process: Process) -> dict[str, Any]:
    """A deployed process as an openEO process: its inputs as parameters (with the JSON
    Schema of a value), its outputs as what it returns."""
    doc: dict[str, Any] = {"id": process.id}
    if process.title:
        doc["summary"] = process.title
    doc["description"] = process.description or process.title or f"Process '{process.id}'."
    doc["categories"] = [CATEGORY]
    doc["parameters"] = [_parameter(p) for p in process.inputs]
    doc["returns"] = _returns(process.outputs)
    return doc


def _parameter(p: Parameter) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": p.id,
        "description": p.description or p.title or f"Input '{p.id}'.",
        "schema": p.schema,
    }
    if p.min_occurs == 0:
        doc["optional"] = True
        default = p.default if p.default is not None else p.schema.get("default")
        if default is not None:
            doc["default"] = default
    return doc


def _returns(outputs: tuple[Parameter, ...]) -> dict[str, Any]:
    if len(outputs) == 1:
        (only,) = outputs
        return {"description": only.description or only.title or only.id, "schema": only.schema}
    return {
        "description": "An object of the outputs: "
        + ", ".join(f"'{p.id}'" + (f" ({p.title})" if p.title else "") for p in outputs),
        "schema": {
            "type": "object",
            "properties": {p.id: p.schema for p in outputs},
        },
    }


def file_formats(workspace: str) -> Response:
    root_url(workspace)
    processes = services().processes.list(workspace)
    inputs = set().union(*(input_formats(p) for p in processes)) if processes else set()
    outputs = set().union(*(output_formats(p) for p in processes)) if processes else set()
    return json_response({"input": _formats(inputs), "output": _formats(outputs)})


def _formats(names: set[str]) -> dict[str, Any]:
    return {
        name: {
            "title": by_name(name).title,  # type: ignore[union-attr]
            "gis_data_types": list(by_name(name).gis_data_types),  # type: ignore[union-attr]
            "parameters": {},
        }
        for name in sorted(names)
    }
