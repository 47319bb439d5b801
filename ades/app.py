"""create_app(settings): the Connexion app, its middleware and its error table, in front of
the services that ``ades.services.build_services`` wires."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import connexion
from connexion.context import _operation
from connexion.exceptions import ProblemException
from connexion.middleware import MiddlewarePosition
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from werkzeug.exceptions import NotFound

from ades.api import errors as api_errors
from ades.api.job_stream import JobEventStream
from ades.api.request_guards import BodyLimit, NoControlCharacters
from ades.api.security import security_map
from ades.api.spec import (
    OPENEO_ROOT,
    OPENEO_SPEC_PATH,
    ROOTS,
    VALIDATORS,
    load_spec,
    mounted_spec,
    resolver,
    served_spec,
)
from ades.api.status_cache import StatusCache
from ades.errors import AdesError
from ades.objectstore.seaweedfs import EmbeddedSeaweedFS
from ades.services import Services, build_services
from ades.settings import Settings
from ades.web.pages import HtmlPages

log = logging.getLogger(__name__)


class _SeveralBodyTypesAreIntended(logging.Filter):
    """Connexion warns on every request to an operation that takes several media types;
    deploy and replace take five by design (the body is read by its Content-Type)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("this operation accepts multiple content")


logging.getLogger("connexion.operations.openapi3").addFilter(_SeveralBodyTypesAreIntended())


class TrailingSlashServed:
    """Serves a path under a workspace root with a trailing slash as the same path without
    one. Clients that build URLs by joining paths ask for ``/demo/ogc-api/``; Starlette's
    router would answer a 307, which some clients do not follow (or not for a POST)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _UNDER_A_ROOT.match(scope["path"]):
            scope = {**scope, "path": scope["path"].rstrip("/")}
            if scope.get("raw_path"):
                scope["raw_path"] = scope["raw_path"].rstrip(b"/")
        await self.app(scope, receive, send)


# /{workspace}/{root}/ and anything under it that ends with a slash.
_UNDER_A_ROOT = re.compile(
    rf"^/[^/]+/(?:{'|'.join(map(re.escape, (*ROOTS, OPENEO_ROOT)))})(?:/.*)?/$"
)


class JsonByDefault:
    """Reads a POST body sent without Content-Type as JSON: some OGC clients send none."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            headers = scope["headers"]
            if not any(name == b"content-type" for name, _ in headers):
                scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
        await self.app(scope, receive, send)


class OpenEOCors:
    """CORS for the openEO roots, as openEO requires of every back-end (browser clients
    such as the openEO Web Editor call it from another origin): any origin, with
    credentials, exposing the headers openEO clients read. The OGC roots do not answer
    cross-origin requests."""

    EXPOSED = ["Link", "Location", "OpenEO-Costs", "OpenEO-Identifier"]

    def __init__(self, app: ASGIApp):
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origin_regex=".*",
            allow_credentials=True,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=self.EXPOSED,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _OPENEO.match(scope["path"]):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


_OPENEO = re.compile(r"^/[^/]+/openeo(?:/|$)")


@dataclass
class Server:
    """The ASGI app and the services behind it, stopped with ``close``."""

    app: connexion.FlaskApp
    services: Services

    @property
    def embedded_s3(self) -> EmbeddedSeaweedFS | None:
        return self.services.embedded_s3

    def close(self) -> None:
        self.services.close()


def _only_what_connexion_routed() -> None:
    """Flask's router is more lenient than Connexion's (``//demo/ogc-api/processes`` reaches
    a Flask rule): a request Connexion did not route has no operation, and its handler would
    fail outside one. It is a 404, like any path the contract does not have."""
    if _operation.get(None) is None:
        raise NotFound()


def create_app(
    settings: Settings, runner_id: str | None = None, embedded_s3_endpoint: str | None = None
) -> Server:
    """The app in front of ``build_services(settings, runner_id, embedded_s3_endpoint)``."""
    services = build_services(settings, runner_id, embedded_s3_endpoint)
    secured = services.authenticator is not None
    spec = served_spec(load_spec(), secured)
    openeo = served_spec(load_spec(OPENEO_SPEC_PATH), secured)
    # No Flask static route: Flask's default /static/<path> would take the paths of a
    # workspace named "static"; the pages' files are served by HtmlPages.
    app = connexion.FlaskApp(__name__, server_args={"static_folder": None})
    # Connexion's router matches paths exactly; Flask would merge "//" and answer a 308
    # without a Location. Set before add_api: each rule takes the map's setting when added.
    app.app.url_map.merge_slashes = False
    app.app.before_request(_only_what_connexion_routed)
    app.add_api(
        mounted_spec(spec, openeo),
        resolver=resolver,
        validator_map=VALIDATORS,
        security_map=security_map(services.authenticator, services.links.signer),
        swagger_ui_options=connexion.options.SwaggerUIOptions(swagger_ui_path="/ui"),
    )
    # Outermost: a status read it answers skips everything else (see its module), the
    # pages too: it keeps JSON answers only, so it never holds (nor answers) a page.
    app.add_middleware(
        StatusCache, position=MiddlewarePosition.BEFORE_EXCEPTION, services=services
    )
    # Then the HTML pages, whose own requests for the JSON documents they render go
    # through everything below.
    app.add_middleware(HtmlPages, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(JsonByDefault, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(TrailingSlashServed, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(OpenEOCors, position=MiddlewarePosition.BEFORE_EXCEPTION)
    # Behind the exception middleware (their 413 and 400 are rendered by the error table),
    # in front of routing and validation (nothing reads a body before it is counted).
    app.add_middleware(NoControlCharacters, position=MiddlewarePosition.BEFORE_SWAGGER)
    app.add_middleware(
        BodyLimit, position=MiddlewarePosition.BEFORE_SWAGGER, limit=settings.max_body_bytes
    )
    # Behind routing, security and validation: the event stream of a job is answered as
    # ASGI, without holding one of Flask's few threads for as long as it lasts.
    app.add_middleware(
        JobEventStream, position=MiddlewarePosition.BEFORE_CONTEXT, services=services
    )
    app.add_error_handler(AdesError, api_errors.domain_error)
    app.add_error_handler(ProblemException, api_errors.rejected_request)
    app.add_error_handler(HTTPException, api_errors.rejected_request)
    app.add_error_handler(Exception, api_errors.unexpected_error)
    app.app.extensions["ades"] = services
    app.app.extensions["ades.openapi"] = spec
    app.app.extensions["ades.openeo"] = openeo
    return Server(app, services)
