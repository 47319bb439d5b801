"""The domain's exceptions. They say what went wrong in the client's terms; the HTTP
edge (``ades.api.errors``) maps each class to a status code and an OGC type URI."""

from __future__ import annotations


class AdesError(Exception):
    """Base class: ``str(err)`` is the message shown to the client."""


class NoSuchWorkspace(AdesError):
    def __init__(self, workspace: str):
        super().__init__(f"workspace '{workspace}' does not exist")


class NoSuchProcess(AdesError):
    def __init__(self, process_id: str, workspace: str):
        super().__init__(f"process '{process_id}' is not deployed in workspace '{workspace}'")


class NoSuchJob(AdesError):
    def __init__(self, job_id: str, workspace: str):
        super().__init__(f"job '{job_id}' does not exist in workspace '{workspace}'")


class ResultNotReady(AdesError):
    def __init__(self, job_id: str, status: str):
        super().__init__(f"job '{job_id}' has no results: its status is '{status}'")


class JobFailed(AdesError):
    """Results were asked of a job that failed. ``category`` says where it broke (a
    ``FailureCategory`` value: input, stage-in, application, stage-out or system)."""

    def __init__(self, job_id: str, message: str, category: str | None = None):
        self.category = category
        super().__init__(f"job '{job_id}' failed: {message}")


class JobFailedLogged(JobFailed):
    """The results of a failed job, asked the openEO way: the message is the job's last
    error log entry, as its log shows it (openEO answers it as that entry)."""

    def __init__(self, job_id: str, entry: str, category: str | None = None):
        super().__init__(job_id, entry, category)
        self.args = (entry,)


class RunFailed(JobFailed):
    """The job a synchronous request ran (openEO's POST /result) failed: answered by where
    it broke, as an OGC synchronous execute is, not as a batch job's results are.
    ``headers`` name the job."""

    def __init__(self, job_id: str, message: str, category: str | None = None):
        super().__init__(job_id, message, category)
        self.headers = {"OpenEO-Identifier": job_id}


class RunTimedOut(AdesError):
    """A synchronous request whose job outlasted the server's wait (ADES_SYNC_TIMEOUT). The
    job goes on; ``headers`` name it."""

    def __init__(self, job_id: str, seconds: float):
        self.headers = {"OpenEO-Identifier": job_id}
        super().__init__(
            f"job '{job_id}' did not end within {seconds:g} s, the longest a synchronous "
            f"request waits: it goes on as a batch job (GET /jobs/{job_id}, then its results)"
        )


class JobDismissed(AdesError):
    def __init__(self, job_id: str):
        super().__init__(f"job '{job_id}' was dismissed: it has no results")


class NoSuchOutput(AdesError):
    def __init__(self, output_id: str, job_id: str):
        super().__init__(f"job '{job_id}' has no output '{output_id}'")


class NoSuchFile(AdesError):
    def __init__(self, path: str, job_id: str):
        super().__init__(f"job '{job_id}' has no result file '{path}'")


class RangeNotSatisfiable(AdesError):
    def __init__(self, path: str, byte_range: str):
        super().__init__(f"Range '{byte_range}' lies outside '{path}'")


class InvalidInput(AdesError):
    """An execute request's input is missing, unknown or of the wrong type."""

    def __init__(self, name: str, reason: str):
        self.name = name
        super().__init__(f"input '{name}': {reason}")


class NotAcceptable(AdesError):
    """A raw result has no representation the request's Accept header takes."""

    def __init__(self, output_id: str, offered: tuple[str, ...], accept: str):
        super().__init__(
            f"output '{output_id}' can be sent as {', '.join(offered)}; "
            f"none is acceptable to 'Accept: {accept}'"
        )


class InvalidRequest(AdesError):
    """A request body or parameter is malformed (not about one named input)."""


class InvalidPackage(AdesError):
    """A CWL application package cannot be loaded or cannot run here."""


class DuplicatedProcess(AdesError):
    def __init__(self, process_id: str, workspace: str):
        super().__init__(
            f"process '{process_id}' is already deployed in workspace '{workspace}': "
            f"replace it with PUT, or undeploy it first"
        )


class ImmutableProcess(AdesError):
    """A process deployed from the workspace folder cannot be replaced or undeployed."""

    def __init__(self, process_id: str, workspace: str):
        super().__init__(
            f"process '{process_id}' is part of workspace '{workspace}' as installed on the "
            f"server: it cannot be replaced or undeployed through the API"
        )


class Locked(AdesError):
    """The job is queued or running: it cannot be changed or started until it ends."""

    def __init__(self, job_id: str, status: str, action: str):
        super().__init__(f"job '{job_id}' is {status}: it cannot be {action} until it ends")


class UnprocessableDefinition(AdesError):
    """A job definition that is JSON but not one the server can take."""


class TooManyJobs(AdesError):
    """A submission beyond the workspace's max_queued jobs waiting to run. ``Retry-After``
    says when to try again: by then a job may have started or ended."""

    # Seconds a refused client is told to wait.
    RETRY_AFTER = 30

    def __init__(self, workspace: str, limit: int):
        self.headers = {"Retry-After": str(self.RETRY_AFTER)}
        super().__init__(
            f"workspace '{workspace}' has {limit} jobs queued, its limit (max_queued): "
            f"try again once some have started"
        )


class NoEstimate(AdesError):
    def __init__(self, job_id: str, process_id: str, workspace: str):
        super().__init__(
            f"no estimate for job '{job_id}': process '{process_id}' has no successful job "
            f"in workspace '{workspace}' to estimate from"
        )


class DatabaseNotCurrent(AdesError):
    """The database's schema is not the one this server needs; raised at start, never in
    a request. The message says which command fixes it."""


class NotAuthenticated(AdesError):
    """No credentials, or credentials that prove nothing: missing, malformed, unknown,
    revoked or expired. The message says which, never the token itself."""

    headers = {"WWW-Authenticate": 'Bearer realm="ades"'}

    def __init__(self, reason: str, invalid_token: bool = True):
        super().__init__(reason)
        self.invalid_token = invalid_token
        if invalid_token:
            # RFC 6750 §3: a token was sent and refused.
            self.headers = {
                "WWW-Authenticate": 'Bearer realm="ades", error="invalid_token", '
                f'error_description="{_quoted(reason)}"'
            }


class LinkExpired(NotAuthenticated):
    """A signed link (a result file's, a results document's) past its expiry: the client
    fetches the results again for fresh links."""


class IssuerUnavailable(AdesError):
    """ADES_AUTH=oidc and the issuer's signing keys cannot be fetched (its discovery
    document or JWKS is unreachable or unusable): the token may be fine, the server cannot
    tell. The message names the URL and what failed."""

    headers = {"Retry-After": "30"}


class NotAllowed(AdesError):
    """Valid credentials that do not cover the workspace asked for."""

    def __init__(self, who: str, workspace: str):
        super().__init__(f"{who} may not use workspace '{workspace}'")


def _quoted(text: str) -> str:
    """Text for a quoted-string of an HTTP header: no quotes, backslashes or controls."""
    return "".join(c for c in text if c.isprintable() and c not in '"\\')


class ProcessGraphMissing(AdesError):
    """An openEO request without the process graph it needs."""


class ProcessGraphInvalid(AdesError):
    """A process graph that is not a graph this server can run: no result node, a cycle, a
    reference to a node or parameter it does not have. The message names the node."""


class ProcessUnsupported(AdesError):
    """A process graph node whose process is neither a deployed process of the workspace nor
    one the server implements (``save_result``). The message names the node."""


class FormatUnsupported(ProcessGraphInvalid):
    """A ``save_result`` format the saved process cannot give its result in, or one this
    server does not know. The message names the node and the formats offered."""
