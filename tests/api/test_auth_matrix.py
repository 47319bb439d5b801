"""Isolation, cell by cell: every operation of the contract, under both roots of workspace
demo and among the server's own paths, called with each kind of credential (none, a
malformed token, a forged one, an expired one, lab's token, demo's token, the admin token)
on a request that would succeed: a deployed process, a finished job, a created job of
demo's own. Whoever may not use demo gets a 401 (no, bad, forged or expired credentials:
with ``WWW-Authenticate: Bearer``) or a 403, and nothing changes; demo's token and the admin
token get the operation's own answer; the operations the contract leaves open (``security:
[]``) answer everyone alike.

The openEO root (``openapi/openeo.yaml``) has its own rows, with openEO's answers: no
credentials is a 401 ``AuthenticationRequired``, a token that is malformed, forged or
expired a 403 ``TokenInvalid``, lab's token a 403 ``PermissionsInsufficient``; tokens are
sent as openEO clients send them (``Bearer basic//<token>``, and as the password of
GET /credentials/basic).

The rows are the contracts' operations: an operation without an expectation below, or an
expectation naming no operation, fails ``test_every_operation_has_a_row``, so a new route
cannot be added without saying who may call it."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import update

from ades.api.spec import OPENEO_SPEC_PATH, ROOTS, SERVER_PATHS, load_spec
from ades.auth.tokens import TokenStore
from ades.db.schema import api_tokens
from tests.api.conftest import Live, Secured, poll
from tests.api.deploying import CWL_YAML, package, unique
from tests.api.test_apex_dispatcher import deploy_stac_items

METHODS = ("get", "put", "post", "delete", "patch")
CREDENTIALS = ("none", "malformed", "forged", "expired", "lab", "demo", "admin")
# Who may use demo: demo's own token and the admin token.
ALLOWED = {"demo", "admin"}
UNAUTHENTICATED = {"none", "malformed", "forged", "expired"}
ECHO = {"inputs": {"stringInput": "matrix"}}
ASYNC = {"Prefer": "respond-async"}
# What the refusal of each credential says.
WHY = {
    "none": "carries no credentials",
    "malformed": "not an API token of this server",
    "forged": "is unknown or revoked",
    "expired": "expired at",
    "lab": "may not use workspace 'demo'",
}


@dataclass
class Call:
    """One request of a cell: ``path`` is under the root (``/demo/<root>``), or the
    server's own when the operation is; ``untouched`` asserts, with demo's own token, that
    a refused call changed nothing."""

    method: str
    path: str
    kw: dict[str, Any] = field(default_factory=dict)
    untouched: Callable[[Live], None] | None = None


class Demo:
    """What the matrix calls on, made in demo with demo's token: shared objects for the
    calls that change nothing, fresh ones for the calls that destroy."""

    def __init__(self, live: Live):
        self.live = live
        self.started: list[str] = []  # jobs the matrix made run: waited for at the end
        self.process = self.deploy()
        self.stac = self.start_stac_job()  # runs while the others are made
        self.job = self._finished(ECHO)
        self.file_job = self._finished(
            {**ECHO, "outputs": {"echoOutput": {"transmissionMode": "reference"}}}
        )
        href = self.live.get(f"/demo/ogc-api/jobs/{self.file_job}/results").json()[
            "echoOutput"
        ]["href"]
        # The route itself, without the signature the results' link carries (a signed link
        # opens without a token: tests/api/test_result_downloads.py).
        self.file_path = href.split("?", 1)[0].split("/download/", 1)[1]
        self.created = self.create()

    def deploy(self) -> str:
        pid = unique("matrix")
        r = self.live.post("/demo/ogc-api/processes", data=package("greet", pid),
                           headers=CWL_YAML)
        assert r.status_code == 201, r.text
        return pid

    def create(self) -> str:
        r = self.live.post("/demo/ogc-api/jobs", json={"process": "echo", **ECHO})
        assert r.status_code == 201, r.text
        return r.json()["jobID"]

    def _finished(self, body: dict) -> str:
        r = self.live.post("/demo/ogc-api/processes/echo/execution", json=body, headers=ASYNC)
        assert r.status_code == 201, r.text
        done = self.live.wait_for(r.headers["Location"], {"successful", "failed"})
        assert done["status"] == "successful", done
        return r.json()["jobID"]

    def status(self, job_id: str) -> str:
        return self.live.get(f"/demo/ogc-api/jobs/{job_id}").json()["status"]

    @functools.cached_property
    def stac_job(self) -> str:
        """The job of ``start_stac_job`` once finished (its output 'items' a STAC catalog)."""
        done = self.live.wait_for(self.live.url(f"/demo/ogc-api/jobs/{self.stac}"),
                                  {"successful", "failed"})
        assert done["status"] == "successful", done
        return self.stac

    def start_stac_job(self) -> str:
        pid = deploy_stac_items(self.live, "demo")
        r = self.live.post(f"/demo/ogc-api/processes/{pid}/execution",
                           json={"inputs": {"word": "matrix", "count": 1}})
        assert r.status_code == 201, r.text
        return r.json()["jobID"]


def _process_kept(pid: str) -> Callable[[Live], None]:
    def check(live: Live) -> None:
        assert live.get(f"/demo/ogc-api/processes/{pid}").status_code == 200

    return check


def _job_still_created(job_id: str) -> Callable[[Live], None]:
    def check(live: Live) -> None:
        assert live.get(f"/demo/ogc-api/jobs/{job_id}").json()["status"] == "created"

    return check


def _undeploy(demo: Demo) -> Call:
    pid = demo.deploy()
    return Call("delete", f"/processes/{pid}", untouched=_process_kept(pid))


def _on_fresh_job(method: str, suffix: str = "") -> Callable[[Demo], Call]:
    def make(demo: Demo) -> Call:
        job_id = demo.create()
        return Call(method, f"/jobs/{job_id}{suffix}", untouched=_job_still_created(job_id))

    return make


def _update(demo: Demo) -> Call:
    title = unique("title")

    def unchanged(live: Live) -> None:
        definition = live.get(f"/demo/ogc-api/jobs/{demo.created}/definition").json()
        assert definition.get("title") != title, definition

    return Call("patch", f"/jobs/{demo.created}", {"json": {"title": title}}, unchanged)


def _deploy(demo: Demo) -> Call:
    pid = unique("matrix")

    def not_deployed(live: Live) -> None:
        assert live.get(f"/demo/ogc-api/processes/{pid}").status_code == 404

    return Call("post", "/processes", {"data": package("greet", pid), "headers": CWL_YAML},
                not_deployed)


def _execute(path: str) -> Callable[[Demo], Call]:
    return lambda demo: Call("post", path, {"json": ECHO, "headers": ASYNC})


def _get(path: str, **kw: Any) -> Callable[[Demo], Call]:
    return lambda demo: Call("get", path.format(d=demo), kw)


# (path template, method) → (the status demo's and the admin token get, the request).
ROOT_OPERATIONS: dict[tuple[str, str], tuple[int, Callable[[Demo], Call]]] = {
    ("/", "get"): (200, _get("")),
    ("/conformance", "get"): (200, _get("/conformance")),
    ("/api", "get"): (200, _get("/api")),
    ("/processes", "get"): (200, _get("/processes")),
    ("/processes", "post"): (201, _deploy),
    ("/processes/{processId}", "get"): (200, _get("/processes/{d.process}")),
    ("/processes/{processId}", "put"): (204, lambda d: Call(
        "put", f"/processes/{d.process}", {"data": package("greet", d.process),
                                           "headers": CWL_YAML}, _process_kept(d.process))),
    ("/processes/{processId}", "post"): (201, _execute("/processes/echo")),
    ("/processes/{processId}", "delete"): (204, _undeploy),
    ("/processes/{processId}/package", "get"): (200, _get("/processes/{d.process}/package")),
    ("/processes/{processId}/execution", "post"): (201, _execute("/processes/echo/execution")),
    ("/processes/{processId}/jobs", "post"): (201, _execute("/processes/echo/jobs")),
    ("/jobs", "get"): (200, _get("/jobs")),
    ("/jobs", "post"): (201, lambda d: Call("post", "/jobs", {"json": {"process": "echo",
                                                                      **ECHO}})),
    ("/jobs/{jobId}", "get"): (200, _get("/jobs/{d.job}")),
    ("/jobs/{jobId}", "delete"): (200, _on_fresh_job("delete")),
    ("/jobs/{jobId}", "patch"): (204, _update),
    ("/jobs/{jobId}/results", "get"): (200, _get("/jobs/{d.job}/results")),
    ("/jobs/{jobId}/results", "post"): (202, _on_fresh_job("post", "/results")),
    ("/jobs/{jobId}/results", "delete"): (200, _on_fresh_job("delete", "/results")),
    ("/jobs/{jobId}/results/{outputId}", "get"): (200, _get("/jobs/{d.job}/results/echoOutput")),
    ("/jobs/{jobId}/results/{outputId}/collection", "get"): (
        200, lambda d: Call("get", f"/jobs/{d.stac_job}/results/items/collection")),
    ("/jobs/{jobId}/download/{path}", "get"): (
        302, _get("/jobs/{d.file_job}/download/{d.file_path}", allow_redirects=False)),
    ("/jobs/{jobId}/definition", "get"): (200, _get("/jobs/{d.job}/definition")),
    ("/jobs/{jobId}/logs", "get"): (200, _get("/jobs/{d.job}/logs")),
    # A finished job: its stream ends after its events.
    ("/jobs/{jobId}/events", "get"): (200, _get("/jobs/{d.job}/events")),
    ("/jobs/{jobId}/estimate", "get"): (200, _get("/jobs/{d.job}/estimate")),
}

SERVER_OPERATIONS: dict[tuple[str, str], int] = {
    ("/", "get"): 200,
    ("/healthz", "get"): 200,
    ("/readyz", "get"): 200,
    ("/metrics", "get"): 200,
}


def _operations(paths: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (path, method): item[method]
        for path, item in paths.items()
        for method in METHODS
        if method in item
    }


SPEC = load_spec()
SPEC_ROOT = _operations(SPEC["paths"])
SPEC_SERVER = _operations(SPEC.get(SERVER_PATHS, {}))


def _open(operation: dict[str, Any], contract: dict[str, Any] = SPEC) -> bool:
    """Whether the contract lets anyone call it (``security: []``, or no security at all)."""
    return operation.get("security", contract.get("security", [])) == []


# openEO: (path template, method) → (the status demo's and the admin token get, the
# request). Paths are under /demo/openeo/1.2, or the server's own when they are absolute.
OPENEO_GRAPH = {"process_graph": {"run1": {"process_id": "echo", "namespace": "demo",
                                           "arguments": {"stringInput": "matrix"},
                                           "result": True}}}


def _openeo_create(demo: Demo) -> Call:
    title = unique("openeo-title")

    def not_created(live: Live) -> None:
        jobs = live.get("/demo/ogc-api/jobs", params={"limit": 1000}).json()["jobs"]
        assert title not in {j.get("title") for j in jobs}

    return Call("post", "/jobs", {"json": {"process": OPENEO_GRAPH, "title": title}},
                not_created)


OPENEO_OPERATIONS: dict[tuple[str, str], tuple[int, Callable[[Demo], Call]]] = {
    ("/{workspace}/openeo/.well-known/openeo", "get"): (
        200, _get("/demo/openeo/.well-known/openeo")),
    ("/", "get"): (200, _get("/")),
    ("/conformance", "get"): (200, _get("/conformance")),
    ("/credentials/basic", "get"): (200, _get("/credentials/basic")),
    ("/credentials/oidc", "get"): (200, _get("/credentials/oidc")),
    ("/file_formats", "get"): (200, _get("/file_formats")),
    ("/processes", "get"): (200, _get("/processes")),
    ("/jobs", "get"): (200, _get("/jobs")),
    ("/jobs", "post"): (201, _openeo_create),
    ("/jobs/{job_id}", "get"): (200, _get("/jobs/{d.job}")),
    ("/jobs/{job_id}", "patch"): (204, _update),
    ("/jobs/{job_id}", "delete"): (204, _on_fresh_job("delete")),
    ("/jobs/{job_id}/results", "get"): (200, _get("/jobs/{d.job}/results")),
    ("/jobs/{job_id}/results", "post"): (202, _on_fresh_job("post", "/results")),
    ("/jobs/{job_id}/results", "delete"): (204, _on_fresh_job("delete", "/results")),
    ("/jobs/{job_id}/logs", "get"): (200, _get("/jobs/{d.job}/logs")),
    ("/jobs/{job_id}/estimate", "get"): (200, _get("/jobs/{d.job}/estimate")),
    ("/result", "post"): (200, lambda d: Call("post", "/result",
                                              {"json": {"process": OPENEO_GRAPH}})),
}
OPENEO_SPEC = load_spec(OPENEO_SPEC_PATH)
OPENEO_SPEC_OPERATIONS = {
    **_operations(OPENEO_SPEC["paths"]),
    **_operations(OPENEO_SPEC.get(SERVER_PATHS, {})),
}
# What openEO answers each refused credential: (status, code).
OPENEO_REFUSED = {
    "none": (401, "AuthenticationRequired"),
    "malformed": (403, "TokenInvalid"),
    "forged": (403, "TokenInvalid"),
    "expired": (403, "TokenInvalid"),
    "lab": (403, "PermissionsInsufficient"),
}


def test_every_operation_has_a_row():
    assert set(OPENEO_SPEC_OPERATIONS) - set(OPENEO_OPERATIONS) == set(), "openEO: no row"
    assert set(OPENEO_OPERATIONS) - set(OPENEO_SPEC_OPERATIONS) == set(), "openEO: no operation"
    assert {key for key, op in OPENEO_SPEC_OPERATIONS.items() if _open(op, OPENEO_SPEC)} == {
        ("/{workspace}/openeo/.well-known/openeo", "get"), ("/", "get"),
        ("/conformance", "get"), ("/credentials/oidc", "get")}
    assert set(SPEC_ROOT) - set(ROOT_OPERATIONS) == set(), "operations with no row"
    assert set(ROOT_OPERATIONS) - set(SPEC_ROOT) == set(), "rows naming no operation"
    assert set(SPEC_SERVER) - set(SERVER_OPERATIONS) == set(), "server paths with no row"
    assert set(SERVER_OPERATIONS) - set(SPEC_SERVER) == set(), "rows naming no server path"
    # What is open is what the contract says; the matrix checks the server agrees.
    opened = {key for key, op in SPEC_ROOT.items() if _open(op)}
    assert opened == {("/api", "get")}
    assert {key for key, op in SPEC_SERVER.items() if _open(op)} == {
        ("/healthz", "get"), ("/readyz", "get"), ("/metrics", "get")}


@pytest.mark.parametrize("root", ROOTS)
def test_the_served_contract_is_the_one_the_matrix_walks(secured, root):
    served = secured.as_(None).get(f"/demo/{root}/api").json()
    assert set(_operations(served["paths"])) == set(SPEC_ROOT)
    for key, operation in _operations(served["paths"]).items():
        assert _open(operation, served) == _open(SPEC_ROOT[key]), key


@pytest.fixture(scope="module")
def credentials(secured: Secured) -> dict[str, str | None]:
    store = TokenStore(secured.live.server.services.database)
    record, expired = store.create("demo", "expired in the matrix", expires_days=1)
    with secured.live.server.services.database.begin() as conn:
        conn.execute(
            update(api_tokens)
            .where(api_tokens.c.id == record.id)
            .values(expires=datetime.now(UTC) - timedelta(hours=1))
        )
    demo_id = secured.tokens["demo"].split("_")[1]
    return {
        "none": None,
        "malformed": "not-an-api-token",
        "forged": f"ades_{demo_id}_{secrets.token_urlsafe(32)}",
        "expired": expired,
        "lab": secured.tokens["lab"],
        "demo": secured.tokens["demo"],
        "admin": secured.admin,
    }


@pytest.fixture(scope="module")
def demo(secured: Secured) -> Iterator[Demo]:
    made = Demo(secured.as_(secured.tokens["demo"]))
    yield made
    # The jobs the matrix started end before the next module uses the server.
    for job_id in made.started:
        poll(lambda job_id=job_id: made.status(job_id),
             lambda s: s not in ("accepted", "running"), deadline=120)


def _assert_refused(r: requests.Response, credential: str) -> None:
    if credential in UNAUTHENTICATED:
        assert r.status_code == 401, r.text
        assert r.headers["WWW-Authenticate"].startswith("Bearer"), r.headers
        expected = ("/unauthorized", "NotAuthenticated")
    else:
        assert r.status_code == 403, r.text
        expected = ("/forbidden", "NotAllowed")
    body = r.json()
    assert body["type"].endswith(expected[0]), body
    assert body["title"] == expected[1], body
    assert body["detail"], body
    assert WHY[credential] in body["detail"], body


def _call(secured: Secured, token: str | None, url: str, call: Call) -> requests.Response:
    client = secured.as_(token)
    return client.http.request(call.method.upper(), url, timeout=120, **call.kw)


ROOT_CELLS = [
    pytest.param(root, path, method, credential, id=f"{root} {method.upper()} {path} {credential}")
    for root in ROOTS
    for (path, method) in ROOT_OPERATIONS
    for credential in CREDENTIALS
]


@pytest.mark.parametrize(("root", "path", "method", "credential"), ROOT_CELLS)
def test_operation_of_a_root(secured, credentials, demo, root, path, method, credential):
    status, make = ROOT_OPERATIONS[(path, method)]
    call = make(demo)
    assert call.method == method
    url = secured.live.url(f"/demo/{root}{call.path}")
    r = _call(secured, credentials[credential], url, call)
    if _open(SPEC_ROOT[(path, method)]) or credential in ALLOWED:
        assert r.status_code == status, r.text
        if r.status_code in (201, 202) and "jobID" in r.text:
            demo.started.append(r.json()["jobID"])
        if method == "post" and path == "/processes":
            demo.live.delete(f"/demo/ogc-api/processes/{r.json()['id']}")
        return
    _assert_refused(r, credential)
    if call.untouched is not None:
        call.untouched(demo.live)


@pytest.mark.parametrize(
    ("path", "method", "credential"),
    [pytest.param(p, m, c, id=f"{m.upper()} {p} {c}") for (p, m) in SERVER_OPERATIONS
     for c in CREDENTIALS],
)
def test_operation_of_the_server(secured, credentials, path, method, credential):
    r = _call(secured, credentials[credential], secured.live.url(path), Call(method, path))
    if _open(SPEC_SERVER[(path, method)]) or credential in ALLOWED:
        assert r.status_code == SERVER_OPERATIONS[(path, method)], r.text
        return
    if credential == "lab":
        # The server's root belongs to no workspace: lab's token reads it, listing lab only.
        assert r.status_code == 200, r.text
        assert [w["id"] for w in r.json()["workspaces"]] == ["lab"]
        return
    _assert_refused(r, credential)


def test_the_admin_token_lists_every_workspace_and_demo_its_own(secured, credentials):
    every = sorted(secured.live.server.services.workspaces.names())
    assert {"demo", "lab"} < set(every)
    for credential, expected in (("admin", every), ("demo", ["demo"])):
        r = _call(secured, credentials[credential], secured.live.url("/"), Call("get", "/"))
        assert sorted(w["id"] for w in r.json()["workspaces"]) == expected


@pytest.mark.parametrize("root", ROOTS)
def test_labs_token_sees_nothing_of_demo(secured, demo, root):
    lab = secured.as_(secured.tokens["lab"])
    jobs = lab.get(f"/lab/{root}/jobs", params={"limit": 1000}).json()["jobs"]
    ids = {j["jobID"] for j in jobs}
    assert not {demo.job, demo.file_job, demo.created} & ids
    listed = lab.get(f"/lab/{root}/processes").json()["processes"]
    assert demo.process not in {p["id"] for p in listed}
    # Named outright under its own workspace, demo's job and process are unknown there.
    r = lab.get(f"/lab/{root}/jobs/{demo.job}")
    assert r.status_code == 404, r.text
    assert demo.job in r.json()["detail"]
    r = lab.get(f"/lab/{root}/processes/{demo.process}")
    assert r.status_code == 404, r.text
    assert demo.process in r.json()["detail"]
    r = lab.get(f"/lab/{root}/jobs/{demo.file_job}/download/{demo.file_path}",
                allow_redirects=False)
    assert r.status_code == 404, r.text


@pytest.mark.parametrize("path", ["/ogc-api/jobs", "/wps3/processes", "/ogc-api"])
def test_an_unknown_workspace_is_404_to_the_admin_and_403_to_a_workspace_token(secured, path):
    r = secured.as_(secured.admin).get(f"/nowhere{path}")
    assert r.status_code == 404, r.text
    assert r.json()["type"].endswith("/no-such-workspace")
    assert "'nowhere'" in r.json()["detail"]
    # A workspace's token learns nothing of which workspaces exist.
    r = secured.as_(secured.tokens["lab"]).get(f"/nowhere{path}")
    assert r.status_code == 403, r.text
    assert "'nowhere'" in r.json()["detail"]


OPENEO_CELLS = [
    pytest.param(path, method, credential, id=f"openeo {method.upper()} {path} {credential}")
    for (path, method) in OPENEO_OPERATIONS
    for credential in CREDENTIALS
]


@pytest.mark.parametrize(("path", "method", "credential"), OPENEO_CELLS)
def test_operation_of_the_openeo_root(secured, credentials, demo, path, method, credential):
    status, make = OPENEO_OPERATIONS[(path, method)]
    operation = OPENEO_SPEC_OPERATIONS[(path, method)]
    call = make(demo)
    assert call.method == method
    url = secured.live.url(call.path if path.startswith("/{workspace}")
                           else f"/demo/openeo/1.2{call.path}")
    token = credentials[credential]
    client = secured.as_(None)
    kw = dict(call.kw)
    basic = operation.get("security") == [{"openeoBasic": []}]
    if basic:
        # GET /credentials/basic: the workspace as user, the token as password.
        if token is not None:
            kw["auth"] = ("demo", token)
    elif token is not None:
        client = secured.as_(f"basic//{token}")
    r = client.http.request(method.upper(), url, timeout=120, **kw)
    if _open(operation, OPENEO_SPEC) or credential in ALLOWED:
        assert r.status_code == status, r.text
        if method == "post" and path == "/jobs/{job_id}/results":
            demo.started.append(call.path.split("/")[2])
        return
    expected_status, code = OPENEO_REFUSED[credential]
    assert r.status_code == expected_status, r.text
    body = r.json()
    assert body["code"] == code, body
    assert set(body) == {"id", "code", "message", "links"}, body
    if expected_status == 401:
        assert r.headers["WWW-Authenticate"].startswith(("Bearer", "Basic")), r.headers
    # Basic credentials missing altogether: the refusal says how to send them.
    why = "Authorization: Basic" if basic and credential == "none" else WHY[credential]
    assert why in body["message"], body
    if call.untouched is not None:
        call.untouched(demo.live)
