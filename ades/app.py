"""create_app(settings): builds the Connexion app and wires the parts together. This is
the one place where the ports meet their implementations."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import connexion
from connexion.exceptions import ProblemException
from connexion.middleware import MiddlewarePosition
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from ades.api import errors as api_errors
from ades.api.context import Services
from ades.api.spec import VALIDATORS, load_spec, mounted_spec, resolver
from ades.api.views import callback_document
from ades.db.jobs import JobStore, make_engine
from ades.db.logs import LogStore
from ades.errors import AdesError
from ades.execution.cwltool_runner import CwltoolRunner
from ades.execution.job_run import JobRun
from ades.execution.local import LocalExecutor
from ades.jobs.callbacks import CallbackSender
from ades.jobs.service import JobService
from ades.objectstore.s3 import S3ObjectStore
from ades.objectstore.seaweedfs import EmbeddedSeaweedFS
from ades.packages.registry import ProcessRegistry
from ades.settings import Settings

log = logging.getLogger(__name__)


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

    def close(self) -> None:
        for close in reversed(self._closers):
            try:
                close()
            except Exception:
                log.exception("error while shutting down")
        self._closers.clear()


def create_app(settings: Settings) -> Server:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    closers: list[Any] = []

    endpoint = settings.s3_endpoint
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

    processes = ProcessRegistry(settings.workspaces)
    engine = make_engine(settings.database)
    store = JobStore(engine)
    logs = LogStore(engine)
    callbacks = CallbackSender(
        store.get_by_id,
        callback_document,
        attempts=settings.callback_attempts,
        backoff=settings.callback_backoff,
    )
    closers.append(callbacks.close)
    run = JobRun(
        store,
        logs,
        processes,
        CwltoolRunner(),
        objects,
        settings.data_dir / "jobs",
        on_change=callbacks.job_changed,
    )
    executor = LocalExecutor(run, settings.max_jobs)
    closers.append(executor.shutdown)
    jobs = JobService(store, logs, processes, executor, objects, callbacks.job_changed)
    services = Services(settings, processes, jobs, objects)
    # Jobs a previous server left queued run now; ones it left running end failed.
    jobs.recover()

    spec = load_spec()
    app = connexion.FlaskApp(__name__)
    app.add_api(
        mounted_spec(spec),
        resolver=resolver,
        validator_map=VALIDATORS,
        swagger_ui_options=connexion.options.SwaggerUIOptions(swagger_ui_path="/ui"),
    )
    app.add_middleware(JsonByDefault, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_error_handler(AdesError, api_errors.domain_error)
    app.add_error_handler(ProblemException, api_errors.rejected_request)
    app.add_error_handler(HTTPException, api_errors.rejected_request)
    app.add_error_handler(Exception, api_errors.unexpected_error)
    app.app.extensions["ades"] = services
    app.app.extensions["ades.openapi"] = spec
    return Server(app, services, closers)
