"""Checking response bodies as OGC API - Processes documents, offline, twice: with the
models of ``ogc-api-processes-client`` (generated from the OGC's own OpenAPI document, so an
outside reading of the standard) and against the schemas of our contract, ``openapi/ades.yaml``,
where it has one for the document."""

from __future__ import annotations

import functools
from typing import Any

import jsonschema
from ogc_api_processes_client.models import (
    Bbox,
    ConfClasses,
    JobList,
    LandingPage,
    Link,
    Process,
    ProcessList,
    ProcessSummary,
    QualifiedInputValue,
    StatusInfo,
)
from ogc_api_processes_client.models import Exception as OgcException
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from ades.api.spec import load_spec

CONTRACT = "urn:ades:openapi"


def _results(document: dict[str, Any]) -> None:
    """Each output is a link, a qualified value or a plain value. The generated oneOf of
    InlineOrRefData cannot tell a string from base64 bytes (both match, so every string
    output fails it): the branches are tried one by one instead, as an anyOf."""
    if not isinstance(document, dict):
        raise ValueError(f"a results document is an object, not {type(document).__name__}")
    for output, value in document.items():
        if isinstance(value, dict) and "href" in value:
            Link.from_dict(value)
        elif isinstance(value, dict) and "value" in value:
            QualifiedInputValue.from_dict(value)
        elif isinstance(value, dict) and "bbox" in value:
            Bbox.from_dict(value)
        elif not isinstance(value, str | int | float | bool | list):
            raise ValueError(f"output {output!r}: {value!r} is no OGC inline or reference value")


# name → (how the OGC client reads it, the component of our contract it must match)
DOCUMENTS: dict[str, tuple[Any, str | None]] = {
    "landingPage": (LandingPage.from_dict, "LandingPage"),
    # The server's own root: a landing page that also lists the workspaces.
    "rootDocument": (LandingPage.from_dict, "RootDocument"),
    "confClasses": (ConfClasses.from_dict, "ConfClasses"),
    "processList": (ProcessList.from_dict, "ProcessList"),
    "processSummary": (ProcessSummary.from_dict, None),
    "process": (Process.from_dict, None),
    "statusInfo": (StatusInfo.from_dict, "StatusInfo"),
    "jobList": (JobList.from_dict, "JobList"),
    "results": (_results, None),
    "exception": (OgcException.from_dict, "Exception"),
}


@functools.cache
def _registry() -> Registry:
    return Registry().with_resource(CONTRACT, Resource.from_contents(load_spec(), DRAFT4))


def validate(document: Any, schema: str) -> None:
    """Raise unless ``document`` is a valid OGC ``schema`` (``statusInfo.yaml`` or
    ``statusInfo``) as the OGC client models read it and as our contract describes it."""
    read, component = DOCUMENTS[schema.removesuffix(".yaml")]
    read(document)
    if component is not None:
        validator = jsonschema.Draft4Validator(
            {"$ref": f"{CONTRACT}#/components/schemas/{component}"}, registry=_registry()
        )
        validator.validate(document)
