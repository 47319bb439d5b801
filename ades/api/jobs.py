"""Execute a process, and the jobs it makes: list, status, results, dismiss."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Response, request

from ades.api.context import json_response, page_links, services, workspace_urls
from ades.api.negotiation import check_acceptable, raw_body
from ades.api.views import (
    GEOJSON,
    Download,
    Urls,
    job_list,
    ogc_results,
    ogc_value,
    qualified_features,
    requested_results,
    status_info,
    wps3_results,
)
from ades.errors import InvalidRequest, NoSuchFile, NoSuchOutput, NoSuchProcess
from ades.jobs.service import results_prefix
from ades.model import Job, JobQuery, JobStatus, Process
from ades.staging.downloads import JobFiles
from ades.staging.provenance import provenance_link
from ades.staging.stac_results import ResultUrls, stored_records
from ades.staging.stage_out import DIRECTORY

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
    if not asynchronous and _answers_raw(urls, request_doc):
        check_acceptable(process, request_doc, request.headers.get("Accept"))
    job = ades.jobs.submit(
        workspace, process.id, request_doc, links_root=urls(), cache=reuses_results()
    )
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


def reuses_results() -> bool:
    """False when the request says ``Cache-Control: no-cache``: the job must run, not take
    an identical earlier job's results (RFC 9111: a stored answer must not be used
    without checking it anew)."""
    directives = request.headers.get("Cache-Control", "").lower().split(",")
    return "no-cache" not in {d.split("=", 1)[0].strip() for d in directives}


# The EOEPCA paths of the same operation, POST /processes/{id}/jobs and POST /processes/{id}
# (one operationId per path).
create_job = execute
execute_at_process = execute


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
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:  # 9999-12-31T23:59-01:00 is past the last year Python counts
        raise InvalidRequest(
            f"parameter 'datetime': '{part}' in '{text}' is out of the range of dates"
        ) from None


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
    """The results document; with ``Accept: application/geo+json``, the STAC Collection of
    every result asset (openEO's content negotiation)."""
    urls = workspace_urls(workspace, root)
    ades = services()
    job = ades.jobs.results(workspace, jobId)
    headers = _provenance_header(urls, job)
    if request.accept_mimetypes.best_match(["application/json", GEOJSON]) == GEOJSON:
        doc = ades.stac_results.collection(job, _files(urls, job), _result_urls(urls, job))
        return json_response(doc, mimetype=GEOJSON, headers=headers)
    if urls.flavour == "wps3":
        return json_response(wps3_results(job), headers=headers)
    return json_response(_results_document(urls, job), headers=headers)


def get_result(
    workspace: str,
    root: str,
    jobId: str,  # noqa: N803
    outputId: str,  # noqa: N803
    path: str | None = None,
) -> Response:
    """One output: a STAC catalog output as its catalog (``path`` walks to its items) with
    downloadable assets; a plain directory as the list of its files; a file as a redirect to
    its download URL; a literal as itself."""
    urls = workspace_urls(workspace, root)
    ades = services()
    job = ades.jobs.results(workspace, jobId)
    record = _output_record(job, outputId)
    if isinstance(record, dict) and record.get("stac"):
        doc = ades.stac_results.output_document(
            job, outputId, record, path, _result_urls(urls, job), _files(urls, job)
        )
        return json_response(doc)
    if path:
        # One directory of an output holding several (an array, a record).
        for inner in stored_records(record):
            if inner.get("type") == DIRECTORY and _inner_path(job, outputId, inner) == path:
                return json_response(ades.stac_results.directory(inner, _files(urls, job)))
        raise InvalidRequest(f"output '{outputId}' has no directory or STAC document '{path}'")
    if isinstance(record, dict) and record.get("type") == DIRECTORY:
        return json_response(ades.stac_results.directory(record, _files(urls, job)))
    value = ogc_value(outputId, record, _download(urls, job))
    if isinstance(record, dict) and "href" in record:
        return Response(status=303, headers={"Location": value["href"]})
    body, media_type = raw_body({outputId: value}, request.headers.get("Accept"), f"ades-{job.id}")
    return Response(body, 200, content_type=media_type)


def _output_record(job: Job, output_id: str) -> Any:
    """The stored value of one output of a successful job; NoSuchOutput when it has none."""
    record = job.results.get(output_id)
    if record is None or record == {"value": None}:
        raise NoSuchOutput(output_id, job.id)
    return record


def get_result_collection(
    workspace: str,
    root: str,
    jobId: str,  # noqa: N803
    outputId: str,  # noqa: N803
) -> Response:
    """A STAC catalog output as a STAC Collection linking each of its items."""
    urls = workspace_urls(workspace, root)
    ades = services()
    job = ades.jobs.results(workspace, jobId)
    record = _output_record(job, outputId)
    if not (isinstance(record, dict) and record.get("stac")):
        raise InvalidRequest(
            f"output '{outputId}' of job '{job.id}' is not a STAC catalog: only a catalog "
            "output has a STAC Collection of its items"
        )
    doc = ades.stac_results.output_collection(
        job, outputId, record, _result_urls(urls, job), _files(urls, job)
    )
    return json_response(doc)


def download(
    workspace: str,
    root: str,
    jobId: str,  # noqa: N803
    path: str,
    expires: int | None = None,
) -> Response:
    """One result file of a successful job, by its path under the job: a redirect to a URL
    of the object made now, or the object streamed (with ``Range`` honoured). Only the
    job's own objects are reachable. ``expires`` belongs to a signed link, which the
    security layer checked already."""
    urls = workspace_urls(workspace, root)
    ades = services()
    job = ades.jobs.results(workspace, jobId)
    key = _files(urls, job).key(path)
    if key is None:
        raise NoSuchFile(path, job.id)
    if not ades.links.stream:
        if not ades.objects.exists(key):
            raise NoSuchFile(path, job.id)
        return Response(status=302, headers={"Location": ades.links.direct(key)})
    try:
        stream = ades.objects.open(key, request.headers.get("Range"))
    except KeyError:
        raise NoSuchFile(path, job.id) from None
    headers = {"Content-Length": str(stream.length), "Accept-Ranges": "bytes"}
    if stream.content_range:
        headers["Content-Range"] = stream.content_range
    return Response(
        stream.chunks,
        206 if stream.content_range else 200,
        headers=headers,
        content_type=stream.content_type or "application/octet-stream",
        direct_passthrough=True,
    )


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
    if not _answers_raw(urls, request_doc):
        return json_response(_results_document(urls, job))
    results = ogc_results(job, _download(urls, job))
    body, media_type = raw_body(results, request.headers.get("Accept"), f"ades-{job.id}")
    return Response(body, 200, content_type=media_type)


def _results_document(urls: Urls, job: Job) -> dict[str, Any]:
    """The OGC results document of ``job``; a process with ``ades:StacResults: {form:
    feature-collection}`` has each STAC catalog output shown as a qualified value: its items
    as a GeoJSON FeatureCollection, each linking to the output's STAC Collection. Its
    members are the outputs and nothing else: OGC clients read every member as one
    (ogc-api-processes-client 0.6 refuses the whole document when one is a list of links),
    so the provenance is linked in the ``Link`` header of ``get_results`` instead."""
    results = ogc_results(job, _download(urls, job))
    if _stac_results_form(job) != "feature-collection":
        return results
    stac = services().stac_results
    for output_id, record in requested_results(job).items():
        if isinstance(record, dict) and record.get("stac"):
            features = stac.output_features(
                job, output_id, record, _result_urls(urls, job), _files(urls, job)
            )
            results[output_id] = qualified_features(features)
    return results


def _stac_results_form(job: Job) -> str:
    """How the job's process shows STAC outputs now; ``link`` once it is undeployed."""
    try:
        return services().processes.get(job.workspace, job.process_id).stac_results
    except NoSuchProcess:
        return "link"


def _answers_raw(urls: Urls, request_doc: dict[str, Any]) -> bool:
    """OGC API - Processes 1.0: a synchronous answer is `raw` unless the request asks for
    the results document; the EOEPCA root always answers with its outputs document."""
    return urls.flavour != "wps3" and request_doc.get("response") != "document"


def _provenance_link(urls: Urls, job: Job) -> dict[str, Any] | None:
    """The link to the job's provenance (the RO-Crate zip of its run) through the download
    route; None for a job that has none."""
    if not job.provenance:
        return None
    href = services().links.href(job.provenance["href"], _files(urls, job))
    return provenance_link(href)


def _provenance_header(urls: Urls, job: Job) -> dict[str, str]:
    """The provenance link as an HTTP ``Link`` header (RFC 8288) of ``…/results``, in every
    shape: the OGC and EOEPCA documents have no place for links in their body. Not on a
    synchronous execute's answer, whose Link headers OGC gives to outputs by reference."""
    link = _provenance_link(urls, job)
    if link is None:
        return {}
    return {"Link": f'<{link["href"]}>; rel="provenance"; type="{link["type"]}"'}


def _result_urls(urls: Urls, job: Job) -> ResultUrls:
    return ResultUrls(urls("jobs", job.id, "results"))


def _files(urls: Urls, job: Job) -> JobFiles:
    return JobFiles(results_prefix(job), urls("jobs", job.id, "download"), services().links.signer)


def _download(urls: Urls, job: Job) -> Download:
    """Result hrefs people can open: a STAC catalog output is linked to its walkable API
    form, a plain directory to its listing, a file to the job's download route."""
    result_urls = _result_urls(urls, job)
    files = _files(urls, job)
    links = services().links

    def href(output_id: str, record: dict[str, Any]) -> str:
        if record.get("stac") or record.get("type") == DIRECTORY:
            if job.results.get(output_id) is record:
                return result_urls.output(output_id)
            # One directory among several of the output: named by its folder.
            return result_urls.output(output_id, _inner_path(job, output_id, record))
        return links.href(record["href"], files)

    return href


def _inner_path(job: Job, output_id: str, record: dict[str, Any]) -> str:
    """The folder of a directory inside an output, relative to the output's folder."""
    key = services().links.key_of(record["href"]) or ""
    return key.removeprefix(f"{results_prefix(job)}/{output_id}/").rstrip("/")
