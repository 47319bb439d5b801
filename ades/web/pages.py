"""HtmlPages: the API's resources as HTML pages for people using a browser.

A GET that asks for HTML (``?f=html``, or an Accept header that prefers ``text/html`` to
``application/json``, as browsers send) on one of the page paths is answered here: the
middleware asks the app behind it for the same resource as JSON (same path, query without
``f``, same credentials), and renders the document it gets with a template. So a page shows
exactly what the API says (its authentication, validation, 404s and errors included: a
problem document becomes an error page with the same status), and the pages are just one
more renderer of the same documents. Everything else passes through untouched; ``?f=json``
forces JSON whatever Accept says. The stylesheet and scripts are served from ``/static/``
(a path outside every workspace root), with a content hash in their URLs so that browsers
keep them for a year; a workspace named "static" keeps its roots, as no file is named
after one."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import mimetypes
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from jinja2 import Environment, PackageLoader
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ades.api.negotiation import parse_accept, quality
from ades.api.spec import ROOTS
from ades.errors import AdesError
from ades.web.form import form_fields
from ades.web.highlight import highlighted
from ades.web.results import links_of, outputs_of, walk

JSON = "application/json"
HTML = "text/html"
REL_EXECUTE = "http://www.opengis.net/def/rel/ogc/1.0/execute"
REL_RESULTS = "http://www.opengis.net/def/rel/ogc/1.0/results"
STATUSES = ("accepted", "running", "successful", "failed", "dismissed", "created")
LEVELS = ("debug", "info", "warning", "error")
# The most log entries a job page shows at load (the JSON has the rest, by its links).
LOG_LIMIT = 1000
# The largest JSON document a page reads from the app behind it.
LARGEST = 16 * 1024 * 1024
# What a page may load: only this server's own scripts, styles and connections; images
# from anywhere (a quicklook's download route may redirect to S3). No inline script.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src * data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

_ROOTS = "|".join(map(re.escape, ROOTS))
_UNDER = rf"^/(?P<workspace>[^/]+)/(?P<root>{_ROOTS})"
PAGES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("root", re.compile(r"^/$")),
    ("landing", re.compile(_UNDER + "$")),
    ("processes", re.compile(_UNDER + "/processes$")),
    ("process", re.compile(_UNDER + "/processes/(?P<process>[^/]+)$")),
    ("jobs", re.compile(_UNDER + "/jobs$")),
    ("job", re.compile(_UNDER + "/jobs/(?P<job>[^/]+)$")),
    ("results", re.compile(_UNDER + "/jobs/(?P<job>[^/]+)/results$")),
)

STATIC = Path(__file__).resolve().parent / "static"


@dataclass(frozen=True)
class _StaticFile:
    body: bytes
    content_type: str
    version: str


def _static_files() -> dict[str, _StaticFile]:
    files = {}
    for path in sorted(STATIC.iterdir()):
        if path.is_file():
            body = path.read_bytes()
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if kind.startswith("text/") or kind.endswith("javascript"):
                kind += "; charset=utf-8"
            files[path.name] = _StaticFile(body, kind, hashlib.sha256(body).hexdigest()[:12])
    return files


_FILES = _static_files()


def static_url(name: str) -> str:
    """The URL of a static file, versioned by its content (so it may be cached forever)."""
    return f"/static/{name}?v={_FILES[name].version}"


@dataclass(frozen=True)
class Answer:
    """What the app behind answered a GET."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Problem(Exception):
    """An answer of the API that the page cannot show: rendered as the error page."""

    def __init__(self, answer: Answer):
        super().__init__(answer.status)
        self.answer = answer


def wants_html(scope: Scope, query: list[tuple[str, str]]) -> bool | None:
    """True for ``f=html`` or an Accept header preferring HTML to JSON, False for
    ``f=json``, None when neither: the request is the API's."""
    chosen = [v for k, v in query if k == "f"]
    if chosen:
        return {"html": True, "json": False}.get(chosen[-1])
    accept = _header(scope, b"accept")
    try:
        ranges = parse_accept(accept)
    except AdesError:
        return None  # the API says what is wrong with it
    return quality(ranges, HTML) > quality(ranges, JSON) or None


def _may_want_html(scope: Scope) -> bool:
    """Whether the request could ask for a page at all: an ``f`` parameter, or ``html`` in
    its Accept header. Most requests (scripts, clients) have neither, and are let through
    without parsing either."""
    if b"f=" in scope["query_string"]:
        return True
    return any(key == b"accept" and b"html" in value for key, value in scope["headers"])


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _when(value: Any) -> str:
    """An RFC 3339 time as people read it, in UTC to the second."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if moment.tzinfo else "")


def _safe_href(value: Any) -> str:
    """A link target a page may use: http(s), or a path of this server; anything else
    (``javascript:``, ``data:``…, which a package could write into its STAC) becomes
    ``#``."""
    href = str(value or "")
    scheme = urlsplit(href).scheme.lower()
    return href if scheme in ("http", "https", "") else "#"


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _link(document: Any, rel: str, media_type: str | None = None) -> str | None:
    for entry in links_of(document, rel=rel):
        if media_type is None or entry.get("type", JSON) == media_type:
            return entry["href"]
    return None


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("ades.web", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = static_url
    env.filters["when"] = _when
    env.filters["safe_href"] = _safe_href
    env.filters["pretty"] = _pretty
    return env


class HtmlPages:
    """The ASGI middleware of the pages (see the module). Outermost, so that the requests
    it makes of the app behind go through every other middleware (the status cache
    among them, which therefore never sees an HTML request)."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self.env = _environment()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        # Only the files themselves: /static/… is also where a workspace named "static"
        # has its roots (/static/ogc-api), which no file is named after.
        if path.startswith("/static/") and path[len("/static/"):] in _FILES and (
            scope["method"] in ("GET", "HEAD")
        ):
            await self._static(scope, send)
            return
        page = _page(path) if scope["method"] == "GET" else None
        if page is not None and not _may_want_html(scope):
            # What clients send (no Accept, */*, application/json): the API's answer, told
            # apart from a page's only by its Vary.
            await self.app(scope, receive, _vary(send))
            return
        if page is None:
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope["query_string"].decode("utf-8", "replace"),
                          keep_blank_values=True)
        html = wants_html(scope, query)
        if not html:
            if html is False:  # ?f=json: JSON whatever the browser's Accept says
                scope = {**scope, "headers": _with_accept(scope["headers"], JSON)}
            await self.app(scope, receive, _vary(send))
            return
        name, params = page
        render: Callable[..., Awaitable[tuple[str, dict[str, Any]]]] = getattr(self, "_" + name)
        try:
            template, context = await render(scope, params, [(k, v) for k, v in query
                                                             if k != "f"])
            status = 200
        except Problem as problem:
            template, context = "error.html", _error_context(problem.answer)
            status = problem.answer.status
            # What the API's error says besides its body (a 401's challenge, a 429's wait).
            kept = [(k.encode(), v.encode("latin-1")) for k, v in problem.answer.headers.items()
                    if k in ("www-authenticate", "retry-after")]  # fmt: skip
        else:
            kept = []
        context.update(_common(scope, params, query))
        body = self.env.get_template(template).render(context).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"vary", b"Accept"),
                    (b"cache-control", b"no-cache"),
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    *kept,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})

    # The pages: each reads its documents and names its template.

    async def _root(self, scope: Scope, params: dict, query: list) -> tuple[str, dict]:
        doc = await self._json(scope, "/", query)
        return "root.html", {"doc": doc, "title": doc.get("title", "ADES")}

    async def _landing(self, scope: Scope, params: dict, query: list) -> tuple[str, dict]:
        doc = await self._json(scope, scope["path"].rstrip("/"), query)
        return "landing.html", {"doc": doc, "title": doc.get("title", params["workspace"])}

    async def _processes(self, scope: Scope, params: dict, query: list) -> tuple[str, dict]:
        doc = await self._json(scope, _base(params) + "/processes", query)
        return "processes.html", {
            "doc": doc,
            "title": f"Processes of workspace '{params['workspace']}'",
            "processes_url": _base(params) + "/processes",
            "next": _link(doc, "next"),
            "prev": _link(doc, "prev"),
        }

    async def _process(self, scope: Scope, params: dict, query: list) -> tuple[str, dict]:
        path = f"{_base(params)}/processes/{params['process']}"
        doc = await self._json(scope, path, query)
        package = await self._get(
            scope, path + "/package", accept="application/cwl+yaml, application/cwl+json, "
            "application/cwl;q=0.9, */*;q=0.1",
        )
        media_type = package.headers.get("content-type", "").split(";")[0]
        return "process.html", {
            "doc": doc,
            "title": doc.get("title") or doc.get("id", params["process"]),
            "fields": form_fields(doc),
            "execute_url": _link(doc, REL_EXECUTE) or path + "/execution",
            "package": highlighted(package.body.decode("utf-8", "replace"), media_type)
            if package.ok else None,
            "package_type": media_type,
            "package_url": path + "/package",
            "process_url": path,
            "processes_url": _base(params) + "/processes",
        }

    async def _jobs(self, scope: Scope, params: dict, query: list) -> tuple[str, dict]:
        # An empty field of the filter form means "any": the API would refuse it.
        asked = [(k, v) for k, v in query if v != ""]
        doc = await self._json(scope, _base(params) + "/jobs", asked)
        listed = await self._get(scope, _base(params) + "/processes", b"limit=10000")
        processes = [p.get("id") for p in (listed.json() or {}).get("processes", [])]
        return "jobs.html", {
            "doc": doc,
            "title": f"Jobs of workspace '{params['workspace']}'",
            "filters": _filters(asked),
            "statuses": STATUSES,
            "process_ids": processes,
            "next": _link(doc, "next"),
            "prev": _link(doc, "prev"),
        }

    async def _job(self, scope: Scope, params: dict, query: list) -> tuple[str, dict]:
        path = f"{_base(params)}/jobs/{params['job']}"
        level = next((v for k, v in query if k == "level" and v in LEVELS), "debug")
        doc = await self._json(scope, path, [(k, v) for k, v in query if k != "level"])
        logs = await self._get(scope, path + "/logs",
                               urlencode({"level": level, "limit": LOG_LIMIT}).encode())
        entries = (logs.json() or {}).get("logs", []) if logs.ok else []
        self_url = _link(doc, "self") or path
        return "job.html", {
            "doc": doc,
            "title": f"Job {doc.get('jobID', params['job'])}",
            "logs": entries,
            # The log always links a next page (to poll from); it has more only when full.
            "more_logs": _link(logs.json(), "next") if len(entries) >= LOG_LIMIT else None,
            "level": level,
            "levels": LEVELS,
            "events_url": _link(doc, "monitor", "text/event-stream") or self_url + "/events",
            "results_url": _link(doc, REL_RESULTS, JSON),
            "process_url": f"{_base(params)}/processes/{doc.get('processID', '')}",
        }

    async def _results(self, scope: Scope, params: dict, query: list) -> tuple[str, dict]:
        job_path = f"{_base(params)}/jobs/{params['job']}"
        status = await self._json(scope, job_path, [])
        results = await self._get(scope, job_path + "/results", urlencode(query).encode())
        if not results.ok:
            raise Problem(results)
        document = results.json()
        results_url = (_link(status, "self") or job_path) + "/results"
        outputs = outputs_of(document, results_url)

        async def fetch(url: str) -> Any:
            parts = urlsplit(url)
            answer = await self._get(scope, unquote(parts.path), parts.query.encode())
            return answer.json() if answer.ok else None

        for output in outputs:
            await walk(output, fetch, results_url)
        return "results.html", {
            "doc": document,
            "status": status,
            "title": f"Results of job {params['job']}",
            "outputs": outputs,
            "provenance": links_of(document, status, rel="provenance"),
            "job_url": _link(status, "self") or job_path,
            "collection_url": _link(status, REL_RESULTS, "application/geo+json"),
        }

    # Talking to the app behind.

    async def _json(self, scope: Scope, path: str, query: list[tuple[str, str]]) -> Any:
        answer = await self._get(scope, path, urlencode(query).encode())
        if not answer.ok:
            raise Problem(answer)
        document = answer.json()
        if document is None:
            raise Problem(Answer(502, {}, b'{"title": "Not a JSON document"}'))
        return document

    async def _get(self, scope: Scope, path: str, query: bytes = b"",
                   accept: str = JSON) -> Answer:  # fmt: skip
        """GET ``path?query`` of the app behind, as the request's client (its headers,
        its credentials) asking for ``accept``."""
        inner = {
            **scope,
            "method": "GET",
            "path": path,
            "raw_path": quote(path).encode(),
            "query_string": query,
            "headers": _with_accept(
                [(k, v) for k, v in scope["headers"] if k not in _DROPPED], accept
            ),
        }
        started: list[Message] = []
        chunks: list[bytes] = []
        size = 0
        asked = False

        async def receive() -> Message:
            nonlocal asked
            if not asked:
                asked = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.Event().wait()  # no disconnect: the page waits for the answer
            raise AssertionError("unreachable")

        async def collect(message: Message) -> None:
            nonlocal size
            if message["type"] == "http.response.start":
                started.append(message)
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
                if size <= LARGEST:
                    chunks.append(message.get("body", b""))

        await self.app(inner, receive, collect)
        if not started:
            return Answer(502, {}, b"")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in started[0].get("headers", [])}  # fmt: skip
        return Answer(started[0]["status"], headers, b"".join(chunks))

    async def _static(self, scope: Scope, send: Send) -> None:
        found = _FILES[scope["path"][len("/static/"):]]
        query = dict(parse_qsl(scope["query_string"].decode("utf-8", "replace")))
        cache = (b"public, max-age=31536000, immutable" if query.get("v") == found.version
                 else b"no-cache")  # fmt: skip
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", found.content_type.encode()),
                    (b"content-length", str(len(found.body)).encode()),
                    (b"cache-control", cache),
                    (b"etag", f'"{found.version}"'.encode()),
                    (b"x-content-type-options", b"nosniff"),
                ],
            }
        )
        body = b"" if scope["method"] == "HEAD" else found.body
        await send({"type": "http.response.body", "body": body})


# Headers of the page request not sent on with the requests for its documents.
_DROPPED = {b"accept", b"range", b"if-none-match", b"if-modified-since", b"if-range",
            b"content-length", b"content-type"}  # fmt: skip


def _page(path: str) -> tuple[str, dict[str, str]] | None:
    path = path.rstrip("/") or "/"
    for name, pattern in PAGES:
        found = pattern.match(path)
        if found:
            return name, found.groupdict()
    return None


def _base(params: Mapping[str, str]) -> str:
    return f"/{params['workspace']}/{params['root']}"


def _with_accept(headers: list, accept: str) -> list:
    return [*((k, v) for k, v in headers if k != b"accept"), (b"accept", accept.encode())]


def _vary(send: Send) -> Send:
    """``send``, adding ``Vary: Accept`` to the answer: a page path answers HTML or JSON by
    it, and a cache between must not give one for the other."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if not any(k.lower() == b"vary" for k, _ in headers):
                headers.append((b"vary", b"Accept"))
            message = {**message, "headers": headers}
        await send(message)

    return sending


def _filters(query: list[tuple[str, str]]) -> dict[str, Any]:
    """The job list's filters as the form shows them back."""
    values: dict[str, list[str]] = {}
    for key, value in query:
        values.setdefault(key, []).append(value)
    one = {k: v[-1] for k, v in values.items()}
    return {**one, "status": values.get("status", []), "processID": values.get("processID", [])}


def _error_context(answer: Answer) -> dict[str, Any]:
    problem = answer.json()
    if not isinstance(problem, Mapping):
        problem = {}
    return {
        "title": str(problem.get("title") or f"Error {answer.status}"),
        "problem": problem,
        "status": answer.status,
        "detail": str(problem.get("detail") or ""),
    }


def _common(scope: Scope, params: Mapping[str, str], query: list[tuple[str, str]]) -> dict:
    """What the base layout needs: where the page is, and its JSON's URL."""
    kept = [(k, v) for k, v in query if k != "f"]
    json_url = scope["path"] + "?" + urlencode([*kept, ("f", "json")])
    return {
        "workspace": params.get("workspace"),
        "root": params.get("root"),
        "json_url": json_url,
        "path": scope["path"],
    }

