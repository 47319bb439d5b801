"""Processes of a workspace: the list and descriptions (Part 1), and deploying, replacing
and undeploying application packages (Part 2)."""

from __future__ import annotations

import json

from flask import Response, request

from ades.api.context import (
    json_response,
    no_content,
    page_links,
    services,
    workspace_urls,
)
from ades.api.views import deployed_process, link, process_description, process_summary
from ades.packages.source import cwl_media_type

PART2 = "http://www.opengis.net/spec/ogcapi-processes-2/1.0/conf/"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/ogc-process-description",
    PART2 + "deploy-replace-undeploy",
    PART2 + "ogcapppkg",
    PART2 + "cwl",
]
APP_PACKAGE = "application/ogcapppkg+json"


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


def deploy_process(workspace: str, root: str, w: str | None = None, **_: object) -> Response:
    urls = workspace_urls(workspace, root)
    deployment = services().processes.deploy(workspace, *_body(), workflow_id=w)
    location = urls.process(deployment.process.id)
    return json_response(deployed_process(deployment, urls), 201, {"Location": location})


def replace_process(
    workspace: str,
    root: str,
    processId: str,  # noqa: N803
    w: str | None = None,
    **_: object,
) -> Response:
    workspace_urls(workspace, root)
    services().processes.replace(workspace, processId, *_body(), workflow_id=w)
    return no_content()


def undeploy_process(workspace: str, root: str, processId: str) -> Response:  # noqa: N803
    workspace_urls(workspace, root)
    services().processes.undeploy(workspace, processId)
    return no_content()


def get_package(workspace: str, root: str, processId: str) -> Response:  # noqa: N803
    workspace_urls(workspace, root)
    process = services().processes.get(workspace, processId)
    media_type = cwl_media_type(process.package)
    if request.accept_mimetypes.best_match([media_type, APP_PACKAGE]) == APP_PACKAGE:
        unit = {"value": process.package, "mediaType": media_type}
        return Response(json.dumps({"executionUnit": unit}), 200, mimetype=APP_PACKAGE)
    return Response(process.package, 200, mimetype=media_type)


def _body() -> tuple[str, bytes]:
    """The request's media type and its body as sent: the package reader parses it."""
    return request.content_type or "application/json", request.get_data()
