"""Landing page, conformance and API definition under both workspace roots."""

import importlib
from pathlib import Path

import pytest

from tests.ogc_documents import validate

CONF = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"

ROOTS = ["ogc-api", "wps3"]


@pytest.mark.conformance(CONF + "core")
@pytest.mark.conformance(CONF + "json")
@pytest.mark.parametrize("root", ROOTS)
def test_landing_page_links_everything(live, root):
    r = live.get(f"/demo/{root}/")
    assert r.status_code == 200
    doc = r.json()
    validate(doc, "landingPage.yaml")
    rels = {link["rel"]: link for link in doc["links"]}
    assert rels["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert rels["service-desc"]["href"] == live.url(f"/demo/{root}/api")
    assert "service-doc" in rels
    assert rels["http://www.opengis.net/def/rel/ogc/1.0/processes"]["href"] == live.url(
        f"/demo/{root}/processes"
    )
    assert rels["http://www.opengis.net/def/rel/ogc/1.0/job-list"]["href"] == live.url(
        f"/demo/{root}/jobs"
    )
    # The documentation link is a page a person can open.
    assert live.get(rels["service-doc"]["href"].replace(live.base, "")).status_code == 200


@pytest.mark.parametrize("root", ROOTS)
def test_conformance(live, root):
    r = live.get(f"/demo/{root}/conformance")
    assert r.status_code == 200
    validate(r.json(), "confClasses.yaml")
    assert "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core" in r.json()["conformsTo"]


@pytest.mark.conformance(CONF + "oas30")
@pytest.mark.parametrize("root", ROOTS)
def test_api_definition_is_openapi_with_absolute_server(live, root):
    r = live.get(f"/demo/{root}/api")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/vnd.oai.openapi+json")
    spec = r.json()
    assert spec["openapi"].startswith("3.0")
    assert spec["servers"] == [{"url": live.url(f"/demo/{root}")}]
    assert "/processes/{processId}/execution" in spec["paths"]


@pytest.mark.parametrize("path", ["/", "/conformance", "/processes", "/jobs", "/api"])
def test_unknown_workspace_is_404(live, path):
    r = live.get(f"/nowhere/ogc-api{path}")
    assert r.status_code == 404
    problem = r.json()
    assert problem["type"].endswith("/no-such-workspace")
    assert "'nowhere'" in problem["detail"]


def test_unknown_root_is_404(live):
    r = live.get("/demo/wps2/processes")
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("application/json")


def _proven_classes() -> set[str]:
    """The conformance classes some test of the suite is marked with, read from the test
    modules themselves, so that a run of this file alone sees every test, not only its own."""
    tests = Path(__file__).resolve().parents[1]
    proven = set()
    for path in sorted(tests.rglob("test_*.py")):
        name = ".".join(path.relative_to(tests.parent).with_suffix("").parts)
        for obj in vars(importlib.import_module(name)).values():
            marks = getattr(obj, "pytestmark", []) if callable(obj) else []
            proven |= {mark.args[0] for mark in marks if mark.name == "conformance"}
    return proven


def test_every_claimed_conformance_class_is_proven_by_a_test(live):
    claimed = set(live.get("/demo/ogc-api/conformance").json()["conformsTo"])
    proven = _proven_classes()
    assert claimed <= proven, f"claimed without a test: {sorted(claimed - proven)}"
