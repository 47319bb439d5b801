"""openEO's capabilities document, version discovery, conformance and the credential
endpoints openEO clients call before anything else."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from connexion import context
from flask import Response, current_app, request

from ades.api.context import json_response, services
from ades.api.spec import OPENEO_ROOT

API_VERSION = "1.2.0"
CONFORMANCE = [
    "https://api.openeo.org/1.2.0",
    "https://api.stacspec.org/v1.0.0/core",
]
_METHODS = ("get", "post", "patch", "put", "delete")


def backend_version() -> str:
    try:
        return version("ades")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def root_url(workspace: str) -> str:
    """``https://host/{workspace}/openeo/1.2`` of this host, for an existing workspace."""
    services().workspaces.check(workspace)
    return f"{request.host_url.rstrip('/')}/{workspace}/{OPENEO_ROOT}"


def endpoints() -> list[dict[str, Any]]:
    """Every path of the openEO contract with its methods, as the server serves them."""
    spec = current_app.extensions["ades.openeo"]
    return [
        {"path": path, "methods": [m.upper() for m in _METHODS if m in item]}
        for path, item in spec["paths"].items()
    ]


def capabilities(workspace: str) -> Response:
    root = root_url(workspace)
    return json_response(
        {
            "api_version": API_VERSION,
            "backend_version": backend_version(),
            "stac_version": "1.0.0",
            "type": "Catalog",
            "id": f"ades-{workspace}",
            "title": f"ADES workspace '{workspace}' (openEO)",
            "description": "The workspace's deployed CWL application packages as openEO "
            "processes; batch job results are STAC on S3.",
            "production": False,
            "endpoints": endpoints(),
            "links": [
                {"rel": "self", "href": f"{root}/", "type": "application/json"},
                {
                    "rel": "version-history",
                    "href": f"{root.rsplit('/', 1)[0]}/.well-known/openeo",
                    "type": "application/json",
                },
                {"rel": "conformance", "href": f"{root}/conformance", "type": "application/json"},
                {
                    "rel": "alternate",
                    "href": f"{request.host_url.rstrip('/')}/{workspace}/ogc-api",
                    "type": "application/json",
                    "title": "The same workspace as OGC API - Processes",
                },
            ],
        }
    )


def well_known(workspace: str) -> Response:
    root = root_url(workspace)
    return json_response(
        {"versions": [{"url": f"{root}/", "api_version": API_VERSION, "production": False}]}
    )


def conformance(workspace: str) -> Response:
    root_url(workspace)
    return json_response({"conformsTo": CONFORMANCE})


def credentials_basic(workspace: str) -> Response:
    """The API token given as password, back as the access token openEO clients send as
    ``basic//<token>``; without authentication (ADES_AUTH=none) any token does."""
    root_url(workspace)
    info = context.context.get("token_info") or {}
    return json_response({"access_token": info.get("token") or "none"})


def credentials_oidc(workspace: str) -> Response:
    root_url(workspace)
    settings = services().settings
    providers = []
    if settings.auth_mode == "oidc":
        providers.append(
            {
                "id": "ades",
                "issuer": settings.oidc_issuer,
                "title": "The server's OpenID Connect issuer",
                "scopes": ["openid"],
            }
        )
    return json_response({"providers": providers})
