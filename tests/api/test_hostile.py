"""Careless and hostile requests never earn a 5xx: a table of bodies, headers, query
strings, path segments and encodings sent under both roots, each answered below 500 with an
OGC exception (where the server, not the HTTP parser, writes the answer). Then the limits
that keep big requests out: the body limit (413) and the literal limit (400)."""

from __future__ import annotations

import http.client
import json
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy

from ades.api.errors import status_and_type
from ades.db.migrate import upgrade
from ades.db.schema import make_engine
from ades.errors import JobFailed
from ades.model import JobStatus
from ades.settings import Settings
from tests.api.conftest import Live, serve, server_settings
from tests.api.deploying import unique
from tests.db.conftest import POSTGRES, require_postgres

OGC1 = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
EXCEPTIONS = "http://www.opengis.net/def/exceptions/"
ROOTS = ["ogc-api", "wps3"]
JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Case:
    """One request: ``path`` is under ``/demo/{root}`` (``{job}`` is a created job's id);
    ``body`` is sent as it is. ``status`` is the answer expected, when one is certain;
    ``ours`` is False where the HTTP parser answers before the app (its body is not ours)."""

    name: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    ours: bool = True

    def __str__(self) -> str:
        return self.name


def _deep(depth: int) -> bytes:
    return b'{"inputs": {"stringInput": ' + b"[" * depth + b"]" * depth + b"}}"


EXECUTE = "/processes/echo/execution"
BIG = 5 * 1024 * 1024

BODIES = [
    Case("huge body", "POST", EXECUTE, b"{" + b" " * BIG + b"}", JSON, 413),
    Case("huge deploy body", "POST", "/processes", b"#" * BIG,
         {"Content-Type": "application/cwl+yaml"}, 413),
    Case("truncated JSON", "POST", EXECUTE, b'{"inputs": {"stringInput": "a', JSON, 400),
    Case("non-UTF-8 bytes", "POST", EXECUTE, b"\xff\xfe\xfa\x00", JSON, 400),
    Case("non-UTF-8 inside a string", "POST", EXECUTE,
         b'{"inputs": {"stringInput": "\xff"}}', JSON, 400),
    Case("UTF-8 BOM", "POST", EXECUTE, b'\xef\xbb\xbf{"inputs": {"stringInput": "a"}}', JSON,
         400),
    Case("a JSON array", "POST", EXECUTE, b"[1, 2]", JSON, 400),
    Case("a JSON string", "POST", EXECUTE, b'"inputs"', JSON, 400),
    Case("JSON null", "POST", EXECUTE, b"null", JSON),
    Case("inputs a list", "POST", EXECUTE, b'{"inputs": ["stringInput"]}', JSON, 400),
    Case("input of the wrong type", "POST", EXECUTE, b'{"inputs": {"stringInput": {}}}', JSON,
         400),
    Case("input a list of objects", "POST", EXECUTE,
         b'{"inputs": {"stringInput": [{"a": 1}, {"b": 2}]}}', JSON, 400),
    Case("input a reference", "POST", EXECUTE,
         b'{"inputs": {"stringInput": {"href": 5}}}', JSON, 400),
    Case("pause infinite", "POST", EXECUTE,
         b'{"inputs": {"stringInput": "a", "pause": 1e999}}', JSON, 400),
    Case("pause NaN", "POST", EXECUTE, b'{"inputs": {"stringInput": "a", "pause": NaN}}', JSON,
         400),
    Case("mixedInput -Infinity", "POST", "/jobs",
         b'{"process": "echo", "inputs": {"stringInput": "a", "mixedInput": -Infinity}}', JSON,
         400),
    Case("outputs a string", "POST", EXECUTE, b'{"inputs": {"stringInput": "a"}, "outputs": "x"}',
         JSON, 400),
    Case("output options a list", "POST", EXECUTE,
         b'{"inputs": {"stringInput": "a"}, "outputs": {"echoOutput": []}}', JSON),
    Case("response a number", "POST", EXECUTE, b'{"inputs": {"stringInput": "a"}, "response": 5}',
         JSON, 400),
    Case("mode unknown", "POST", EXECUTE, b'{"inputs": {"stringInput": "a"}, "mode": "now"}',
         JSON, 400),
    Case("subscriber a string", "POST", EXECUTE,
         b'{"inputs": {"stringInput": "a"}, "subscriber": "x"}', JSON, 400),
    Case("subscriber URI not a URL", "POST", EXECUTE,
         b'{"inputs": {"stringInput": "a"}, "subscriber": {"successUri": "ftp:x"}}', JSON, 400),
    Case("deeply nested JSON", "POST", EXECUTE, _deep(100_000), JSON, 400),
    Case("nested just below the parser's limit", "POST", EXECUTE, _deep(900), JSON),
    Case("NUL bytes raw", "POST", EXECUTE, b'{"inputs": {"stringInput": "a\x00b"}}', JSON, 400),
    Case("NUL escaped in a string", "POST", EXECUTE,
         b'{"inputs": {"stringInput": "a\\u0000b"}}', JSON, 400),
    Case("lone surrogate", "POST", EXECUTE, b'{"inputs": {"stringInput": "\\ud800"}}', JSON),
    Case("empty body with JSON type", "POST", EXECUTE, b"", JSON, 400),
    Case("job definition an array", "POST", "/jobs", b"[]", JSON, 400),
    Case("job definition without process", "POST", "/jobs", b"{}", JSON, 422),
    Case("job definition process a number", "POST", "/jobs", b'{"process": 5}', JSON),
    Case("job definition unknown process", "POST", "/jobs", b'{"process": "nope"}', JSON, 404),
    Case("job definition non-UTF-8", "POST", "/jobs", b'{"process": "\xc3"}', JSON, 400),
    Case("job update an array", "PATCH", "/jobs/{job}", b"[]", JSON, 400),
    Case("job update a number title", "PATCH", "/jobs/{job}", b'{"title": 5}', JSON, 400),
    Case("job update truncated", "PATCH", "/jobs/{job}", b'{"title": ', JSON, 400),
    Case("job update unknown member", "PATCH", "/jobs/{job}", b'{"status": "successful"}', JSON),
    Case("deploy non-UTF-8 CWL", "POST", "/processes", b"cwlVersion: v1.2\n\xff\xfe",
         {"Content-Type": "application/cwl+yaml"}, 400),
    Case("deploy CWL JSON not JSON", "POST", "/processes", b"{cwl",
         {"Content-Type": "application/cwl+json"}, 400),
    Case("deploy YAML nested deep", "POST", "/processes", b"[" * 50_000 + b"]" * 50_000,
         {"Content-Type": "application/cwl+yaml"}, 400),
    Case("deploy YAML a scalar", "POST", "/processes", b"hello",
         {"Content-Type": "application/cwl+yaml"}, 400),
    Case("deploy YAML tag", "POST", "/processes", b"!!python/object:os.system {}",
         {"Content-Type": "application/cwl+yaml"}, 400),
    Case("deploy package an array", "POST", "/processes", b"[]",
         {"Content-Type": "application/ogcapppkg+json"}, 400),
    Case("deploy executionUnit a string", "POST", "/processes", b'{"executionUnit": "x"}',
         {"Content-Type": "application/ogcapppkg+json"}, 400),
    Case("deploy href a number", "POST", "/processes", b'{"executionUnit": {"href": 5}}',
         {"Content-Type": "application/ogcapppkg+json"}, 400),
    Case("deploy href a file URL", "POST", "/processes",
         b'{"executionUnit": {"href": "file:///etc/passwd"}}',
         {"Content-Type": "application/ogcapppkg+json"}, 400),
    Case("deploy value a number", "POST", "/processes",
         b'{"executionUnit": {"value": 5, "mediaType": "application/cwl+yaml"}}',
         {"Content-Type": "application/ogcapppkg+json"}, 400),
    Case("replace with garbage", "PUT", "/processes/echo", b"\x00\x01",
         {"Content-Type": "application/cwl+yaml"}),
]

HEADERS = [
    Case("Content-Type text/plain", "POST", EXECUTE, b"{}", {"Content-Type": "text/plain"}, 415),
    Case("Content-Type garbage", "POST", EXECUTE, b"{}", {"Content-Type": ";;;/"}),
    Case("Content-Type unknown charset", "POST", EXECUTE, b'{"inputs": {"stringInput": "a"}}',
         {"Content-Type": "application/json; charset=klingon"}),
    Case("Content-Type UTF-16 charset, UTF-8 body", "POST", EXECUTE,
         b'{"inputs": {"stringInput": "abc"}}',
         {"Content-Type": "application/json; charset=utf-16"}),
    Case("Content-Type multipart without boundary", "POST", EXECUTE, b"{}",
         {"Content-Type": "multipart/form-data"}, 415),
    Case("Accept XML", "GET", "/processes", None, {"Accept": "application/xml"}),
    Case("Accept garbage", "GET", "/jobs", None, {"Accept": ";q=x,,/;"}),
    Case("Accept garbage on results", "GET", "/jobs/{job}/results", None, {"Accept": "*/*;q=abc"}),
    Case("Prefer wait not a number", "POST", EXECUTE, b'{"inputs": {"stringInput": "a"}}',
         {**JSON, "Prefer": "wait=soon"}, 400),
    Case("Prefer wait not a number (nan)", "POST", EXECUTE, b'{"inputs": {"stringInput": "a"}}',
         {**JSON, "Prefer": "wait=nan"}),
    Case("Prefer wait negative", "POST", EXECUTE, b'{"inputs": {"stringInput": "a"}}',
         {**JSON, "Prefer": "wait=-5"}),
    Case("Prefer wait infinite", "POST", EXECUTE, b'{"inputs": {"stringInput": "a"}}',
         {**JSON, "Prefer": "wait=inf"}),
    Case("Prefer garbage", "POST", EXECUTE, b'{"inputs": {"stringInput": "a"}}',
         {**JSON, "Prefer": ",,;=respond-async;;wait"}),
    Case("Prefer non-ASCII", "POST", EXECUTE, b'{"inputs": {"stringInput": "a"}}',
         {**JSON, "Prefer": "wait=\u00e9"}),
    Case("huge header", "GET", "/processes", None, {"X-Junk": "a" * 100_000}, ours=False),
    Case("Content-Length not a number", "POST", EXECUTE, b"{}",
         {**JSON, "Content-Length": "abc"}, ours=False),
    Case("Content-Length negative", "POST", EXECUTE, b"{}", {**JSON, "Content-Length": "-1"},
         ours=False),
    Case("Content-Length past 64 bits", "POST", EXECUTE, b"{}",
         {**JSON, "Content-Length": "9" * 30}, ours=False),
    Case("Content-Length huge", "POST", EXECUTE, b"{}", {**JSON, "Content-Length": "9" * 12},
         413),
    Case("Content-Encoding gzip that is not", "POST", EXECUTE, b'{"inputs": {"stringInput": "a"}}',
         {**JSON, "Content-Encoding": "gzip"}),
    Case("Transfer-Encoding unknown", "POST", EXECUTE, b"{}",
         {**JSON, "Transfer-Encoding": "bogus"}, ours=False),
]

QUERIES = [
    Case("limit not a number", "GET", "/processes?limit=abc", status=400),
    Case("limit zero", "GET", "/jobs?limit=0", status=400),
    Case("limit negative", "GET", "/processes?limit=-1", status=400),
    Case("limit enormous", "GET", "/jobs?limit=" + "9" * 40, status=400),
    Case("limit a float", "GET", "/jobs?limit=1.5", status=400),
    Case("limit repeated", "GET", "/jobs?limit=1&limit=2"),
    Case("offset enormous", "GET", "/jobs?offset=" + "9" * 40),
    Case("offset enormous on processes", "GET", "/processes?offset=" + "9" * 40),
    Case("offset past the end", "GET", "/jobs?offset=9223372036854775807"),
    Case("offset negative", "GET", "/jobs?offset=-3", status=400),
    Case("datetime garbage", "GET", "/jobs?datetime=yesterday", status=400),
    Case("datetime impossible date", "GET", "/jobs?datetime=2020-13-45T25:61:00Z", status=400),
    Case("datetime three parts", "GET", "/jobs?datetime=a/b/c", status=400),
    Case("datetime reversed", "GET", "/jobs?datetime=2030-01-01T00:00:00Z/2020-01-01T00:00:00Z",
         status=400),
    Case("datetime open both ends", "GET", "/jobs?datetime=../..", status=200),
    Case("datetime past year 9999 in UTC", "GET", "/jobs?datetime=9999-12-31T23:59:59-23:59",
         status=400),
    Case("status unknown", "GET", "/jobs?status=exploded", status=400),
    Case("status repeated", "GET", "/jobs?status=failed&status=failed&status=running", status=200),
    Case("processID repeated and unicode", "GET",
         "/jobs?processID=%C3%BC%E6%BC%A2&processID=echo&processID=", status=200),
    Case("processID with NUL", "GET", "/jobs?processID=a%00b", status=400),
    Case("datetime with a newline", "GET", "/jobs?datetime=2020-01-01T00:00:00Z%0A", status=400),
    Case("minDuration not a number", "GET", "/jobs?minDuration=long", status=400),
    Case("minDuration nan", "GET", "/jobs?minDuration=nan"),
    Case("maxDuration infinite", "GET", "/jobs?maxDuration=inf"),
    Case("minDuration negative", "GET", "/jobs?minDuration=-1", status=400),
    Case("unknown parameter", "GET", "/jobs?colour=red"),
    Case("query non-UTF-8", "GET", "/jobs?processID=%ff%fe", status=200),
    Case("query without values", "GET", "/jobs?&&=&limit&offset"),
    Case("logs level unknown", "GET", "/jobs/{job}/logs?level=loud", status=400),
    Case("logs offset not an id", "GET", "/jobs/{job}/logs?offset=abc", status=400),
    Case("logs offset enormous", "GET", "/jobs/{job}/logs?offset=" + "9" * 40),
    Case("logs limit zero", "GET", "/jobs/{job}/logs?limit=0", status=400),
    Case("result path outside", "GET", "/jobs/{job}/results/echoOutput?path=../../x"),
    Case("deploy w empty", "POST", "/processes?w=", b"cwlVersion: v1.2",
         {"Content-Type": "application/cwl+yaml"}, 400),
]

PATHS = [
    Case("unknown process", "GET", "/processes/nope", status=404),
    Case("unknown job", "GET", "/jobs/nope", status=404),
    Case("unknown job's results", "GET", "/jobs/nope/results", status=404),
    Case("unknown job's output", "GET", "/jobs/nope/results/x", status=404),
    Case("unknown job's logs", "GET", "/jobs/nope/logs", status=404),
    Case("unknown job's estimate", "GET", "/jobs/nope/estimate", status=404),
    Case("unknown job's definition", "GET", "/jobs/nope/definition", status=404),
    Case("dismiss unknown job", "DELETE", "/jobs/nope", status=404),
    Case("start unknown job", "POST", "/jobs/nope/results", status=404),
    Case("update unknown job", "PATCH", "/jobs/nope", b"{}", JSON, 404),
    Case("undeploy unknown process", "DELETE", "/processes/nope", status=404),
    Case("execute unknown process", "POST", "/processes/nope/execution", b"{}", JSON, 404),
    Case("unknown output of a job", "GET", "/jobs/{job}/results/nope"),
    Case("dot-dot", "GET", "/processes/../jobs"),
    Case("dot-dot encoded", "GET", "/processes/%2e%2e/%2e%2e"),
    # Starlette routes the decoded path: this is GET …/processes/echo/execution, a 405.
    Case("encoded slash", "GET", "/processes/echo%2Fexecution"),
    Case("encoded slash in a job id", "GET", "/jobs/a%2Fb/results", status=404),
    Case("very long id", "GET", "/processes/" + "a" * 8000, status=404),
    Case("very long job id", "DELETE", "/jobs/" + "b" * 8000, status=404),
    Case("non-ASCII id", "GET", "/processes/%C3%BCn%C3%AFc%C3%B6d%C3%A9", status=404),
    Case("non-ASCII job id", "GET", "/jobs/%E6%BC%A2%E5%AD%97", status=404),
    Case("raw non-ASCII bytes", "GET", "/processes/\u00e9", ours=False),
    Case("percent garbage", "GET", "/processes/%ZZ%", status=404),
    Case("percent non-UTF-8", "GET", "/processes/%ff%fe", status=404),
    Case("percent NUL", "GET", "/jobs/%00", status=400),
    Case("percent NUL in a process id", "GET", "/processes/%00/package", status=400),
    Case("newline in a job id", "GET", "/jobs/a%0Ab", status=400),
    Case("newline at the end of a process id", "GET", "/processes/echo%0A", status=400),
    Case("carriage return in a job id", "DELETE", "/jobs/%0D", status=400),
    Case("double slash", "GET", "//processes", status=404),
    Case("unknown route", "GET", "/nothing-here", status=404),
    Case("method not allowed", "PATCH", "/processes", b"{}", JSON, 405),
    Case("unknown method", "BREW", "/processes", ours=False),
]

TABLE = BODIES + HEADERS + QUERIES + PATHS
# What reaches the database as the client wrote it: PostgreSQL refuses some of what SQLite
# stores (a NUL in text, NaN in JSON) and binds numbers of its own sizes.
DATABASE_CASES = [c for c in BODIES + QUERIES + PATHS if c.name != "deploy YAML nested deep"]


class RawConnection(http.client.HTTPConnection):
    """Sends the request line's bytes as given: raw UTF-8 in a path included."""

    def _encode_request(self, request: str) -> bytes:
        return request.encode("latin-1")


def send(base: str, case: Case, prefix: str) -> tuple[int, dict[str, str], bytes]:
    """The request exactly as the case says (http.client sends paths and headers as given,
    unlike requests, which normalises them)."""
    host = urlsplit(base)
    conn = RawConnection(host.hostname, host.port, timeout=90)
    try:
        path = (prefix + case.path).encode("utf-8").decode("latin-1")
        conn.putrequest(case.method, path, skip_accept_encoding=True)
        headers = dict(case.headers)
        if case.body is not None and "Content-Length" not in headers and \
                "Transfer-Encoding" not in headers:
            headers["Content-Length"] = str(len(case.body))
        for name, value in headers.items():
            conn.putheader(name, value.encode("utf-8"))
        conn.endheaders()
        if case.body is not None:
            try:
                conn.send(case.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # answered (413) before the whole body was sent
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def _created_job(server: Live) -> str:
    r = server.post("/demo/ogc-api/jobs", json={"process": "echo", "inputs": {"stringInput": "a"}})
    assert r.status_code == 201, r.text
    return r.json()["jobID"]


@pytest.fixture(scope="module")
def created_job(live) -> str:
    return _created_job(live)


@pytest.fixture(scope="module")
def postgres_live(seaweedfs, tmp_path_factory) -> Iterator[Live]:
    """A second live server whose job store is PostgreSQL (``ADES_TEST_POSTGRES_URL``), in
    a schema of its own; skipped or failed as the PostgreSQL cases of tests/db are."""
    require_postgres()
    schema = f"hostile_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(POSTGRES)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = sqlalchemy.make_url(POSTGRES).update_query_dict({"options": f"-csearch_path={schema}"})
    # A shared database is migrated on purpose, as `ades db upgrade` does, not by the server.
    migrated = make_engine(url.render_as_string(hide_password=False))
    upgrade(migrated)
    migrated.dispose()
    settings = replace(
        server_settings(tmp_path_factory.mktemp("postgres-server"), seaweedfs,
                        bucket="ades-hostile-postgres"),
        database_url=url.render_as_string(hide_password=False),
    )
    try:
        with serve(settings) as server:
            yield server
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def assert_ogc_exception(status: int, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    assert content_type.split(";")[0] in ("application/json", "application/problem+json"), (
        status, content_type, body[:300])
    problem = json.loads(body)
    assert problem["type"].startswith(EXCEPTIONS), problem
    assert problem["status"] == status
    assert problem["detail"], problem
    return problem


def answered_below_500(server: Live, case: Case, root: str, job: str) -> None:
    """Send ``case`` under ``root``: below 500, the status expected, an OGC exception."""
    case = replace(case, path=case.path.format(job=job))
    status, headers, body = send(server.base, case, f"/demo/{root}")
    assert status < 500, (status, body[:500])
    if case.status is not None:
        assert status == case.status, (status, body[:500])
    if case.ours and status >= 400:
        assert_ogc_exception(status, headers, body)


@pytest.mark.parametrize("root", ROOTS)
@pytest.mark.parametrize("case", TABLE, ids=str)
def test_hostile_request_is_answered_below_500(live, created_job, root, case):
    answered_below_500(live, case, root, created_job)


# Whole paths, not under a root: empty segments that Flask's router would merge away.
SERVER_PATHS = ["//demo/ogc-api/processes", "/demo//ogc-api/processes", "//",
                "/demo/ogc-api/jobs//results", "//healthz"]


@pytest.mark.parametrize("path", SERVER_PATHS)
def test_an_empty_path_segment_is_404_not_a_redirect_or_500(live, path):
    status, headers, body = send(live.base, Case(path, "GET", path), "")
    assert status == 404, (status, body[:300])
    assert_ogc_exception(status, headers, body)


@pytest.fixture(scope="module")
def postgres_job(postgres_live) -> str:
    return _created_job(postgres_live)


@pytest.mark.parametrize("case", DATABASE_CASES, ids=str)
def test_hostile_request_is_answered_below_500_on_postgresql(postgres_live, postgres_job, case):
    answered_below_500(postgres_live, case, "ogc-api", postgres_job)


def _problem(r) -> dict[str, Any]:
    return assert_ogc_exception(r.status_code, dict(r.headers), r.content)


@pytest.mark.parametrize("root", ROOTS)
def test_a_body_over_the_limit_is_413_and_stores_nothing(live, root):
    before = live.get("/demo/ogc-api/jobs", params={"limit": 1}).json()["numberMatched"]
    body = json.dumps({"inputs": {"stringInput": "x" * BIG}})
    r = live.post(f"/demo/{root}/processes/echo/execution", data=body, headers=JSON)
    assert r.status_code == 413
    problem = _problem(r)
    assert problem["type"] == OGC1 + "payload-too-large"
    assert "ADES_MAX_BODY_BYTES" in problem["detail"]
    assert str(live.server.services.settings.max_body_bytes) in problem["detail"]
    assert live.get("/demo/ogc-api/jobs", params={"limit": 1}).json()["numberMatched"] == before


def test_a_chunked_body_over_the_limit_is_counted_as_it_arrives(live):
    def chunks():
        for _ in range(BIG // 65536 + 1):
            yield b" " * 65536

    r = live.post("/demo/ogc-api/processes/echo/execution", data=chunks(), headers=JSON)
    assert r.status_code == 413
    assert "ADES_MAX_BODY_BYTES" in _problem(r)["detail"]


def test_a_chunked_body_under_the_limit_is_served(live):
    def chunks():
        yield b'{"inputs": '
        yield b'{"stringInput": "chunked"}}'

    r = live.post("/demo/ogc-api/processes/echo/execution", data=chunks(),
                  headers={**JSON, "Accept": "text/plain"})
    assert r.status_code == 200, r.text
    assert r.text == "chunked"


LITERAL = 200_000  # over the default limit, and over Linux's 128 KiB for one argument


@pytest.mark.parametrize("root", ROOTS)
@pytest.mark.parametrize(
    ("request_of", "path", "method"),
    [
        (lambda value: {"inputs": {"stringInput": value}}, "/processes/echo/execution", "post"),
        (lambda value: {"process": "echo", "inputs": {"stringInput": value}}, "/jobs", "post"),
        (lambda value: {"inputs": {"stringInput": "a", "mixedInput": {"value": value}}},
         "/processes/echo/jobs", "post"),
    ],
    ids=["execute", "create job", "qualified value"],
)
def test_a_literal_over_the_limit_is_400_naming_the_input(live, root, request_of, path, method):
    before = live.get("/demo/ogc-api/jobs", params={"limit": 1}).json()["numberMatched"]
    r = getattr(live.http, method)(live.url(f"/demo/{root}{path}"), json=request_of("x" * LITERAL))
    assert r.status_code == 400, r.text
    problem = _problem(r)
    assert problem["type"] == OGC1 + "invalid-input"
    limit = live.server.services.settings.max_literal_bytes
    assert f"{LITERAL} bytes" in problem["detail"]
    assert f"{limit} bytes" in problem["detail"]
    assert "ADES_MAX_LITERAL_BYTES" in problem["detail"]
    assert "'stringInput'" in problem["detail"] or "'mixedInput'" in problem["detail"]
    assert live.get("/demo/ogc-api/jobs", params={"limit": 1}).json()["numberMatched"] == before


def test_a_literal_over_the_limit_is_refused_by_patch(live, created_job):
    r = live.http.patch(live.url(f"/demo/ogc-api/jobs/{created_job}"),
                        json={"inputs": {"stringInput": "\u00e9" * LITERAL}})
    assert r.status_code == 400, r.text
    problem = _problem(r)
    assert problem["type"] == OGC1 + "invalid-input"
    # Counted in UTF-8 bytes, as the tool's command line gets them.
    assert f"input 'stringInput': its value is {2 * LITERAL} bytes" in problem["detail"]
    definition = live.get(f"/demo/ogc-api/jobs/{created_job}/definition").json()
    assert definition["inputs"] == {"stringInput": "a"}


def test_a_literal_at_the_limit_runs(live):
    limit = live.server.services.settings.max_literal_bytes
    r = live.post("/demo/ogc-api/processes/echo/execution",
                  json={"inputs": {"stringInput": "y" * limit}}, headers={"Accept": "text/plain"})
    # echo reads its output back with loadContents, which CWL caps at 64 KiB.
    assert r.status_code == 200, r.text
    assert r.text == "y" * limit


def test_non_utf8_body_is_400_saying_so(live):
    r = live.post("/demo/wps3/processes/echo/execution",
                  data=b'{"inputs": {"stringInput": "\xff"}}', headers=JSON)
    assert r.status_code == 400
    problem = _problem(r)
    assert problem["type"] == OGC1 + "invalid-parameter-value"
    assert "not utf-8 text" in problem["detail"]


@pytest.mark.parametrize(("method", "path"), [("post", "/jobs"), ("patch", "/jobs/{job}"),
                                             ("post", "/processes/echo/execution")])
def test_a_body_that_is_not_an_object_is_400_saying_so(live, created_job, method, path):
    r = live.http.request(method, live.url("/demo/ogc-api" + path.format(job=created_job)),
                          json=[1])
    assert r.status_code == 400, r.text
    problem = _problem(r)
    assert problem["type"] == OGC1 + "invalid-parameter-value"
    assert problem["detail"] == "the request body: [1] is not of type 'object'"


def test_deeply_nested_body_is_400_saying_so(live):
    r = live.post("/demo/ogc-api/processes/echo/execution", data=_deep(100_000), headers=JSON)
    assert r.status_code == 400
    assert "nests too deeply" in _problem(r)["detail"]


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("/processes/echo/execution", {"inputs": {"stringInput": "a\u0000b"}},
         "inputs.stringInput"),
        ("/processes/echo/execution", {"inputs": {"stringInput": ["a", "b\u0000"]}},
         "inputs.stringInput[1]"),
        ("/jobs", {"process": "echo\u0000"}, "process"),
        ("/jobs", {"process": "echo", "title": "\u0000", "inputs": {"stringInput": "a"}},
         "title"),
        ("/processes/echo/jobs", {"inputs": {"stringInput": "a"},
                                  "subscriber": {"successUri\u0000": "http://x/"}},
         "subscriber.successUri\u0000"),
    ],
)
def test_a_nul_character_anywhere_in_a_json_body_is_400_saying_where(live, path, body, where):
    """A NUL cannot reach a command line, and PostgreSQL cannot store it in a text column."""
    r = live.post(f"/demo/ogc-api{path}", json=body)
    assert r.status_code == 400, r.text
    problem = _problem(r)
    assert problem["type"] == OGC1 + "invalid-parameter-value"
    assert f"NUL character (U+0000) at '{where}'" in problem["detail"]


@pytest.mark.parametrize("number", ["1e999", "NaN", "-Infinity"])
def test_a_number_json_does_not_have_is_400_saying_where(live, number):
    body = '{"inputs": {"stringInput": "a", "pause": ' + number + "}}"
    r = live.post("/demo/ogc-api/processes/echo/execution", data=body, headers=JSON)
    assert r.status_code == 400, r.text
    problem = _problem(r)
    assert problem["type"] == OGC1 + "invalid-parameter-value"
    assert "a number JSON does not have" in problem["detail"]
    assert "at 'inputs.pause'" in problem["detail"]


def test_a_nul_character_in_a_job_update_is_400(live, created_job):
    r = live.http.patch(live.url(f"/demo/wps3/jobs/{created_job}"), json={"title": "a\u0000"})
    assert r.status_code == 400, r.text
    assert "at 'title'" in _problem(r)["detail"]


def test_a_request_larger_than_the_limit_on_a_raw_socket_gets_413(live):
    """A client that declares a large body and never sends it is answered at once."""
    host = urlsplit(live.base)
    with socket.create_connection((host.hostname, host.port), timeout=30) as sock:
        sock.sendall(b"POST /demo/ogc-api/processes/echo/execution HTTP/1.1\r\n"
                     b"Host: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100000000\r\n\r\n{")
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413 ")


# A job that fails answers job-failed with a status that says whose the failure is: only
# the server's own failures are 5xx.

BROKEN_CATALOG = """cwlVersion: v1.2
class: CommandLineTool
id: {id}
baseCommand: [sh, -c, 'mkdir out && printf "{{" > out/catalog.json']
inputs: []
outputs:
  out:
    type: Directory
    outputBinding: {{glob: out}}
"""


@pytest.mark.parametrize("root", ROOTS)
def test_a_job_whose_outputs_cannot_be_staged_out_is_422(live, root):
    process_id = unique("broken-catalog")
    r = live.post(f"/demo/{root}/processes", data=BROKEN_CATALOG.format(id=process_id),
                  headers={"Content-Type": "application/cwl+yaml"})
    assert r.status_code == 201, r.text
    try:
        r = live.post(f"/demo/{root}/processes/{process_id}/execution", json={"inputs": {}})
        assert r.status_code == 422, r.text
        problem = _problem(r)
        assert problem["type"] == OGC1 + "job-failed"
        assert "stage-out failed" in problem["detail"] and "catalog.json" in problem["detail"]
        jobs = live.get(f"/demo/{root}/jobs", params={"processID": process_id}).json()["jobs"]
        assert jobs[0]["failure"]["category"] == "stage-out"
    finally:
        live.delete(f"/demo/{root}/processes/{process_id}")


def test_a_sync_execution_whose_reference_cannot_be_read_is_424(live):
    href = "s3://no-such-bucket-here/B04.tif"
    r = live.post("/demo/ogc-api/processes/ndvi/execution",
                  json={"inputs": {"red": {"href": href}, "nir": {"href": href}}})
    assert r.status_code == 424, r.text
    problem = _problem(r)
    assert problem["type"] == OGC1 + "job-failed"
    assert "stage-in failed" in problem["detail"] and href in problem["detail"]


def test_a_job_failed_by_the_server_is_the_only_5xx(live):
    """A job failed with category system, as restart recovery leaves one (tests/api/
    test_restart.py makes them for real; here the record is written as it would be)."""
    r = live.post("/demo/ogc-api/jobs", json={"process": "echo", "inputs": {"stringInput": "a"}})
    job_id = r.json()["jobID"]
    assert live.server.services.jobs.store.update(
        job_id, only_in=[JobStatus.CREATED], status=JobStatus.FAILED.value,
        message="the server stopped while the job was running", failure={"category": "system"})
    r = live.get(f"/demo/wps3/jobs/{job_id}/results")
    assert r.status_code == 500
    problem = _problem(r)
    assert problem["type"] == OGC1 + "job-failed"
    assert "the server stopped" in problem["detail"]


@pytest.mark.parametrize(
    ("category", "status"),
    [("input", 400), ("stage-in", 424), ("application", 422), ("stage-out", 422),
     ("system", 500), (None, 500)],
)
def test_failure_category_decides_the_status(category, status):
    assert status_and_type(JobFailed("j", "it broke", category)) == (status, OGC1 + "job-failed")


def test_both_limits_come_from_the_environment(seaweedfs, tmp_path):
    env = {"ADES_MAX_BODY_BYTES": "2000", "ADES_MAX_LITERAL_BYTES": "10"}
    limits = Settings.from_env(env)
    assert (limits.max_body_bytes, limits.max_literal_bytes) == (2000, 10)
    settings = replace(server_settings(tmp_path, seaweedfs, bucket="ades-hostile-limits"),
                       max_body_bytes=limits.max_body_bytes,
                       max_literal_bytes=limits.max_literal_bytes)
    with serve(settings) as server:
        r = server.post("/demo/ogc-api/jobs", json={"process": "echo", "title": "t" * 2000})
        assert r.status_code == 413
        assert "at most 2000 bytes" in _problem(r)["detail"]
        r = server.post("/demo/wps3/jobs", json={"process": "echo",
                                                 "inputs": {"stringInput": "eleven char"}})
        assert r.status_code == 400
        assert "its value is 11 bytes, more than the 10 bytes" in _problem(r)["detail"]
        r = server.post("/demo/wps3/jobs", json={"process": "echo",
                                                 "inputs": {"stringInput": "ten chars!"}})
        assert r.status_code == 201, r.text
