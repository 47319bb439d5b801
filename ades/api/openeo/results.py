"""openEO results: a batch job's results as one STAC Item whose assets are its files, and
synchronous processing (``POST /result``): a process graph run as a job of the workspace,
answered with its file, or with a tar of its files and their STAC metadata.

The files are linked as the OGC roots link them (``JobFiles``, the job's download route,
signed when authentication is on), so both APIs hand out the same links."""

from __future__ import annotations

import dataclasses
import json
import posixpath
import time
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Response, request, send_file

from ades.api.context import json_response, services, workspace_urls
from ades.api.openeo.capabilities import root_url
from ades.api.openeo.views import STATUS, link
from ades.api.views import requested_results
from ades.errors import JobFailed, JobFailedLogged, RunFailed, RunTimedOut
from ades.jobs.service import results_prefix
from ades.model import Job, JobStatus
from ades.processgraphs import plan
from ades.staging.archives import TAR, tar_of
from ades.staging.downloads import JobFiles
from ades.staging.provenance import provenance_link
from ades.staging.stac_results import ResultFiles, item_times, union

JSON = "application/json"
GEOJSON = "application/geo+json"
FILE_EXTENSION = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
# The STAC Item of the job inside a tar of its files: the name the openEO client gives the
# same document when it downloads a batch job's results.
METADATA = "job-results.json"
# Pages in which a failed job's error log is read back to its last entry.
_LOG_PAGE = 500


def job_results(workspace: str, job_id: str, expires: int | None = None) -> Response:
    """The results of a finished job as a STAC Item. ``expires`` belongs to a signed link
    (the ``canonical`` one), which the security layer checked already."""
    root = root_url(workspace)
    ades = services()
    job = ades.jobs.get(workspace, job_id)
    if job.status is JobStatus.FAILED:
        category = (job.failure or {}).get("category")
        raise JobFailedLogged(job.id, _last_error(workspace, job), category)
    # JobNotFinished while it is created, queued or running; a dismissed job is not found.
    job = ades.jobs.results(workspace, job_id)
    now = time.time()
    found = _requested_files(job)
    doc = results_item(job, found)
    url = f"{root}/jobs/{job.id}/results"
    doc["links"] = [
        link(url, "self", "The results of the job", GEOJSON),
        link(_signed(url, now), "canonical", "These results, without credentials", GEOJSON),
    ]
    if job.provenance:  # the run's RO-Crate, through the job's download route
        href = ades.links.href(job.provenance["href"], _job_files(workspace, job))
        doc["links"].append(provenance_link(href))
    signer = ades.links.signer
    if signer is not None:
        # The links were signed from ``now`` on: none expires before this.
        until = datetime.fromtimestamp(int(now) + signer.expires, UTC)
        doc["properties"]["expires"] = _iso(until)
    geojson = request.accept_mimetypes.best_match([JSON, GEOJSON]) == GEOJSON
    return json_response(doc, mimetype=GEOJSON if geojson else JSON)


def process_sync(workspace: str, body: dict[str, Any]) -> Response:
    """Run the process graph as a job, wait for its end, answer what it made: its one file
    in that file's media type, a tar of its files (with the job's STAC Item as
    ``job-results.json`` and the STAC catalogs it wrote) when there are several, or its
    literal values as JSON when it wrote none. ``OpenEO-Identifier`` names the job."""
    root = root_url(workspace)
    ades = services()
    run = plan(body, workspace, ades.processes)
    execute: dict[str, Any] = {"inputs": run.inputs}
    if run.outputs is not None:
        execute["outputs"] = run.outputs
    # openEO's "cache": false (as in a batch job) runs the graph even when its results could
    # be reused.
    cache = not (isinstance(body, dict) and body.get("cache") is False)
    job = ades.jobs.submit(workspace, run.process.id, execute, process=run.process, cache=cache)
    timeout = ades.settings.sync_timeout
    job = ades.jobs.wait(workspace, job.id, timeout)
    if not job.status.finished:
        raise RunTimedOut(job.id, timeout)
    try:
        job = ades.jobs.results(workspace, job.id)
    except JobFailed as err:
        raise RunFailed(job.id, job.message, err.category) from None
    headers = {
        "OpenEO-Identifier": job.id,
        "Link": f'<{root}/jobs/{job.id}/logs>; rel="monitor"',
    }
    found = _requested_files(job)
    if len(found.keys) == 1:
        ((name, key),) = found.keys.items()
        stream = ades.objects.open(key)
        media_type = found.assets[name].get("type") or stream.content_type
        headers["Content-Length"] = str(stream.length)
        return Response(
            stream.chunks,
            200,
            headers=headers,
            content_type=media_type or "application/octet-stream",
            direct_passthrough=True,
        )
    if found.keys:
        archive = tar_of(ades.objects, _members(job, found), _metadata(job, found))
        response = send_file(archive, mimetype=TAR, download_name=f"{job.id}.tar")
        response.headers.update(headers)
        return response
    values = {oid: _value(value) for oid, value in requested_results(job).items()}
    only = next(iter(values.values())) if len(values) == 1 else values
    return json_response(only, headers=headers)


def _requested_files(job: Job) -> ResultFiles:
    """The files of the outputs the job's request asked for (a save_result format picks
    some), not every output the process wrote."""
    asked = dataclasses.replace(job, results=requested_results(job))
    return services().stac_results.files(asked, _job_files(job.workspace, job))


def results_item(
    job: Job, found: ResultFiles, hrefs: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The openEO results of a successful job: a STAC Item with one asset per result file
    (keyed by its file name; by its path under the job where names repeat), with its
    media type, roles, title and size; where and when of the job's STAC items, when it
    wrote any. ``hrefs`` replace the download links of the files they name."""
    properties: dict[str, Any] = {
        "title": job.title or f"Results of job {job.id}",
        "description": f"Results of process '{job.process_id}' in workspace "
        f"'{job.workspace}'",
        "created": _iso(job.created),
        "updated": _iso(job.updated),
        "openeo:status": STATUS[job.status],
    }
    times = sorted({t for item in found.items for t in item_times(item)})
    if len(times) > 1:
        properties["datetime"] = None
        properties["start_datetime"] = _iso(times[0])
        properties["end_datetime"] = _iso(times[-1])
    else:
        when = times[0] if times else job.finished or job.updated
        properties["datetime"] = _iso(when)
    assets = {}
    for name, key in _asset_keys(list(found.assets)).items():
        asset = dict(found.assets[name])
        if hrefs and name in hrefs:
            asset["href"] = hrefs[name]
        if name in found.sizes:
            asset["file:size"] = found.sizes[name]
        assets[key] = asset
    geometry, bbox = _footprint(found)
    doc: dict[str, Any] = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [FILE_EXTENSION],
        "id": job.id,
        "geometry": geometry,
    }
    if bbox is not None:
        doc["bbox"] = bbox
    doc.update(properties=properties, assets=assets, links=[])
    return doc


def _footprint(found: ResultFiles) -> tuple[dict[str, Any] | None, list[float] | None]:
    """The geometry and bbox of the job's STAC items: the one item's own, or the box around
    all of them; (None, None) when no item has a geometry."""
    located = [item for item in found.items if item.geometry]
    if not located:
        return None, None
    if len(located) == 1:
        return located[0].geometry, located[0].bbox
    west, south, east, north = union([item.bbox for item in located if item.bbox])
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}, [west, south, east, north]


def _asset_keys(names: list[str]) -> dict[str, str]:
    """Asset name (the path under the job) → openEO asset key: the file name, which clients
    download the file as, unless two files share it; then the path, '/' made '-'."""
    basenames = Counter(posixpath.basename(name) for name in names)
    return {
        name: posixpath.basename(name)
        if basenames[posixpath.basename(name)] == 1
        else name.replace("/", "-")
        for name in names
    }


def _members(job: Job, found: ResultFiles) -> dict[str, str]:
    """Path in the tar → key: every file of the job, and every object of the STAC catalogs
    it wrote (so their relative links hold in the archive)."""
    prefix = results_prefix(job) + "/"
    members = dict(found.keys)
    objects = services().objects
    for catalog_key in found.catalogs.values():
        folder = posixpath.dirname(catalog_key)
        for key in objects.list_keys(folder + "/"):
            if key.startswith(prefix) and not key.endswith("/"):
                members[key[len(prefix) :]] = key
    return members


def _metadata(job: Job, found: ResultFiles) -> dict[str, bytes]:
    """The job's STAC Item for its tar: each file linked by its path in the archive."""
    doc = results_item(job, found, hrefs={name: f"./{name}" for name in found.keys})
    return {METADATA: json.dumps(doc, indent=2).encode()}


def _value(value: Any) -> Any:
    """A literal output as JSON: its value (of each item of an array, each field of a
    record)."""
    if isinstance(value, list):
        return [_value(v) for v in value]
    if isinstance(value, dict) and "record" in value:
        return {k: _value(v) for k, v in value["record"].items()}
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return None


def _job_files(workspace: str, job: Job) -> JobFiles:
    """The job's files as the OGC roots link them: its download route, signed when
    authentication is on."""
    route = workspace_urls(workspace, "ogc-api")("jobs", job.id, "download")
    return JobFiles(results_prefix(job), route, services().links.signer)


def _signed(url: str, now: float) -> str:
    """``url`` opening by GET without credentials until the links signed at ``now``
    expire; as it is when the server needs no credentials."""
    signer = services().links.signer
    if signer is None:
        return url
    return f"{url}?{signer.query(unquote(urlsplit(url).path), now)}"


def _last_error(workspace: str, job: Job) -> str:
    """The last error entry of a failed job's log; its status message if it has none."""
    last, offset = None, None
    while True:
        entries, more = services().jobs.logs(workspace, job.id, offset, "error", _LOG_PAGE)
        if entries:
            last, offset = entries[-1], str(entries[-1].id)
        if not more or not entries:
            return last.message if last else f"job '{job.id}' failed: {job.message}"


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")
