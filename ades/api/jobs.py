"""Execute a process, and the jobs it makes: list, status, results, dismiss."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Response, request

from ades.api.context import json_response, page_links, services, workspace_urls
from ades.api.views import Urls, job_list, ogc_results, raw_results, status_info, wps3_results
from ades.errors import InvalidRequest
from ades.model import Job, JobQuery, JobStatus, Process

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/job-list",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/dismiss",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/callback",
]


def execute(workspace: str, root: str, processId: str, body: Any = None) -> Response:  # noqa: N803
    urls = workspace_urls(workspace, root)
    if body is not None and not isinstance(body, dict):
        raise InvalidRequest("the execute request must be a JSON object")
    request_doc = body or {}
    ades = services()
    process = ades.processes.get(workspace, processId)
    asynchronous, wait = _execution_mode(process, request_doc)
    job = ades.jobs.submit(workspace, process.id, request_doc, links_root=urls())
    applied = []
    if asynchronous:
        applied.append("respond-async")
    else:
        timeout = min(wait, ades.settings.sync_timeout) if wait else ades.settings.sync_timeout
        if wait:
            applied.append(f"wait={wait:g}")
        job = ades.jobs.wait(workspace, job.id, timeout)
        if job.status.finished:
            response = _sync_results(workspace, job, urls, request_doc)
            if applied:
                response.headers["Preference-Applied"] = ", ".join(applied)
            return response
    # Async, or a synchronous run that outlasted its wait: answer with the job.
    headers = {"Location": urls.job(job.id)}
    if applied:
        headers["Preference-Applied"] = ", ".join(applied)
    return json_response(status_info(job, urls), 201, headers)


# POST /processes/{id}/jobs, the EOEPCA path of the same operation (one operationId per path).
create_job = execute


def list_jobs(
    workspace: str,
    root: str,
    limit: int = 100,
    offset: int = 0,
    processID: list[str] | None = None,  # noqa: N803
    status: list[str] | None = None,
    datetime: str | None = None,
    minDuration: float | None = None,  # noqa: N803
    maxDuration: float | None = None,  # noqa: N803
) -> Response:
    urls = workspace_urls(workspace, root)
    created_from, created_to = parse_interval(datetime) if datetime else (None, None)
    query = JobQuery(
        process_ids=tuple(processID or ()),
        statuses=tuple(JobStatus(s) for s in status or ()),
        created_from=created_from,
        created_to=created_to,
        min_duration=minDuration,
        max_duration=maxDuration,
    )
    params = [("processID", p) for p in query.process_ids]
    params += [("status", s.value) for s in query.statuses]
    params += [(name, str(value)) for name, value in (
        ("datetime", datetime), ("minDuration", minDuration), ("maxDuration", maxDuration)
    ) if value is not None]  # fmt: skip
    jobs, total = services().jobs.list(workspace, limit, offset, query)
    return json_response(
        job_list(jobs, total, urls, page_links(urls("jobs"), offset, limit, total, params))
    )


def parse_interval(text: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The ``datetime`` parameter: an RFC 3339 instant, or ``start/end`` with ``..`` (or
    nothing) for an open end; as UTC bounds."""
    parts = text.split("/")
    if len(parts) > 2:
        raise InvalidRequest(f"parameter 'datetime': '{text}' is not an instant or interval")
    bounds = [_instant(part, text) for part in parts]
    if len(bounds) == 1:
        return bounds[0], bounds[0]
    if bounds[0] and bounds[1] and bounds[0] > bounds[1]:
        raise InvalidRequest(f"parameter 'datetime': '{text}' ends before it starts")
    return bounds[0], bounds[1]


def _instant(part: str, text: str) -> dt.datetime | None:
    if part in ("", ".."):
        return None
    try:
        value = dt.datetime.fromisoformat(part)
    except ValueError:
        raise InvalidRequest(
            f"parameter 'datetime': '{part}' in '{text}' is not an RFC 3339 date-time"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def get_job(workspace: str, root: str, jobId: str) -> Response:  # noqa: N803
    return status_after(workspace, root, jobId, services().jobs.get)


def dismiss_job(workspace: str, root: str, jobId: str) -> Response:  # noqa: N803
    return status_after(workspace, root, jobId, services().jobs.dismiss)


def status_after(
    workspace: str, root: str, job_id: str, act: Callable[[str, str], Job]
) -> Response:
    """The status document of the job ``act(workspace, job_id)`` returns."""
    urls = workspace_urls(workspace, root)
    return json_response(status_info(act(workspace, job_id), urls))


def get_results(workspace: str, root: str, jobId: str) -> Response:  # noqa: N803
    urls = workspace_urls(workspace, root)
    job = services().jobs.results(workspace, jobId)
    return json_response(wps3_results(job) if urls.flavour == "wps3" else ogc_results(job))


def _execution_mode(process: Process, request_doc: dict[str, Any]) -> tuple[bool, float | None]:
    """(asynchronous?, seconds to wait) from the Prefer header, the request's legacy
    ``mode`` member and what the process allows."""
    prefer = [p.strip() for p in request.headers.get("Prefer", "").split(",") if p.strip()]
    wait = None
    for token in prefer:
        if token.startswith("wait="):
            try:
                wait = float(token.split("=", 1)[1])
            except ValueError as err:
                raise InvalidRequest(f"Prefer header: '{token}' is not wait=<seconds>") from err
    wants_async = "respond-async" in prefer or request_doc.get("mode") == "async"
    if "sync-execute" not in process.job_control:
        return True, None
    if "async-execute" not in process.job_control:
        return False, wait
    return wants_async, wait


def _sync_results(workspace: str, job: Job, urls: Urls, request_doc: dict[str, Any]) -> Response:
    job = services().jobs.results(workspace, job.id)  # raises for failed / dismissed jobs
    if urls.flavour == "wps3":
        return json_response(wps3_results(job))
    # OGC API - Processes 1.0: `raw` unless the request asks for the results document.
    if request_doc.get("response") == "document":
        return json_response(ogc_results(job))
    body, media_type = raw_results(job)
    return Response(body, 200, content_type=media_type)
