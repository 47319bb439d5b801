"""openEO batch jobs over the workspace's jobs: the same jobs the OGC roots show, rendered
in openEO's shape. A job created here keeps its openEO definition (process graph,
description, plan, budget, log level, cache) in its request's ``openeo`` member; a job
created under an OGC root is shown with a one-node graph of its process and inputs."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import Response, request

from ades.api.context import json_response, no_content, services
from ades.api.openeo.capabilities import root_url
from ades.api.openeo.views import STATUS, link
from ades.errors import Locked, NoSuchJob, ProcessGraphMissing
from ades.jobs.service import DISMISSED_MESSAGE, OPENEO
from ades.model import ACTIVE, Job, JobStatus
from ades.processgraphs import plan

LOG_LEVELS = ("debug", "info", "warning", "error")
# The members of an openEO job definition besides its process graph (their types are the
# contract's, openapi/openeo.yaml).
_MEMBERS = ("title", "description", "plan", "budget", "log_level", "cache")


def list_jobs(workspace: str, limit: int = 100, offset: int = 0) -> Response:
    root = root_url(workspace)
    jobs, total = services().jobs.list(workspace, limit, offset)
    links = [link(f"{root}/jobs", "self")]
    if total is None or offset + limit < total:  # None: too many to count, so more follow
        links.append(link(f"{root}/jobs?{urlencode({'limit': limit, 'offset': offset + limit})}",
                          "next"))
    # A deleted (dismissed) job is gone for openEO; the page may be the shorter for it.
    shown = [_summary(job) for job in jobs if not deleted(job)]
    return json_response({"jobs": shown, "links": links})


def create_job(workspace: str, body: Any = None) -> Response:
    root = root_url(workspace)
    ades = services()
    definition = _definition(body)
    run = plan(body, workspace, ades.processes)
    request_doc: dict[str, Any] = {"inputs": run.inputs, "title": definition.get("title")}
    if run.outputs is not None:
        request_doc["outputs"] = run.outputs
    job = ades.jobs.create(
        workspace,
        request_doc,
        links_root=_ogc_root(workspace),
        process=run.process,
        openeo={**definition, "process": body["process"]},
        cache=definition["cache"],
    )
    url = f"{root}/jobs/{job.id}"
    response = Response(status=201, headers={"Location": url, "OpenEO-Identifier": job.id})
    del response.headers["Content-Type"]
    return response


def describe_job(workspace: str, job_id: str) -> Response:
    root = root_url(workspace)
    job = _job(workspace, job_id)
    doc = _summary(job)
    doc["process"] = process_of(job)
    if _openeo(job).get("log_level") is not None:
        doc["log_level"] = _openeo(job)["log_level"]
    doc["links"] = [
        link(f"{root}/jobs/{job.id}", "self"),
        link(f"{_ogc_root(workspace)}/jobs/{job.id}", "alternate",
             "The same job under OGC API - Processes"),
    ]
    if job.status is JobStatus.SUCCESSFUL:
        doc["links"].append(link(f"{root}/jobs/{job.id}/results", "results", "Batch job results"))
    return json_response(doc)


def update_job(workspace: str, job_id: str, body: Any = None) -> Response:
    root_url(workspace)
    ades = services()
    job = _job(workspace, job_id)
    if job.status in ACTIVE:  # before its new graph is looked at
        raise Locked(job.id, STATUS[job.status], "changed")
    changes = _definition(body, partial=True)
    openeo = {**_openeo(job), **changes}
    update: dict[str, Any] = {}
    if "title" in changes:
        update["title"] = changes["title"]
    process = None
    if "process" in body:
        run = plan(body, workspace, ades.processes)
        process = run.process
        update["inputs"] = run.inputs
        update["outputs"] = run.outputs
        openeo["process"] = body["process"]
    ades.jobs.update(workspace, job.id, update, process=process, openeo=openeo)
    return no_content()


def delete_job(workspace: str, job_id: str) -> Response:
    root_url(workspace)
    services().jobs.dismiss(workspace, _job(workspace, job_id).id)
    return no_content()


def start_job(workspace: str, job_id: str) -> Response:
    root_url(workspace)
    job = _job(workspace, job_id)
    # "cache": false in the job (as created, or PATCHed since): no run reuses results.
    services().jobs.start(workspace, job.id, cache=_openeo(job).get("cache") is not False)
    response = Response(status=202)
    del response.headers["Content-Type"]
    return response


def stop_job(workspace: str, job_id: str) -> Response:
    root_url(workspace)
    services().jobs.stop(workspace, _job(workspace, job_id).id)
    return no_content()


def job_logs(
    workspace: str,
    job_id: str,
    offset: str | None = None,
    level: str | None = None,
    limit: int = 1000,
) -> Response:
    root = root_url(workspace)
    job = _job(workspace, job_id)
    # The job's own log_level is the least it shows, as openEO says.
    kept = _openeo(job).get("log_level") or "debug"
    level = max(level or "debug", kept, key=LOG_LEVELS.index)
    entries, more = services().jobs.logs(workspace, job.id, offset, level, limit)
    logs = [
        {
            "id": str(entry.id),
            "level": entry.level.label,
            "message": entry.message,
            "time": _time(entry.time),
        }
        for entry in entries
    ]
    links = []
    if more:
        params: dict[str, Any] = {"level": level, "limit": limit}
        last = str(entries[-1].id) if entries else offset
        if last:
            params["offset"] = last
        links.append(link(f"{root}/jobs/{job.id}/logs?{urlencode(params)}", "next",
                          "Later log entries"))
    return json_response({"level": level, "logs": logs, "links": links})


def estimate_job(workspace: str, job_id: str) -> Response:
    root_url(workspace)
    found = services().jobs.estimate(workspace, _job(workspace, job_id).id)
    doc: dict[str, Any] = {"duration": found.duration}
    if found.size is not None:
        doc["size"] = found.size
    return json_response(doc)


def deleted(job: Job) -> bool:
    """Whether the job was dismissed (DELETE /jobs/{id}, or OGC's dismiss) rather than
    stopped: openEO no longer knows it."""
    return job.status is JobStatus.DISMISSED and job.message == DISMISSED_MESSAGE


def process_of(job: Job) -> dict[str, Any]:
    """The job's openEO process: its graph as created (or last changed) through openEO, else
    one node running its process with its inputs."""
    kept = _openeo(job).get("process")
    if isinstance(kept, dict):
        return kept
    node = {
        "process_id": job.process_id,
        "namespace": job.workspace,
        "arguments": job.request.get("inputs") or {},
        "result": True,
    }
    return {"process_graph": {_node_id(job.process_id): node}}


def _node_id(process_id: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in process_id) + "1"


def _summary(job: Job) -> dict[str, Any]:
    openeo = _openeo(job)
    doc: dict[str, Any] = {
        "id": job.id,
        "title": job.title,
        "description": openeo.get("description"),
        "status": STATUS[job.status],
        "progress": job.progress,
        "created": _time(job.created),
        "updated": _time(job.updated),
    }
    for member in ("plan", "budget"):
        if openeo.get(member) is not None:
            doc[member] = openeo[member]
    return doc


def _job(workspace: str, job_id: str) -> Job:
    job = services().jobs.get(workspace, job_id)
    if deleted(job):
        raise NoSuchJob(job_id, workspace)
    return job


def _openeo(job: Job) -> dict[str, Any]:
    kept = job.request.get(OPENEO)
    return kept if isinstance(kept, dict) else {}


def _definition(body: Any, partial: bool = False) -> dict[str, Any]:
    """The members of an openEO job definition besides ``process``; ``cache`` defaults to
    true when the job is created."""
    if not isinstance(body, dict):
        raise ProcessGraphMissing("the request body is not an object with a 'process'")
    out = {member: body[member] for member in _MEMBERS if member in body}
    if not partial:
        out["cache"] = out.get("cache") is not False
    return out


def _ogc_root(workspace: str) -> str:
    return f"{request.host_url.rstrip('/')}/{workspace}/ogc-api"


def _time(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
