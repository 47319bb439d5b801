"""The openEO error table: each domain exception (and each kind of request Connexion
rejects) gets a status and an openEO error code, rendered as openEO's error document
``{id, code, message, links}``. Requests under ``/{workspace}/openeo/`` are answered from
this table, never with an OGC exception type."""

from __future__ import annotations

import json
import re
import uuid

from connexion.lifecycle import ConnexionRequest, ConnexionResponse

from ades import errors
from ades.model import FailureCategory
from ades.redact import redact

# Domain exception → (HTTP status, openEO code). Checked in subclass order.
TABLE: dict[type[errors.AdesError], tuple[int, str]] = {
    errors.NoSuchJob: (404, "JobNotFound"),
    errors.JobDismissed: (404, "JobNotFound"),
    errors.NoSuchProcess: (400, "ProcessUnsupported"),
    errors.ProcessUnsupported: (400, "ProcessUnsupported"),
    errors.ProcessGraphMissing: (400, "ProcessGraphMissing"),
    errors.ProcessGraphInvalid: (400, "ProcessGraphInvalid"),
    # save_result's format: one the saved process cannot give, or an unknown one.
    errors.FormatUnsupported: (400, "FormatUnsupported"),
    errors.Locked: (400, "JobLocked"),
    errors.ResultNotReady: (400, "JobNotFinished"),
    # GET /jobs/{id}/results of a job that failed: openEO answers 424 (the failure's
    # error log entry is the message).
    errors.JobFailed: (424, "JobFailed"),
    # A synchronous request (POST /result) whose job timed out: the job goes on.
    errors.RunTimedOut: (408, "RequestTimeout"),
    errors.NoSuchFile: (404, "FileNotFound"),
    errors.NoSuchWorkspace: (404, "NotFound"),
    errors.InvalidInput: (400, "ProcessParameterInvalid"),
    errors.InvalidRequest: (400, "BadRequest"),
    errors.UnprocessableDefinition: (400, "BadRequest"),
    errors.NoEstimate: (404, "NotFound"),
    errors.NotAcceptable: (406, "FormatUnsupported"),
    errors.NotAuthenticated: (401, "AuthenticationRequired"),
    errors.NotAllowed: (403, "PermissionsInsufficient"),
    errors.TooManyJobs: (429, "TooManyRequests"),
    errors.IssuerUnavailable: (503, "ServiceUnavailable"),
}

# A synchronous request whose job failed (RunFailed) is answered by where the job broke, as
# the OGC roots answer a synchronous execute: only a failure of the server itself is a 5xx.
FAILED_RUN: dict[FailureCategory, tuple[int, str]] = {
    # The application refused the inputs as given.
    FailureCategory.INPUT: (400, "ProcessParameterInvalid"),
    # A referenced input could not be fetched: the request depended on it.
    FailureCategory.STAGE_IN: (424, "JobFailed"),
    # The application ran and failed on these inputs, or wrote outputs it cannot stage out.
    FailureCategory.APPLICATION: (422, "JobFailed"),
    FailureCategory.STAGE_OUT: (422, "JobFailed"),
    # The server broke.
    FailureCategory.SYSTEM: (500, "Internal"),
}

# What Connexion / Starlette reject before a handler runs, by status.
HTTP_CODES: dict[int, str] = {
    400: "BadRequest",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "FormatUnsupported",
    413: "PayloadTooLarge",
    415: "ContentTypeInvalid",
}

_OPENEO_PATH = re.compile(r"^/[^/]+/openeo(?:/|$)")


def is_openeo(request: ConnexionRequest | None) -> bool:
    """Whether the request came in under a workspace's openEO root."""
    return request is not None and bool(_OPENEO_PATH.match(request.url.path))


def status_and_code(err: errors.AdesError) -> tuple[int, str]:
    if isinstance(err, errors.LinkExpired):
        # openEO: a signed results link past its expiry; GET the results again.
        return 410, "ResultLinkExpired"
    if isinstance(err, errors.NotAuthenticated) and err.invalid_token:
        # openEO: a token was sent and is not (or no longer) valid.
        return 403, "TokenInvalid"
    if isinstance(err, errors.RunFailed):
        return FAILED_RUN.get(err.category or FailureCategory.SYSTEM, (500, "Internal"))
    for cls in type(err).__mro__:
        if cls in TABLE:
            return TABLE[cls]
    return 400, "BadRequest"


def error_document(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    level: str | None = None,
):
    """openEO's error document; a message may quote a client or a service, never a secret.
    With a ``level`` it is a log entry too (the 424 of a failed job's results is one)."""
    body = {"id": str(uuid.uuid4()), "code": code, "message": redact(message), "links": []}
    if level:
        body["level"] = level
    return ConnexionResponse(
        status_code=status,
        body=json.dumps(body),
        content_type="application/json",
        headers=dict(headers or {}),
    )


def domain_error(err: errors.AdesError) -> ConnexionResponse:
    status, code = status_and_code(err)
    # openEO: the 424 of GET /jobs/{id}/results is the job's last error log entry.
    level = "error" if isinstance(err, errors.JobFailedLogged) else None
    return error_document(status, code, str(err), getattr(err, "headers", None), level)


def rejected_request(status: int, detail: str) -> ConnexionResponse:
    return error_document(status, HTTP_CODES.get(status, "Internal"), detail)


def unexpected_error() -> ConnexionResponse:
    return error_document(500, "Internal", "internal server error")
