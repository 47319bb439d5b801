"""ADES_AUTH=oidc: what a JWT must be for the server to take it, against a real issuer on a
loopback port (tests/auth/issuer.py), and what each refusal says."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest

from ades.auth.authenticators import make_authenticator
from ades.auth.oidc import REFRESH_INTERVAL, IssuerKeys, OidcAuthenticator
from ades.auth.principal import ADMIN, Principal
from ades.errors import IssuerUnavailable, NotAuthenticated
from ades.settings import Settings
from tests.auth.issuer import (
    AUDIENCE,
    DISCOVERY,
    JWKS,
    Issuer,
    ec_key,
    public_pem,
    rsa_key,
    running_issuer,
    unsigned,
)


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running


def settings_of(issuer: Issuer, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "auth": "oidc", "oidc_issuer": issuer.issuer, "oidc_audience": AUDIENCE,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def authenticator(issuer: Issuer, clock: Clock | None = None, **settings: object):
    auth = OidcAuthenticator.from_settings(settings_of(issuer, **settings))
    if clock is not None:
        auth.keys.clock = clock
    return auth


def refused(auth: OidcAuthenticator, token: str) -> str:
    """The reason ``token`` is refused; it never quotes the token or its signature."""
    with pytest.raises(NotAuthenticated) as err:
        auth.authenticate(token)
    reason = str(err.value)
    signature = token.rsplit(".", 1)[-1]
    assert token not in reason
    assert len(signature) < 8 or signature not in reason
    assert 'error="invalid_token"' in err.value.headers["WWW-Authenticate"]
    return reason


def test_a_valid_token_proves_its_subject_and_workspace(issuer):
    principal = authenticator(issuer).authenticate(issuer.token())
    assert principal == Principal("subject alice", frozenset({"demo"}))
    # Found through the discovery document, fetched once each.
    assert issuer.fetches == {DISCOVERY: 1, JWKS: 1}


def test_keys_are_cached(issuer):
    auth = authenticator(issuer)
    for _ in range(3):
        auth.authenticate(issuer.token())
    assert issuer.fetches == {DISCOVERY: 1, JWKS: 1}


def test_an_explicit_jwks_url_skips_discovery(issuer):
    auth = authenticator(issuer, oidc_jwks_url=issuer.jwks_url)
    assert auth.authenticate(issuer.token()).workspaces == {"demo"}
    assert issuer.fetches == {JWKS: 1}


def test_an_ec_key_verifies_es256(issuer):
    issuer.add_key("ec1", ec_key())
    token = issuer.token(kid="ec1", alg="ES256")
    assert authenticator(issuer).authenticate(token).name == "subject alice"


def test_the_workspace_claim_may_list_several_workspaces(issuer):
    token = issuer.token(groups=["demo", "lab"])
    auth = authenticator(issuer, oidc_workspace_claim="groups")
    assert auth.authenticate(token).workspaces == {"demo", "lab"}


def test_a_token_without_the_workspace_claim_is_refused_naming_the_claim(issuer):
    auth = authenticator(issuer, oidc_workspace_claim="groups")
    assert refused(auth, issuer.token()) == (
        "the JWT has no 'groups' claim naming the workspaces it may use"
    )
    assert "'groups' claim is not a workspace name" in refused(auth, issuer.token(groups=3))


def test_an_expired_token_is_refused_saying_when_it_expired(issuer):
    exp = int(time.time()) - 3600
    reason = refused(authenticator(issuer), issuer.token(exp=exp))
    assert reason.startswith("the JWT expired at ")
    assert time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp)) in reason


def test_a_token_not_yet_valid_is_refused(issuer):
    nbf = int(time.time()) + 3600
    reason = refused(authenticator(issuer), issuer.token(nbf=nbf))
    assert reason.startswith("the JWT is not yet valid: its nbf is ")


def test_a_token_for_another_audience_is_refused_naming_both(issuer):
    reason = refused(authenticator(issuer), issuer.token(aud="another-service"))
    assert reason == "the JWT is for audience 'another-service', not for ades"


def test_a_token_of_another_issuer_is_refused_naming_both(issuer):
    reason = refused(authenticator(issuer), issuer.token(iss="https://evil.example.org"))
    assert reason == f"the JWT is of issuer 'https://evil.example.org', not of {issuer.issuer}"


@pytest.mark.parametrize("claim", ["exp", "aud", "sub", "iss"])
def test_a_token_lacking_a_required_claim_is_refused_naming_it(issuer, claim):
    reason = refused(authenticator(issuer), issuer.token(**{claim: None}))
    assert reason == f"the JWT has no '{claim}' claim"


def test_a_token_signed_by_another_key_under_a_published_kid_is_refused(issuer):
    token = issuer.token(kid="k1", key=rsa_key())
    reason = refused(authenticator(issuer), token)
    assert reason == "the JWT's signature does not verify with the issuer's key 'k1'"


def test_alg_none_is_refused(issuer):
    token = unsigned({"alg": "none", "typ": "JWT", "kid": "k1"}, issuer.claims())
    reason = refused(authenticator(issuer), token)
    assert reason.startswith("the JWT's algorithm 'none' is not allowed")
    assert issuer.fetches == {}  # refused before any key is looked up


def test_hs256_signed_with_the_issuers_public_key_is_refused(issuer):
    """The classic confusion: an HMAC keyed with the public key, which anyone has."""
    pem = public_pem(issuer.keys["k1"])
    token = unsigned({"alg": "HS256", "typ": "JWT", "kid": "k1"}, issuer.claims(), pem)
    reason = refused(authenticator(issuer), token)
    assert reason.startswith("the JWT's algorithm 'HS256' is not allowed")


def test_an_algorithm_the_key_does_not_allow_is_refused(issuer):
    issuer.add_key("ec1", ec_key())
    token = unsigned({"alg": "ES384", "kid": "ec1"}, issuer.claims()) + "c2lnbmF0dXJl"
    reason = refused(authenticator(issuer), token)
    assert reason == (
        "the JWT is signed with ES384, which the issuer's key 'ec1' does not allow (ES256)"
    )


@pytest.mark.parametrize(
    "garbage",
    ["not-a-jwt", "a.b.c", "ades_0123456789abcdef_" + "x" * 43, "eyJhbGciOiJSUzI1NiJ9..."],
)
def test_garbage_is_refused_as_not_a_jwt(issuer, garbage):
    reason = refused(authenticator(issuer), garbage)
    assert reason.startswith("the bearer token is not a JWT")


def test_an_unknown_kid_refreshes_the_keys_once_and_a_rotated_key_is_then_taken(issuer):
    clock = Clock()
    auth = authenticator(issuer, clock)
    auth.authenticate(issuer.token())
    assert issuer.fetches[JWKS] == 1
    # The issuer signs with a key it does not publish yet.
    issuer.add_key("k2", publish=False)
    clock.now += REFRESH_INTERVAL
    new = issuer.token(kid="k2")
    reason = refused(auth, new)
    assert reason == f"the JWT is signed with key 'k2', which the issuer {issuer.issuer} " \
                     "does not publish"
    assert issuer.fetches[JWKS] == 2  # one refresh for the unknown kid
    # It publishes it: within the refresh interval the cache is not fetched again...
    issuer.published.append("k2")
    refused(auth, new)
    refused(auth, issuer.token(kid="made-up", key=issuer.keys["k2"]))
    assert issuer.fetches[JWKS] == 2
    # ... after it, the new key is fetched and taken; the old one still works.
    clock.now += REFRESH_INTERVAL
    assert auth.authenticate(new).name == "subject alice"
    assert auth.authenticate(issuer.token(kid="k1")).name == "subject alice"
    assert issuer.fetches[JWKS] == 3


def test_withdrawn_keys_stop_working_once_the_cache_is_old(issuer):
    clock = Clock()
    auth = authenticator(issuer, clock)
    issuer.add_key("k2")
    old = issuer.token(kid="k1")
    auth.authenticate(old)
    issuer.published.remove("k1")
    auth.authenticate(old)  # still cached
    clock.now += auth.keys.max_age
    assert "key 'k1', which the issuer" in refused(auth, old)
    assert auth.authenticate(issuer.token(kid="k2")).workspaces == {"demo"}


def test_nothing_is_fetched_until_a_token_arrives_and_an_unreachable_issuer_is_a_503(issuer):
    issuer.down = True
    clock = Clock()
    auth = authenticator(issuer, clock)
    assert issuer.fetches == {}
    message = (
        f"the issuer's discovery document cannot be fetched from {issuer.issuer}{DISCOVERY}: "
        "HTTP 500"
    )
    with pytest.raises(IssuerUnavailable) as err:
        auth.authenticate(issuer.token())
    assert str(err.value) == message
    assert err.value.headers == {"Retry-After": "30"}
    # Within the refresh interval the failure is told again without asking the issuer.
    issuer.down = False
    with pytest.raises(IssuerUnavailable, match="HTTP 500"):
        auth.authenticate(issuer.token())
    assert issuer.fetches == {DISCOVERY: 1}
    # After it, the issuer is asked again, and is back.
    clock.now += REFRESH_INTERVAL
    assert auth.authenticate(issuer.token()).name == "subject alice"


def test_a_closed_port_is_a_503_naming_the_url():
    keys = IssuerKeys("http://127.0.0.1:9", "http://127.0.0.1:9/keys")
    with pytest.raises(IssuerUnavailable, match=r"cannot be fetched from http://127\.0\.0\.1:9/keys"):
        keys.key("k1")


def test_keys_already_known_outlive_an_issuer_outage(issuer):
    clock = Clock()
    auth = authenticator(issuer, clock)
    auth.authenticate(issuer.token())
    issuer.down = True
    clock.now += auth.keys.max_age
    assert auth.authenticate(issuer.token()).name == "subject alice"
    assert issuer.fetches[JWKS] == 2  # the old keys, kept when their refetch failed
    # Back up, having withdrawn k1: asked again after the refresh interval, not the max age.
    issuer.down = False
    issuer.add_key("k2")
    issuer.published.remove("k1")
    auth.authenticate(issuer.token())
    clock.now += REFRESH_INTERVAL
    assert "key 'k1', which the issuer" in refused(auth, issuer.token())
    assert issuer.fetches[JWKS] == 3


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "oct", "k": "c2VjcmV0", "kid": "k1"},
        {"kty": "RSA", "use": "enc", "kid": "enc", "n": "AQAB", "e": "AQAB"},
        {"kty": "EC", "crv": "secp256k1", "kid": "k", "x": "AA", "y": "AA"},
        {"kty": "RSA", "alg": "HS256", "kid": "k", "n": "AQAB", "e": "AQAB"},
        {"kty": "RSA", "kid": "broken", "n": "not base64!", "e": "AQAB"},
    ],
)
def test_a_jwks_without_a_usable_signing_key_is_a_503(issuer, jwk):
    issuer.published.clear()
    issuer.extra.append(jwk)
    with pytest.raises(IssuerUnavailable, match="holds no signing key this server can use"):
        authenticator(issuer).authenticate(issuer.token())


def test_unusable_keys_beside_a_usable_one_are_left_out(issuer):
    """A symmetric key under the same kid as the real one does not replace it."""
    issuer.extra.append({"kty": "oct", "k": "c2VjcmV0", "kid": "k1"})
    assert authenticator(issuer).authenticate(issuer.token()).name == "subject alice"


def test_a_discovery_document_of_another_issuer_is_refused(issuer):
    issuer.discovery_issuer = "https://elsewhere.example.org"
    with pytest.raises(IssuerUnavailable, match="is of issuer 'https://elsewhere.example.org'"):
        authenticator(issuer).authenticate(issuer.token())


def test_the_admin_token_comes_first(issuer):
    auth = make_authenticator(settings_of(issuer, admin_token="the-admin"), engine=None)
    assert auth.authenticate("the-admin") is ADMIN
    assert auth.authenticate(issuer.token()).workspaces == {"demo"}
    assert issuer.fetches[JWKS] == 1


def test_a_pyjwt_decode_error_never_quotes_the_token(issuer):
    """A payload that is not a JSON object, signed properly."""
    token = jwt.api_jws.encode(b"[1, 2]", issuer.keys["k1"], algorithm="RS256",
                               headers={"kid": "k1"})
    assert refused(authenticator(issuer), token).startswith("the JWT is malformed")


def test_a_private_jwk_published_by_mistake_is_left_out(issuer):
    private = jwt.algorithms.RSAAlgorithm.to_jwk(issuer.keys["k1"], as_dict=True)
    issuer.published.clear()
    issuer.extra.append({**private, "kid": "k1"})
    with pytest.raises(IssuerUnavailable, match="holds no signing key"):
        authenticator(issuer).authenticate(issuer.token())
