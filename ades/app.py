"""create_app(settings): builds the Connexion app and wires the parts together. This is
the one place where the ports meet their implementations."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import connexion
from connexion.context import _operation
from connexion.exceptions import ProblemException
from connexion.middleware import MiddlewarePosition
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send
from werkzeug.exceptions import NotFound

from ades.api import errors as api_errors
from ades.api.context import Services
from ades.api.request_guards import BodyLimit, NoControlCharacters
from ades.api.spec import ROOTS, VALIDATORS, load_spec, mounted_spec, resolver
from ades.api.views import callback_document
from ades.db.jobs import JobStore
from ades.db.logs import LogStore
from ades.db.migrate import prepare_database
from ades.db.processes import ProcessStore
from ades.db.schema import make_engine
from ades.errors import AdesError
from ades.execution.cwltool_runner import CwltoolRunner
from ades.execution.job_run import JobRun
from ades.execution.local import LocalExecutor
from ades.jobs.callbacks import CallbackSender
from ades.jobs.service import JobService
from ades.objectstore.s3 import S3ObjectStore
from ades.objectstore.seaweedfs import EmbeddedSeaweedFS
from ades.packages.registry import ProcessRegistry
from ades.packages.source import PackageReader
from ades.settings import Settings
from ades.staging.downloads import DownloadLinks
from ades.staging.stac_results import StacResults
from ades.staging.stage_in import StageIn
from ades.staging.workspace_data import upload_workspace_data

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
_UNDER_A_ROOT = re.compile(rf"^/[^/]+/(?:{'|'.join(map(re.escape, ROOTS))})(?:/.*)?/$")


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


@dataclass
class Server:
    """The ASGI app and what must be stopped with it."""

    app: connexion.FlaskApp
    services: Services
    _closers: list[Any] = field(default_factory=list)
    # The S3 this server started, if it started one (no ADES_S3_ENDPOINT).
    embedded_s3: EmbeddedSeaweedFS | None = None

    def close(self) -> None:
        for close in reversed(self._closers):
            try:
                close()
            except Exception:
                log.exception("error while shutting down")
        self._closers.clear()


def _server_id(data_dir: Path) -> str:
    """This server's id, kept in its data dir so that it survives restarts: replicas
    (each with a data dir of its own) sharing one database tell their jobs apart."""
    path = data_dir / "server-id"
    if not path.exists():
        path.write_text(uuid.uuid4().hex)
    return path.read_text().strip()


def _only_what_connexion_routed() -> None:
    """Flask's router is more lenient than Connexion's (``//demo/ogc-api/processes`` reaches
    a Flask rule): a request Connexion did not route has no operation, and its handler would
    fail outside one. It is a 404, like any path the contract does not have."""
    if _operation.get(None) is None:
        raise NotFound()


def create_app(settings: Settings) -> Server:
    # First, so that a wrong engine stops the start before anything is started.
    runner = CwltoolRunner(settings.container_engine)
    DownloadLinks.check(
        settings.s3_public_url, settings.presign_expires, settings.result_downloads
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database)
    # A SQLite file is upgraded; a shared database behind this version stops the start here.
    prepare_database(engine)
    closers: list[Any] = [engine.dispose]

    endpoint = settings.s3_endpoint
    s3 = None
    if not endpoint:
        s3 = EmbeddedSeaweedFS(
            settings.data_dir / "s3", settings.s3_access_key, settings.s3_secret_key
        )
        s3.start()
        closers.append(s3.stop)
        endpoint = s3.endpoint
    objects = S3ObjectStore(
        endpoint,
        settings.s3_access_key,
        settings.s3_secret_key,
        settings.s3_bucket,
        settings.s3_region,
    )
    objects.ensure_bucket()
    # Requests are taken only once objects can be written and read back (see wait_usable).
    objects.wait_usable()

    server_id = _server_id(settings.data_dir)
    processes = ProcessRegistry(
        settings.workspaces,
        ProcessStore(engine),
        PackageReader(objects),
        container_engine=settings.container_engine,
    )
    upload_workspace_data(settings.workspaces, processes.workspaces(), objects)
    store = JobStore(engine)
    logs = LogStore(engine)
    callbacks = CallbackSender(
        store.get_by_id,
        callback_document,
        attempts=settings.callback_attempts,
        backoff=settings.callback_backoff,
        logs=logs,
    )
    closers.append(callbacks.close)
    stage_in = StageIn(objects, settings.stage_in_concurrency, settings.stage_in_timeout)
    run = JobRun(
        store,
        logs,
        processes,
        runner,
        objects,
        settings.data_dir / "jobs",
        stage_in,
        on_change=callbacks.job_changed,
        runner_id=server_id,
    )
    executor = LocalExecutor(run, settings.max_jobs)
    closers.append(executor.shutdown)
    jobs = JobService(
        store,
        logs,
        processes,
        executor,
        objects,
        callbacks.job_changed,
        max_literal_bytes=settings.max_literal_bytes,
    )
    links = DownloadLinks(
        objects, settings.s3_public_url, settings.presign_expires, settings.streams_downloads
    )
    services = Services(
        settings, processes, jobs, objects, links, StacResults(objects, links), engine
    )
    # Jobs a previous server left queued run now; ones it left running end failed.
    jobs.recover(server_id)

    spec = load_spec()
    app = connexion.FlaskApp(__name__)
    # Connexion's router matches paths exactly; Flask would merge "//" and answer a 308
    # without a Location. Set before add_api: each rule takes the map's setting when added.
    app.app.url_map.merge_slashes = False
    app.app.before_request(_only_what_connexion_routed)
    app.add_api(
        mounted_spec(spec),
        resolver=resolver,
        validator_map=VALIDATORS,
        swagger_ui_options=connexion.options.SwaggerUIOptions(swagger_ui_path="/ui"),
    )
    app.add_middleware(JsonByDefault, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(TrailingSlashServed, position=MiddlewarePosition.BEFORE_EXCEPTION)
    # Behind the exception middleware (their 413 and 400 are rendered by the error table),
    # in front of routing and validation (nothing reads a body before it is counted).
    app.add_middleware(NoControlCharacters, position=MiddlewarePosition.BEFORE_SWAGGER)
    app.add_middleware(
        BodyLimit, position=MiddlewarePosition.BEFORE_SWAGGER, limit=settings.max_body_bytes
    )
    app.add_error_handler(AdesError, api_errors.domain_error)
    app.add_error_handler(ProblemException, api_errors.rejected_request)
    app.add_error_handler(HTTPException, api_errors.rejected_request)
    app.add_error_handler(Exception, api_errors.unexpected_error)
    app.app.extensions["ades"] = services
    app.app.extensions["ades.openapi"] = spec
    return Server(app, services, closers, s3)
