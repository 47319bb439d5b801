"""What HTTP clients rely on beyond the documents: the server's root lists the workspaces,
a 204 carries neither body nor Content-Type, and paths reached by joining with a trailing
slash are served as they are, not redirected."""

from __future__ import annotations

import pytest

from tests.api.deploying import CWL_YAML, package, unique
from tests.ogc_documents import validate

ROOTS = ["ogc-api", "wps3"]


def test_root_lists_the_workspaces_and_links_their_roots(live):
    r = live.get("/")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    doc = r.json()
    validate(doc, "rootDocument")
    workspaces = {ws["id"]: ws for ws in doc["workspaces"]}
    assert set(workspaces) == {"demo", "lab", "strict", "quota", "cache", "private"}
    for name, ws in workspaces.items():
        hrefs = [link["href"] for link in ws["links"] if link["rel"] == "service"]
        assert hrefs == [live.url(f"/{name}/{root}") for root in [*ROOTS, "openeo/1.2"]]
        for href in hrefs:  # each is a landing page
            assert live.http.get(href).json()["links"]
    rels = {link["rel"]: link["href"] for link in doc["links"]}
    assert rels["self"] == live.url("/")
    assert live.http.get(rels["service-doc"]).status_code == 200


def test_the_root_is_in_the_servers_contract_not_in_a_workspace_roots(live):
    served = live.get("/openapi.json").json()
    assert "/" in served["paths"]
    assert "/{workspace}/ogc-api" in served["paths"]
    per_root = live.get("/demo/ogc-api/api").json()
    assert "/" in per_root["paths"]  # the landing page
    assert "x-server-paths" not in per_root


def _no_content(r) -> None:
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert "Content-Type" not in r.headers


def test_no_204_carries_a_content_type(live):
    pid = unique("greet")
    created = live.post("/lab/ogc-api/processes", data=package("greet", pid), headers=CWL_YAML)
    assert created.status_code == 201, created.text
    _no_content(live.put(f"/lab/ogc-api/processes/{pid}", data=package("greet", pid),
                         headers=CWL_YAML))
    job = live.post("/lab/ogc-api/jobs", json={"process": pid, "inputs": {"name": "Ed"}})
    assert job.status_code == 201, job.text
    _no_content(live.http.patch(job.headers["Location"], json={"inputs": {"name": "Al"}}))
    _no_content(live.delete(f"/lab/ogc-api/processes/{pid}"))


@pytest.mark.parametrize("root", ROOTS)
@pytest.mark.parametrize("path", ["/", "/processes/", "/jobs/", "/conformance/",
                                  "/processes/echo/"])
def test_a_trailing_slash_is_served_not_redirected(live, root, path):
    r = live.get(f"/demo/{root}{path}", allow_redirects=False)
    assert r.status_code == 200, (r.status_code, r.headers.get("Location"))
    if not path.startswith("/jobs"):  # the job list may change between the two requests
        assert r.json() == live.get(f"/demo/{root}{path.rstrip('/')}").json()


def test_a_post_with_a_trailing_slash_is_served(live):
    r = live.post("/demo/ogc-api/processes/echo/execution/",
                  json={"inputs": {"stringInput": "joined"}}, allow_redirects=False)
    assert r.status_code == 200, r.text
    assert r.json() == "joined"


def test_an_unknown_workspace_with_a_trailing_slash_is_still_404(live):
    r = live.get("/nowhere/ogc-api/", allow_redirects=False)
    assert r.status_code == 404
    assert r.json()["type"].endswith("/no-such-workspace")
