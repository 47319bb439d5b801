"""Process list and process descriptions of a workspace."""

from __future__ import annotations

from flask import Response

from ades.api.context import json_response, page_links, services, workspace_urls
from ades.api.views import link, process_description, process_summary

CONFORMANCE = ["http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/ogc-process-description"]


def list_processes(workspace: str, root: str, limit: int = 100, offset: int = 0) -> Response:
    urls = workspace_urls(workspace, root)
    everything = services().processes.list(workspace)
    page = everything[offset : offset + limit]
    hrefs = page_links(urls("processes"), offset, limit, len(everything))
    return json_response(
        {
            "processes": [process_summary(p, urls) for p in page],
            "links": [link(href, rel) for rel, href in hrefs.items()],
        }
    )


def describe_process(workspace: str, root: str, processId: str) -> Response:  # noqa: N803
    urls = workspace_urls(workspace, root)
    return json_response(process_description(services().processes.get(workspace, processId), urls))
