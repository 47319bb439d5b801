"""Rendering domain objects as documents: marshmallow schemas for the OGC API -
Processes shapes, and the few places where the EOEPCA ADES (``wps3``) shape differs.
Everything here is pure: URLs come in through a ``Urls`` value."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, fields

from ades.model import Job, JobStatus, LogEntry, Parameter, Process
from ades.packages.registry import Deployment
from ades.packages.source import cwl_media_type
from ades.staging.provenance import PROVENANCE_KEY, ZIP

REL_RESULTS = "http://www.opengis.net/def/rel/ogc/1.0/results"
REL_PROCESSES = "http://www.opengis.net/def/rel/ogc/1.0/processes"
REL_JOB_LIST = "http://www.opengis.net/def/rel/ogc/1.0/job-list"
REL_CONFORMANCE = "http://www.opengis.net/def/rel/ogc/1.0/conformance"
REL_EXECUTE = "http://www.opengis.net/def/rel/ogc/1.0/execute"
REL_PACKAGE = "http://www.opengis.net/def/rel/ogc/1.0/application-package"
JSON = "application/json"
GEOJSON = "application/geo+json"
EVENT_STREAM = "text/event-stream"
# The schema URL that says a qualified value of a results document is a GeoJSON
# FeatureCollection (one the APEx dispatcher compares results' ``schema`` with).
FEATURE_COLLECTION_SCHEMA = (
    "https://schemas.opengis.net/ogcapi/features/part1/1.0/openapi/schemas/"
    "featureCollectionGeoJSON.yaml"
)

# How a stored result record (of an output id) is shown to a client: by default its stored
# href (s3://…); the API passes one that gives URLs people can open.
Download = Callable[[str, dict[str, Any]], str]


def stored_href(_output_id: str, record: dict[str, Any]) -> str:
    return record["href"]


@dataclass(frozen=True)
class Urls:
    """Absolute URLs under one workspace root, e.g. http://host/demo/ogc-api."""

    base: str
    flavour: str  # "ogc-api" or "wps3"

    def __call__(self, *parts: str) -> str:
        return "/".join([self.base, *parts]) if parts else self.base

    def job(self, job_id: str) -> str:
        return self("jobs", job_id)

    def process(self, process_id: str) -> str:
        return self("processes", process_id)


def link(href: str, rel: str, title: str | None = None, type_: str = JSON) -> dict[str, str]:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


class _Times(Schema):
    created = fields.AwareDateTime(format="iso")
    started = fields.AwareDateTime(format="iso", allow_none=True)
    finished = fields.AwareDateTime(format="iso", allow_none=True)
    updated = fields.AwareDateTime(format="iso")


class StatusInfoSchema(_Times):
    jobID = fields.String(attribute="id")
    type = fields.Constant("process")
    processID = fields.String(attribute="process_id")
    status = fields.Function(lambda job: job.status.value)
    message = fields.String()
    progress = fields.Integer()
    title = fields.String(allow_none=True)
    reusedFrom = fields.String(attribute="reused_from", allow_none=True)  # noqa: N815
    failure = fields.Dict(allow_none=True)


_status_schema = StatusInfoSchema()


def status_info(job: Job, urls: Urls) -> dict[str, Any]:
    doc = {k: v for k, v in _status_schema.dump(job).items() if v is not None}
    status_title = "Status location" if urls.flavour == "wps3" else "Job status"
    doc["links"] = [
        link(urls.job(job.id), "self", status_title),
        link(urls.job(job.id), "status", status_title),
        link(urls("jobs", job.id, "events"), "monitor", "The job followed live", EVENT_STREAM),
    ]
    if job.status is JobStatus.SUCCESSFUL:
        results = urls("jobs", job.id, "results")
        results_title = "Result location" if urls.flavour == "wps3" else "Job results"
        doc["links"].append(link(results, REL_RESULTS, results_title))
        doc["links"].append(link(results, REL_RESULTS, "Job results as a STAC Collection", GEOJSON))
        for oid, value in job.results.items():
            if isinstance(value, dict) and value.get("stac"):
                title = f"STAC catalog of output '{oid}'"
                doc["links"].append(link(urls("jobs", job.id, "results", oid), "related", title))
        if job.provenance:
            # The download route of the run's RO-Crate (unsigned: this document is read
            # with the credentials the route needs; the results' links are signed).
            href = urls("jobs", job.id, "download", PROVENANCE_KEY)
            doc["links"].append(link(href, "provenance", "Provenance of the run", ZIP))
    return doc


def callback_document(job: Job) -> dict[str, Any]:
    """What a job's subscriber is sent: its status document, linking to the API root the
    job was submitted under, with its results when it succeeded."""
    base = job.request.get("links_root") or ""
    urls = Urls(base, "wps3" if base.endswith("/wps3") else "ogc-api")
    doc = status_info(job, urls)
    if job.status is JobStatus.SUCCESSFUL:
        doc["results"] = wps3_results(job) if urls.flavour == "wps3" else ogc_results(job)
    return doc


def job_list(
    jobs: list[Job], total: int | None, urls: Urls, page: dict[str, str]
) -> dict[str, Any]:
    doc: dict[str, Any] = {"jobs": [status_info(j, urls) for j in jobs]}
    doc["links"] = [link(page["self"], "self")] + [
        link(page[rel], rel) for rel in ("next", "prev") if rel in page
    ]
    # The OGC name first; EOEPCA clients read numberTotal. Left out when too many match
    # to count (JobStore.list): both are optional.
    if total is not None:
        doc["numberMatched" if urls.flavour == "ogc-api" else "numberTotal"] = total
    return doc


def job_definition(job: Job, urls: Urls) -> dict[str, Any]:
    """What the job was created (or last changed) with, as a Part 4 job definition."""
    doc: dict[str, Any] = {"process": urls.process(job.process_id)}
    if job.title is not None:
        doc["title"] = job.title
    for member in ("inputs", "outputs", "response", "subscriber"):
        if job.request.get(member) is not None:
            doc[member] = job.request[member]
    doc.setdefault("inputs", {})
    return doc


def log_entry(entry: LogEntry) -> dict[str, str]:
    """One entry of the openEO LogEntries document (and of a job's event stream)."""
    return {
        "id": str(entry.id),
        "level": entry.level.label,
        "message": entry.message,
        "time": entry.time.isoformat().replace("+00:00", "Z"),
    }


def log_entries(entries: list[LogEntry], next_href: str | None) -> dict[str, Any]:
    """The openEO LogEntries document."""
    doc: dict[str, Any] = {"logs": [log_entry(entry) for entry in entries], "links": []}
    if next_href:
        doc["links"].append(link(next_href, "next", "Later log entries"))
    return doc


def process_summary(process: Process, urls: Urls) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": process.id, "version": process.version}
    if process.title:
        doc["title"] = process.title
    if process.description:
        doc["description"] = process.description
    doc["jobControlOptions"] = list(process.job_control)
    doc["outputTransmission"] = ["value", "reference"]
    # Part 2: whether the process may be replaced and undeployed through the API.
    doc["mutable"] = process.mutable
    href = urls.process(process.id)
    doc["links"] = [
        link(href, "self", "Process description"),
        link(href, "http://www.opengis.net/def/rel/ogc/1.0/processes", "Process description"),
        link(urls("processes", process.id, "execution"), REL_EXECUTE, "Execute endpoint"),
        link(
            urls("processes", process.id, "package"),
            REL_PACKAGE,
            "Application package",
            cwl_media_type(process.package),
        ),
    ]
    return doc


def deployed_process(deployment: Deployment, urls: Urls) -> dict[str, Any]:
    """The 201 body of a deploy: the new process's summary and the Best Practice warnings."""
    return {**process_summary(deployment.process, urls), "warnings": list(deployment.warnings)}


def process_description(process: Process, urls: Urls) -> dict[str, Any]:
    doc = process_summary(process, urls)
    doc["inputs"] = {p.id: _input_description(p) for p in process.inputs}
    doc["outputs"] = {p.id: _described(p) for p in process.outputs}
    return doc


def _described(p: Parameter) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if p.title:
        out["title"] = p.title
    if p.description:
        out["description"] = p.description
    out["schema"] = p.schema
    return out


def _input_description(p: Parameter) -> dict[str, Any]:
    return {**_described(p), "minOccurs": p.min_occurs, "maxOccurs": p.max_occurs}


def requested_results(job: Job) -> dict[str, Any]:
    """The job's results the execute request asked for (all when it named none); outputs
    without a value (an optional CWL output left null) are left out."""
    wanted = job.request.get("outputs") or {}
    return {
        oid: value
        for oid, value in job.results.items()
        if (not wanted or oid in wanted) and value != {"value": None}
    }


def ogc_results(job: Job, href: Download = stored_href) -> dict[str, Any]:
    """The OGC API - Processes 1.0 results document: output id → inline value or link."""
    return {oid: ogc_value(oid, value, href) for oid, value in requested_results(job).items()}


def qualified_features(features: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection as a qualified value of a results document: its media
    type and schema URL say what the value is."""
    return {"mediaType": GEOJSON, "schema": FEATURE_COLLECTION_SCHEMA, "value": features}


def ogc_value(output_id: str, value: Any, href: Download = stored_href) -> Any:
    """One output as the results document shows it: its inline value or a link."""
    if isinstance(value, list):
        return [ogc_value(output_id, v, href) for v in value]
    if "record" in value:
        return {k: ogc_value(output_id, v, href) for k, v in value["record"].items()}
    if "href" in value:
        link = {"href": href(output_id, value), "type": value.get("type", JSON)}
        if value.get("format"):
            link["format"] = value["format"]
        if value.get("secondaryFiles"):
            link["secondaryFiles"] = [
                ogc_value(output_id, v, href) for v in value["secondaryFiles"]
            ]
        return link
    return value["value"]


def wps3_results(job: Job) -> dict[str, Any]:
    """The EOEPCA ADES results shape: one entry per output, STAC catalogs as a
    ``StacCatalogUri`` inside an ``inlineValue`` string."""
    time = job.finished.isoformat().replace("+00:00", "Z") if job.finished else None
    return {
        "outputs": [
            {"id": oid, "time": time, "value": _wps3_value(value)}
            for oid, value in requested_results(job).items()
        ]
    }


def _wps3_value(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        return {"inlineValue": json.dumps([_wps3_value(v) for v in value])}
    if "record" in value:
        return {"inlineValue": json.dumps({k: _wps3_value(v) for k, v in value["record"].items()})}
    if value.get("stac"):
        return {"inlineValue": json.dumps({"StacCatalogUri": value["href"]})}
    if "href" in value:
        return {"href": value["href"], "type": value.get("type", JSON)}
    return {"inlineValue": value["value"]}
