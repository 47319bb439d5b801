"""Job management (OGC API - Processes Part 4, openEO batch jobs): create a job without
running it, change it, start it, stop it, read its definition, its logs and an estimate."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Response

from ades.api.context import json_response, no_content, services, workspace_urls
from ades.api.jobs import reuses_results, status_after
from ades.api.views import job_definition, log_entries, status_info
from ades.errors import UnprocessableDefinition

CONFORMANCE = ["http://www.opengis.net/spec/ogcapi-processes-4/1.0/conf/job-management"]


def create(workspace: str, root: str, body: Any = None) -> Response:
    urls = workspace_urls(workspace, root)
    definition = _object(body, "job definition")
    job = services().jobs.create(workspace, definition, links_root=urls(), cache=reuses_results())
    return json_response(status_info(job, urls), 201, {"Location": urls.job(job.id)})


def update(workspace: str, root: str, jobId: str, body: Any = None) -> Response:  # noqa: N803
    workspace_urls(workspace, root)
    services().jobs.update(workspace, jobId, _object(body, "job update"))
    return no_content()


def start(workspace: str, root: str, jobId: str) -> Response:  # noqa: N803
    urls = workspace_urls(workspace, root)
    job = services().jobs.start(workspace, jobId, cache=reuses_results())
    return json_response(status_info(job, urls), 202, {"Location": urls.job(job.id)})


def stop(workspace: str, root: str, jobId: str) -> Response:  # noqa: N803
    return status_after(workspace, root, jobId, services().jobs.stop)


def definition(workspace: str, root: str, jobId: str) -> Response:  # noqa: N803
    urls = workspace_urls(workspace, root)
    return json_response(job_definition(services().jobs.get(workspace, jobId), urls))


def logs(
    workspace: str,
    root: str,
    jobId: str,  # noqa: N803
    offset: str | None = None,
    level: str = "debug",
    limit: int = 1000,
) -> Response:
    urls = workspace_urls(workspace, root)
    entries, more = services().jobs.logs(workspace, jobId, offset, level, limit)
    next_href = None
    if more:
        params = {"level": level, "limit": limit}
        last = str(entries[-1].id) if entries else offset
        if last:
            params["offset"] = last
        next_href = urls("jobs", jobId, "logs") + "?" + urlencode(params)
    return json_response(log_entries(entries, next_href))


def estimate(workspace: str, root: str, jobId: str) -> Response:  # noqa: N803
    workspace_urls(workspace, root)
    found = services().jobs.estimate(workspace, jobId)
    doc: dict[str, Any] = {"duration": found.duration, "basedOn": found.based_on}
    if found.size is not None:
        doc["size"] = found.size
    return json_response(doc)


def _object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise UnprocessableDefinition(f"the {what} must be a JSON object")
    return body
