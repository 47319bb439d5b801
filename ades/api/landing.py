"""The server's root document, and the landing page, conformance declaration and API
definition of a workspace root."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request

from ades.api import job_management, jobs, processes
from ades.api.context import json_response, services, workspace_urls
from ades.api.security import principal
from ades.api.spec import OPENEO_ROOT, ROOTS, root_spec
from ades.api.views import REL_CONFORMANCE, REL_JOB_LIST, REL_PROCESSES, link

CONF = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"
CONFORMANCE = [CONF + "core", CONF + "json", CONF + "oas30"]
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
ROOT_TITLES = {
    "ogc-api": "OGC API - Processes",
    "wps3": "EOEPCA ADES (wps3)",
    OPENEO_ROOT: "openEO API 1.2",
}


def root_document() -> Response:
    """``GET /``: where a newcomer (or a client given only the host) finds the workspaces:
    those the caller may use."""
    base = request.host_url.rstrip("/")
    workspaces = [
        {
            "id": ws,
            "links": [
                link(f"{base}/{ws}/{root}", "service", f"{ROOT_TITLES[root]} of workspace '{ws}'")
                for root in (*ROOTS, OPENEO_ROOT)
            ],
        }
        for ws in principal().visible(services().workspaces.names())
    ]
    return json_response(
        {
            "title": "ADES workspace server",
            "description": "Each workspace is served under three roots: ogc-api (OGC API - "
            "Processes), wps3 (EOEPCA ADES) and openeo/1.2 (openEO API 1.2).",
            "workspaces": workspaces,
            "links": [
                link(f"{base}/", "self", "This document"),
                link(f"{base}/ui/", "service-doc", "The API documentation", "text/html"),
            ],
        }
    )


def landing_page(workspace: str, root: str) -> Response:
    urls = workspace_urls(workspace, root)
    return json_response(
        {
            "title": f"ADES workspace '{workspace}'",
            "description": "OGC API - Processes over CWL application packages; "
            "results are STAC catalogs on S3.",
            "links": [
                link(urls(), "self", "This document"),
                link(urls("api"), "service-desc", "The API definition", OPENAPI),
                link(f"{request.host_url}ui/", "service-doc", "The API documentation", "text/html"),
                link(urls("conformance"), "conformance", "Conformance classes"),
                link(urls("conformance"), REL_CONFORMANCE, "Conformance classes"),
                link(urls("processes"), REL_PROCESSES, "Processes"),
                link(urls("jobs"), REL_JOB_LIST, "Jobs"),
            ],
        }
    )


def conformance(workspace: str, root: str) -> Response:
    workspace_urls(workspace, root)
    claimed = CONFORMANCE + processes.CONFORMANCE + jobs.CONFORMANCE + job_management.CONFORMANCE
    return json_response({"conformsTo": claimed})


def api_definition(workspace: str, root: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    """The contract of this root: openapi/ades.yaml with its server made absolute."""
    urls = workspace_urls(workspace, root)
    spec = root_spec(current_app.extensions["ades.openapi"])
    spec["servers"] = [{"url": urls()}]
    return spec, 200, {"Content-Type": OPENAPI}
