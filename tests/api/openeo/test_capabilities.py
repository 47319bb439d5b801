"""The openEO root of a workspace: capabilities, version discovery, conformance, CORS,
credentials and openEO's error documents, through HTTP and the real openeo client."""

from __future__ import annotations

import openeo
import pytest

from tests.api.conftest import Live, Secured

ROOT = "/demo/openeo/1.2"


def test_capabilities_list_exactly_the_routes_of_the_contract(live: Live):
    from ades.api.spec import OPENEO_SPEC_PATH, load_spec

    doc = live.get(f"{ROOT}/").json()
    assert doc["api_version"] == "1.2.0"
    assert doc["backend_version"]
    served = {(e["path"], m) for e in doc["endpoints"] for m in e["methods"]}
    spec = load_spec(OPENEO_SPEC_PATH)
    declared = {
        (path, method.upper())
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "post", "patch", "put", "delete")
    }
    assert served == declared
    rels = {link["rel"] for link in doc["links"]}
    assert {"self", "version-history", "conformance"} <= rels


def test_the_well_known_document_lists_version_1_2(live: Live):
    doc = live.get("/demo/openeo/.well-known/openeo").json()
    assert [v["api_version"] for v in doc["versions"]] == ["1.2.0"]
    assert doc["versions"][0]["url"].endswith("/demo/openeo/1.2/")


def test_conformance_claims_openeo_1_2(live: Live):
    assert "https://api.openeo.org/1.2.0" in live.get(f"{ROOT}/conformance").json()["conformsTo"]


def test_cross_origin_requests_are_answered_with_the_headers_openeo_clients_read(live: Live):
    response = live.get(f"{ROOT}/", headers={"Origin": "https://editor.openeo.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://editor.openeo.org"
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"Link", "Location", "OpenEO-Costs", "OpenEO-Identifier"} <= exposed
    preflight = live.http.options(
        live.url(f"{ROOT}/jobs"),
        headers={"Origin": "https://editor.openeo.org", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]


def test_the_ogc_roots_answer_no_cross_origin_headers(live: Live):
    response = live.get("/demo/ogc-api/", headers={"Origin": "https://editor.openeo.org"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_an_unknown_workspace_is_an_openeo_error_document(live: Live):
    response = live.get("/nowhere/openeo/1.2/")
    assert response.status_code == 404
    doc = response.json()
    assert doc["code"] == "NotFound"
    assert "nowhere" in doc["message"]
    assert set(doc) == {"id", "code", "message", "links"}


def test_a_bad_query_parameter_is_an_openeo_error_naming_it(live: Live):
    response = live.get(f"{ROOT}/jobs/some-job/logs", params={"level": "loud"})
    assert response.status_code == 400
    doc = response.json()
    assert doc["code"] == "BadRequest"
    assert "'level'" in doc["message"]
    assert "type" not in doc  # never an OGC exception


def test_the_openeo_client_connects_and_reads_the_capabilities(live: Live):
    connection = openeo.connect(live.url(ROOT))
    assert connection.capabilities().api_version() == "1.2.0"


def test_oidc_providers_are_empty_without_oidc(live: Live):
    assert live.get(f"{ROOT}/credentials/oidc").json() == {"providers": []}


# With ADES_AUTH=token: the workspace as user, an API token as password.


def test_basic_credentials_give_the_token_the_client_sends_as_basic_bearer(secured: Secured):
    token = secured.tokens["demo"]
    live = secured.as_(None)
    response = live.http.get(live.url(f"{ROOT}/credentials/basic"), auth=("demo", token))
    assert response.status_code == 200
    access = response.json()["access_token"]
    ok = secured.as_(f"basic//{access}").get(f"{ROOT}/conformance")
    assert ok.status_code == 200


def test_the_openeo_client_authenticates_with_basic_credentials(secured: Secured):
    connection = openeo.connect(secured.live.url(ROOT))
    connection.authenticate_basic("demo", secured.tokens["demo"])
    assert connection.auth.bearer == f"basic//{secured.tokens['demo']}"


@pytest.mark.parametrize(
    ("user", "password", "status", "code", "named"),
    [
        ("lab", "TOKEN-demo", 403, "PermissionsInsufficient", "lab"),
        ("demo", "ades_0000000000000000_" + "A" * 43, 403, "TokenInvalid", "0000000000000000"),
        ("demo", "", 401, "AuthenticationRequired", "no password"),
    ],
)
def test_basic_credentials_that_prove_nothing_are_refused_by_name(
    secured: Secured, user: str, password: str, status: int, code: str, named: str
):
    password = secured.tokens["demo"] if password == "TOKEN-demo" else password
    live = secured.as_(None)
    response = live.http.get(live.url(f"{ROOT}/credentials/basic"), auth=(user, password))
    assert response.status_code == status
    doc = response.json()
    assert doc["code"] == code
    assert named in doc["message"]


def test_basic_credentials_that_are_not_base64_are_refused(secured: Secured):
    response = secured.as_(None).get(
        f"{ROOT}/credentials/basic", headers={"Authorization": "Basic not*base64"}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "TokenInvalid"
    assert "base64" in response.json()["message"]


def test_no_credentials_on_a_job_route_is_authentication_required(secured: Secured):
    response = secured.as_(None).get(f"{ROOT}/jobs")
    assert response.status_code == 401
    assert response.json()["code"] == "AuthenticationRequired"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_of_another_workspace_is_refused_in_openeo_form(secured: Secured):
    response = secured.as_(f"basic//{secured.tokens['lab']}").get(f"{ROOT}/jobs")
    assert response.status_code == 403
    assert response.json()["code"] == "PermissionsInsufficient"
    assert "demo" in response.json()["message"]
