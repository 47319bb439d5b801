"""ADES_AUTH=token through HTTP: who gets in where, and what a refusal says."""

from tests.api.conftest import Secured


def test_a_token_opens_its_own_workspace_only(secured: Secured):
    demo = secured.as_(secured.tokens["demo"])
    assert demo.get("/demo/ogc-api/processes").status_code == 200
    refused = demo.get("/lab/ogc-api/processes")
    assert refused.status_code == 403
    body = refused.json()
    assert body["type"].endswith("/forbidden")
    assert body["title"] == "NotAllowed"
    assert "may not use workspace 'lab'" in body["detail"]
    # The root lists only what the caller may use.
    listed = [w["id"] for w in demo.get("/").json()["workspaces"]]
    assert listed == ["demo"]


def test_no_token_is_a_401_that_says_how_to_authenticate(secured: Secured):
    anonymous = secured.as_(None)
    response = anonymous.get("/demo/ogc-api/jobs")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="ades"'
    body = response.json()
    assert body["type"].endswith("/unauthorized")
    assert body["title"] == "NotAuthenticated"
    assert "Authorization: Bearer <token>" in body["detail"]


def test_an_unknown_token_is_a_401_naming_the_token_id_not_its_secret(secured: Secured):
    real = secured.tokens["demo"]
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    response = secured.as_(forged).get("/demo/ogc-api/jobs")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    token_id = real.split("_")[1]
    assert f"API token {token_id} is unknown or revoked" in response.json()["detail"]
    assert forged.split("_", 2)[2] not in response.text  # the secret may hold "_"


def test_basic_credentials_are_refused_by_name(secured: Secured):
    response = secured.live.http.get(
        secured.live.url("/demo/ogc-api/jobs"), auth=("demo", "secret")
    )
    assert response.status_code == 401
    assert "scheme 'Basic'" in response.json()["detail"]


def test_the_admin_token_opens_every_workspace(secured: Secured):
    admin = secured.as_(secured.admin)
    for ws in ("demo", "lab", "strict"):
        assert admin.get(f"/{ws}/ogc-api/jobs").status_code == 200
    assert admin.get("/nobody/ogc-api/jobs").status_code == 404


def test_probes_and_api_docs_need_no_token(secured: Secured):
    anonymous = secured.as_(None)
    for path in ("/healthz", "/readyz", "/metrics", "/demo/ogc-api/api", "/ui/"):
        assert anonymous.get(path).status_code == 200, path


def test_the_served_contract_declares_the_bearer_scheme(secured: Secured):
    spec = secured.as_(None).get("/demo/ogc-api/api").json()
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert spec["security"] == [{"bearer": []}]


def test_without_auth_the_contract_requires_none(live):
    spec = live.get("/demo/ogc-api/api").json()
    assert "security" not in spec
    assert "securitySchemes" not in spec["components"]
