"""The client's HTTP: one ``requests`` session for an API root, the bearer token sent to
that server only, and every way a request can go wrong turned into one line for the user
(the server's problem ``title``/``detail``, the method and the URL) with the exit code that
says what happened: a script tells a refused request from a failed job by the code alone."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.auth import AuthBase

# Exit codes of `ades` client commands (README "Command-line client").
EXIT_OK = 0  # the command did what was asked; for a job: it is successful
EXIT_FAILED = 1  # the job failed
EXIT_USAGE = 2  # the command line is wrong (argparse's own code too)
EXIT_DISMISSED = 3  # the job was dismissed
EXIT_RUNNING = 4  # the job has not ended yet (accepted or running)
EXIT_HTTP = 5  # the server refused the request (an HTTP error status)
EXIT_UNREACHABLE = 6  # no answer: connection refused, DNS, timeout, TLS

FINAL = {"successful": EXIT_OK, "failed": EXIT_FAILED, "dismissed": EXIT_DISMISSED}


def exit_code(status: str) -> int:
    """The exit code that says a job's status: one of FINAL, else still running."""
    return FINAL.get(status, EXIT_RUNNING)


class ClientError(Exception):
    """What went wrong, in one line for stderr, and the exit code to end with."""

    def __init__(self, message: str, code: int = EXIT_HTTP) -> None:
        super().__init__(message)
        self.code = code


class UsageError(ClientError):
    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


class _Bearer(AuthBase):
    """The token goes to the API's own origin only: result links may lead elsewhere (a
    presigned S3 URL refuses a request that carries a second credential, and a foreign
    host has no business seeing it)."""

    def __init__(self, token: str, origins: set[tuple[str, str]]) -> None:
        self.token = token
        self.origins = origins

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if _origin(request.url or "") in self.origins:
            request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def check_url(url: str, what: str) -> str:
    """``url`` without a trailing slash, or a usage error naming ``what`` gave it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"{what} {url!r}: not an http:// or https:// URL")
    return url.rstrip("/")


class Api:
    """An OGC API - Processes root (``--url``), or none when every job is named by its URL."""

    def __init__(self, url: str | None, token: str | None = None, timeout: float = 30) -> None:
        self.url = check_url(url, "--url") if url else None
        self.timeout = timeout
        self.origins: set[tuple[str, str]] = set()
        self.http = requests.Session()
        self.http.headers["User-Agent"] = "ades-client"
        if self.url:
            self.origins.add(_origin(self.url))
        if token:
            self.http.auth = _Bearer(token, self.origins)

    def root(self) -> str:
        if not self.url:
            raise UsageError("the API's URL is needed: give --url or set ADES_URL "
                             "(e.g. http://127.0.0.1:8000/demo/ogc-api)")
        return self.url

    def job_url(self, job: str) -> str:
        """A job's URL from its id (under --url) or from its URL (whose origin is then the
        API's: the token goes there too)."""
        if "://" in job:
            url = check_url(job, "job")
            self.origins.add(_origin(url))
            return url
        if not job or "/" in job:
            raise UsageError(f"job {job!r}: give a job id or a job URL")
        return f"{self.root()}/jobs/{quote(job, safe='')}"

    def process_url(self, process: str) -> str:
        return f"{self.root()}/processes/{quote(process, safe='')}"

    def request(self, method: str, url: str, *, ok: tuple[int, ...] = (),
                **kwargs: Any) -> requests.Response:
        """The response, or a ClientError: an error status (but those in ``ok``) or no
        answer at all."""
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = self.http.request(method, url, **kwargs)
        except requests.Timeout:
            raise ClientError(f"{method} {url}: no answer within {self.timeout:g} s",
                              EXIT_UNREACHABLE) from None
        except requests.ConnectionError as err:
            raise ClientError(f"cannot reach {url}: {_reason(err)}", EXIT_UNREACHABLE) from None
        except requests.RequestException as err:
            raise ClientError(f"{method} {url}: {err}", EXIT_UNREACHABLE) from None
        if response.status_code >= 400 and response.status_code not in ok:
            raise ClientError(problem(response))
        return response

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        """The JSON document of a request that must answer one."""
        response = self.request(method, url, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ClientError(
                f"{method} {url}: the answer is not JSON "
                f"({response.headers.get('Content-Type', 'no Content-Type')})"
            ) from None


def problem(response: requests.Response) -> str:
    """One line for an error answer: its problem title and detail (RFC 7807, or the OGC
    exception with its ``description``), the status, the method and the URL."""
    said = ""
    try:
        doc = response.json()
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        title = str(doc.get("title") or doc.get("code") or "").strip()
        detail = str(doc.get("detail") or doc.get("description") or "").strip()
        said = ": ".join(part for part in (title, detail) if part)
    elif response.text.strip() and "html" not in response.headers.get("Content-Type", ""):
        said = response.text.strip().splitlines()[0][:200]
    said = " ".join(said.split()) or response.reason or "error"  # one line
    request = response.request
    return f"{said} ({response.status_code} from {request.method} {request.url})"


def _reason(err: requests.ConnectionError) -> str:
    """The cause under urllib3's wrapping ('connection refused', 'Name or service not
    known'), not its whole repr."""
    text = str(err)
    found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if found:
        return found.group(1).strip().lower() if "refused" in found.group(1) else \
            found.group(1).strip()
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return "the server closed the connection"
    return text[:200]
