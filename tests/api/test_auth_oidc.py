"""ADES_AUTH=oidc through HTTP: a server taking the JWTs of a real issuer on a loopback port
(tests/auth/issuer.py): a token opens the workspaces its claim names, runs jobs there, and a
refusal says why."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
import requests

from ades.auth.oidc import IssuerKeys
from tests.api.conftest import Live, serve, server_settings
from tests.auth.issuer import AUDIENCE, Issuer, running_issuer

ADMIN_TOKEN = "admin-token-of-the-oidc-tests"


@dataclass
class OidcServer:
    live: Live
    issuer: Issuer

    def as_(self, token: str | None) -> Live:
        http = requests.Session()
        if token is not None:
            http.headers["Authorization"] = f"Bearer {token}"
        return Live(self.live.base, self.live.server, http)


@pytest.fixture(scope="module")
def oidc(seaweedfs, tmp_path_factory) -> Iterator[OidcServer]:
    root = tmp_path_factory.mktemp("oidc")
    with running_issuer() as issuer:
        settings = replace(
            server_settings(root, seaweedfs, bucket="ades-oidc-tests"),
            auth="oidc", oidc_issuer=issuer.issuer, oidc_audience=AUDIENCE,
            admin_token=ADMIN_TOKEN, allow_uncontained=True,
        )
        with serve(settings) as live:
            yield OidcServer(live, issuer)


def test_a_jwt_opens_its_workspace_and_runs_a_job_there(oidc: OidcServer):
    demo = oidc.as_(oidc.issuer.token(preferred_username="demo"))
    assert demo.get("/demo/ogc-api/processes").status_code == 200
    # The root lists only what the caller may use.
    assert [w["id"] for w in demo.get("/").json()["workspaces"]] == ["demo"]
    r = demo.post("/demo/ogc-api/processes/echo/execution",
                  json={"inputs": {"stringInput": "hello oidc"}},
                  headers={"Prefer": "respond-async"})
    assert r.status_code == 201, r.text
    status = demo.wait_for(r.headers["Location"], {"successful", "failed"})
    assert status["status"] == "successful", status
    results = demo.get(f"/demo/ogc-api/jobs/{status['jobID']}/results")
    assert results.status_code == 200
    assert results.json()["echoOutput"] == "hello oidc"


def test_another_workspace_is_a_403_naming_the_subject(oidc: OidcServer):
    demo = oidc.as_(oidc.issuer.token(sub="alice", preferred_username="demo"))
    refused = demo.get("/lab/ogc-api/processes")
    assert refused.status_code == 403
    body = refused.json()
    assert body["type"].endswith("/forbidden")
    assert body["title"] == "NotAllowed"
    assert body["detail"] == "subject alice may not use workspace 'lab'"


def test_a_list_claim_opens_each_workspace_it_names(oidc: OidcServer):
    both = oidc.as_(oidc.issuer.token(preferred_username=["demo", "lab"]))
    for ws in ("demo", "lab"):
        assert both.get(f"/{ws}/ogc-api/jobs").status_code == 200
    assert both.get("/strict/ogc-api/jobs").status_code == 403


def test_an_expired_jwt_is_a_401_with_invalid_token(oidc: OidcServer):
    token = oidc.issuer.token(exp=int(time.time()) - 3600)
    response = oidc.as_(token).get("/demo/ogc-api/processes")
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="invalid_token"' in challenge
    assert "the JWT expired at" in challenge
    body = response.json()
    assert body["type"].endswith("/unauthorized")
    assert body["title"] == "NotAuthenticated"
    assert body["detail"].startswith("the JWT expired at ")
    assert token.rsplit(".", 1)[1] not in response.text


@pytest.mark.parametrize(
    ("claims", "detail"),
    [
        ({"aud": "another-service"}, "the JWT is for audience 'another-service', not for ades"),
        ({"preferred_username": None},
         "the JWT has no 'preferred_username' claim naming the workspaces it may use"),
    ],
)
def test_a_refused_jwt_is_a_401_naming_what_is_wrong(oidc: OidcServer, claims, detail):
    response = oidc.as_(oidc.issuer.token(**claims)).get("/demo/ogc-api/jobs")
    assert response.status_code == 401
    assert response.json()["detail"] == detail


def test_an_api_token_is_not_a_jwt_here(oidc: OidcServer):
    response = oidc.as_("ades_0123456789abcdef_" + "x" * 43).get("/demo/ogc-api/jobs")
    assert response.status_code == 401
    assert response.json()["detail"].startswith("the bearer token is not a JWT")


def test_the_admin_token_opens_every_workspace(oidc: OidcServer):
    admin = oidc.as_(ADMIN_TOKEN)
    for ws in ("demo", "lab", "strict"):
        assert admin.get(f"/{ws}/ogc-api/jobs").status_code == 200


def test_an_issuer_that_cannot_be_reached_is_a_503(oidc: OidcServer):
    """As a server started while its issuer is down sees it: no keys yet, none to fetch."""
    authenticator = oidc.live.server.services.authenticator.inner
    kept = authenticator.keys
    authenticator.keys = IssuerKeys(oidc.issuer.issuer)
    oidc.issuer.down = True
    try:
        response = oidc.as_(oidc.issuer.token()).get("/demo/ogc-api/jobs")
    finally:
        oidc.issuer.down = False
        authenticator.keys = kept
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    body = response.json()
    assert body["type"].endswith("/service-unavailable")
    assert body["title"] == "IssuerUnavailable"
    assert body["detail"] == (
        "the issuer's discovery document cannot be fetched from "
        f"{oidc.issuer.issuer}/.well-known/openid-configuration: HTTP 500"
    )
