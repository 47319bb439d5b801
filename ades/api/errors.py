"""The OGC error table, from errors to HTTP (openEO requests are answered from
``ades.api.openeo.errors``): each domain exception class (and each kind of
request Connexion rejects) gets a status code and an OGC exception type URI, and is
rendered as an RFC 7807 problem document."""

from __future__ import annotations

import json
import logging

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from ades import errors
from ades.api.openeo import errors as openeo_errors
from ades.model import FailureCategory
from ades.redact import redact

log = logging.getLogger(__name__)

OGC1 = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
OGC2 = "http://www.opengis.net/def/exceptions/ogcapi-processes-2/1.0/"
OGC4 = "http://www.opengis.net/def/exceptions/ogcapi-processes-4/1.0/"
# Part 1 names no exception for 406; one URI serves ours and Connexion's.
NOT_ACCEPTABLE = OGC1 + "not-acceptable"

# A failed job answers its results (and a synchronous execution that ran it) with
# `job-failed` and a status saying whose the failure is. Only a failure of the server itself
# is a 5xx: the others are the request's inputs, references or application package, which
# the client can fix (OGC 1.0 allows a 4xx or 5xx here).
FAILED_JOB_STATUS: dict[FailureCategory, int] = {
    # The application refused the inputs as given (cwltool's job order check).
    FailureCategory.INPUT: 400,
    # A referenced input could not be fetched: the request depended on it (RFC 4918 424).
    FailureCategory.STAGE_IN: 424,
    # The application ran and failed on these inputs, or wrote outputs that cannot be
    # staged out (missing files, an unreadable STAC catalog): understood, not processable.
    FailureCategory.APPLICATION: 422,
    FailureCategory.STAGE_OUT: 422,
    # The server broke (it stopped mid-run, its object store failed, an internal error).
    FailureCategory.SYSTEM: 500,
}

# Domain exception → (HTTP status, type URI). Checked in subclass order: first match wins.
TABLE: dict[type[errors.AdesError], tuple[int, str]] = {
    errors.NoSuchProcess: (404, OGC1 + "no-such-process"),
    errors.DuplicatedProcess: (409, OGC2 + "duplicated-process"),
    errors.ImmutableProcess: (403, OGC2 + "immutable-process"),
    errors.NoSuchJob: (404, OGC1 + "no-such-job"),
    errors.ResultNotReady: (404, OGC1 + "result-not-ready"),
    errors.NoSuchOutput: (404, OGC1 + "no-such-output"),
    errors.NoSuchFile: (404, OGC1 + "not-found"),
    errors.RangeNotSatisfiable: (416, OGC1 + "invalid-parameter-value"),
    errors.NoSuchWorkspace: (404, OGC1 + "no-such-workspace"),
    # By its failure category (FAILED_JOB_STATUS); 500 for a job failed without one.
    errors.JobFailed: (500, OGC1 + "job-failed"),
    errors.JobDismissed: (404, OGC1 + "no-such-job"),
    errors.InvalidInput: (400, OGC1 + "invalid-input"),
    errors.InvalidRequest: (400, OGC1 + "invalid-parameter-value"),
    errors.InvalidPackage: (400, OGC1 + "invalid-package"),
    errors.Locked: (423, OGC4 + "locked"),
    errors.UnprocessableDefinition: (422, OGC1 + "invalid-parameter-value"),
    errors.NoEstimate: (404, OGC1 + "not-found"),
    errors.NotAcceptable: (406, NOT_ACCEPTABLE),
    # OGC API - Processes names no exception for these; the URIs follow its pattern.
    errors.NotAuthenticated: (401, OGC1 + "unauthorized"),
    errors.NotAllowed: (403, OGC1 + "forbidden"),
    errors.TooManyJobs: (429, OGC1 + "too-many-jobs"),
    # The server's problem, not the client's: its OpenID Connect issuer cannot be reached.
    errors.IssuerUnavailable: (503, OGC1 + "service-unavailable"),
}

# What Connexion / Starlette reject before a handler runs, by status.
HTTP_TYPES: dict[int, str] = {
    400: OGC1 + "invalid-parameter-value",
    404: OGC1 + "not-found",
    405: OGC1 + "method-not-allowed",
    406: NOT_ACCEPTABLE,
    413: OGC1 + "payload-too-large",
    # Part 1 defines no 415; Part 2 (deploy, replace) does, and it fits every body.
    415: OGC2 + "unsupported-media-type",
}


def status_and_type(err: errors.AdesError) -> tuple[int, str]:
    if isinstance(err, errors.JobFailed) and err.category in FAILED_JOB_STATUS:
        return FAILED_JOB_STATUS[FailureCategory(err.category)], TABLE[errors.JobFailed][1]
    for cls in type(err).__mro__:
        if cls in TABLE:
            return TABLE[cls]
    return 400, OGC1 + "invalid-parameter-value"


PROBLEM_JSON = "application/problem+json"


def problem(
    request: ConnexionRequest,
    status: int,
    type_uri: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
) -> ConnexionResponse:
    """An RFC 7807 body. Served as application/json unless the client asks for
    application/problem+json: OGC clients (the CITE suite among them) expect the former."""
    # A detail may quote what a client or a service said: never a secret of the server.
    body = {"type": type_uri, "title": title, "status": status, "detail": redact(detail)}
    accept = request.headers.get("accept", "") if request is not None else ""
    content_type = PROBLEM_JSON if PROBLEM_JSON in accept else "application/json"
    return ConnexionResponse(
        status_code=status, body=json.dumps(body), content_type=content_type, headers=headers
    )


def domain_error(request: ConnexionRequest, err: Exception) -> ConnexionResponse:
    assert isinstance(err, errors.AdesError)
    if openeo_errors.is_openeo(request):
        return openeo_errors.domain_error(err)
    status, type_uri = status_and_type(err)
    # WWW-Authenticate of a 401, Retry-After of a 429: what the client needs to try again.
    # A copy: the response adds its Content-Type to the dict it is given, and an error
    # class's headers are shared by every instance.
    headers = dict(getattr(err, "headers", None) or {})
    return problem(request, status, type_uri, type(err).__name__, str(err), headers)


def rejected_request(request: ConnexionRequest, err: Exception) -> ConnexionResponse:
    """Connexion's validation errors and Starlette's routing errors, in our shape."""
    if isinstance(err, ProblemException):
        status, title, detail = err.status, err.title, err.detail
    else:
        assert isinstance(err, HTTPException)
        status, title, detail = err.status_code, "HTTP error", err.detail
    detail = _first_line(detail) if detail else title
    if openeo_errors.is_openeo(request):
        return openeo_errors.rejected_request(status, detail)
    type_uri = HTTP_TYPES.get(status, OGC1 + "server-error")
    return problem(request, status, type_uri, title or "", detail)


def unexpected_error(request: ConnexionRequest, err: Exception) -> ConnexionResponse:
    log.exception("unhandled error", exc_info=err)
    if openeo_errors.is_openeo(request):
        return openeo_errors.unexpected_error()
    return problem(
        request, 500, OGC1 + "server-error", "Internal server error", "internal server error"
    )


def _first_line(detail: str) -> str:
    # jsonschema messages carry the whole schema after a blank line; the first line says it.
    return str(detail).split("\n\n", 1)[0].strip()
