"""``ADES_AUTH=oidc``: JWT access tokens of an OpenID Connect issuer.

A token is taken when its signature verifies with a key the issuer publishes (its JWKS),
with an asymmetric algorithm that key allows, and when it is current (``exp``, ``nbf``) and
names the configured issuer (``iss``) and audience (``aud``). Its workspace claim
(``ADES_OIDC_WORKSPACE_CLAIM``: a name or a list of names) says which workspaces it opens.

The issuer's keys are fetched at first use, not at start, so that a server starts while its
issuer is down; they are cached, fetched again when a token names a key the cache lacks (at
most once per ``REFRESH_INTERVAL``, so that made-up key ids cannot make the server hammer the
issuer) and when they are older than ``KEYS_MAX_AGE`` (so that a key the issuer withdrew
stops opening the server). A failure to reach the issuer is the server's problem, not the
client's: ``IssuerUnavailable``, a 503."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import jwt
import requests

from ades.auth.principal import Principal
from ades.errors import IssuerUnavailable, NotAuthenticated
from ades.settings import Settings

log = logging.getLogger(__name__)

# The algorithms a key of each type may verify: asymmetric only. "none" and the HMAC family
# (HS*) never: an HS256 token "signed" with an issuer's public key would verify with it.
RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC_ALGORITHMS = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
ALLOWED = RSA_ALGORITHMS | frozenset(EC_ALGORITHMS.values()) | {"EdDSA"}
# Seconds of clock difference between the issuer and this server that exp and nbf forgive.
LEEWAY = 30.0
# Seconds between two fetches of the keys for a key id the cache lacks.
REFRESH_INTERVAL = 30.0
# Seconds after which cached keys are fetched again before use.
KEYS_MAX_AGE = 3600.0
# Seconds a fetch of the discovery document or the keys may take.
FETCH_TIMEOUT = 10.0
# Claims every token must carry.
REQUIRED = ["exp", "iss", "aud", "sub"]


class SigningKey:
    """One key of the issuer's JWKS: the public key and the algorithms it may verify."""

    def __init__(self, kid: str | None, key: Any, algorithms: frozenset[str]):
        self.kid = kid
        self.key = key
        self.algorithms = algorithms

    @property
    def label(self) -> str:
        return f"key '{self.kid}'" if self.kid is not None else "the key without a kid"


def _signing_key(jwk: dict[str, Any]) -> SigningKey | None:
    """The key a JWK holds, or None for one that cannot verify a token here (an encryption
    key, a symmetric or private one, an unknown type or curve, a malformed one)."""
    if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig" or "d" in jwk:
        return None
    kty, crv, alg = jwk.get("kty"), jwk.get("crv"), jwk.get("alg")
    if kty == "RSA":
        algorithms = RSA_ALGORITHMS
    elif kty == "EC" and crv in EC_ALGORITHMS:
        algorithms = frozenset({EC_ALGORITHMS[crv]})
    elif kty == "OKP" and crv == "Ed25519":
        algorithms = frozenset({"EdDSA"})
    else:
        return None
    if alg is not None:
        if alg not in algorithms:
            return None
        algorithms = frozenset({alg})
    try:
        key = jwt.PyJWK(jwk, algorithm=sorted(algorithms)[0]).key
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        return None
    kid = jwk.get("kid")
    return SigningKey(kid if isinstance(kid, str) else None, key, algorithms)


class IssuerKeys:
    """The issuer's signing keys, fetched lazily and cached (see the module's doc)."""

    def __init__(
        self,
        issuer: str,
        jwks_url: str = "",
        refresh_interval: float = REFRESH_INTERVAL,
        max_age: float = KEYS_MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.issuer = issuer
        self.jwks_url = jwks_url
        self.refresh_interval = refresh_interval
        self.max_age = max_age
        self.clock = clock
        self._keys: dict[str | None, SigningKey] | None = None
        self._fetched = 0.0  # clock() of the last fetch, successful or not
        self._loaded = 0.0  # clock() of the last successful one
        # Why the last fetch failed, while no keys are known: told again, without fetching,
        # until the refresh interval has passed (requests do not queue on a hanging issuer).
        self._failure: IssuerUnavailable | None = None
        self._lock = threading.Lock()

    def key(self, kid: str | None) -> SigningKey:
        """The key ``kid`` names (None: the token names none). NotAuthenticated when the
        issuer has no such key; IssuerUnavailable when its keys cannot be fetched."""
        with self._lock:
            now = self.clock()
            if self._keys is None:
                if self._failure is not None and now - self._fetched < self.refresh_interval:
                    raise IssuerUnavailable(str(self._failure))
                self._refresh(now, keep_stale=False)
            elif (
                now - self._loaded >= self.max_age
                and now - self._fetched >= self.refresh_interval
            ):
                self._refresh(now, keep_stale=True)
            keys = self._keys
            assert keys is not None
            found = self._find(keys, kid)
            if found is None and now - self._fetched >= self.refresh_interval:
                # A key the cache lacks: the issuer may have rotated its keys since.
                self._refresh(now, keep_stale=True)
                keys = self._keys
                found = self._find(keys, kid)
        if found is not None:
            return found
        if kid is None:
            raise NotAuthenticated(
                "the JWT names no signing key (kid) and the issuer publishes "
                f"{len(keys)} signing keys: it cannot be told which one signed it"
            )
        raise NotAuthenticated(f"the JWT is signed with key '{_short(kid)}', which the "
                               f"issuer {self.issuer} does not publish")

    @staticmethod
    def _find(keys: dict[str | None, SigningKey], kid: str | None) -> SigningKey | None:
        if kid is None and len(keys) == 1:
            return next(iter(keys.values()))
        return keys.get(kid)

    def _refresh(self, now: float, keep_stale: bool) -> None:
        """Fetch the keys. When that fails: with ``keep_stale`` and keys already known,
        keep them (and try again after the refresh interval); else IssuerUnavailable."""
        self._fetched = now
        try:
            self._keys = self._fetch()
            self._loaded = now
            self._failure = None
        except IssuerUnavailable as err:
            if keep_stale and self._keys is not None:
                log.warning("keeping the issuer's keys fetched before: %s", err)
                return
            log.error("%s", err)
            self._failure = err
            raise

    def _fetch(self) -> dict[str | None, SigningKey]:
        url = self.jwks_url or self._discover()
        document = _get_json(url, "the issuer's JWKS")
        jwks = document.get("keys")
        if not isinstance(jwks, list):
            raise IssuerUnavailable(f"the issuer's JWKS at {url} has no 'keys' list")
        keys = {}
        for jwk in jwks:
            key = _signing_key(jwk)
            if key is not None:
                keys[key.kid] = key
        if not keys:
            raise IssuerUnavailable(
                f"the issuer's JWKS at {url} holds no signing key this server can use "
                f"(RSA, EC P-256/384/521 or Ed25519)"
            )
        return keys

    def _discover(self) -> str:
        """The jwks_uri of the issuer's discovery document, kept once found."""
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = _get_json(url, "the issuer's discovery document")
        named = document.get("issuer")
        if named != self.issuer:
            raise IssuerUnavailable(
                f"the discovery document at {url} is of issuer {named!r}, not of "
                f"ADES_OIDC_ISSUER {self.issuer!r}"
            )
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise IssuerUnavailable(f"the discovery document at {url} names no jwks_uri")
        self.jwks_url = jwks_uri
        return jwks_uri


def _get_json(url: str, what: str) -> dict[str, Any]:
    try:
        response = requests.get(url, timeout=FETCH_TIMEOUT, headers={"Accept": "application/json"})
    except requests.RequestException as err:
        raise IssuerUnavailable(f"{what} cannot be fetched from {url}: {err}") from err
    if response.status_code != 200:
        raise IssuerUnavailable(f"{what} cannot be fetched from {url}: HTTP {response.status_code}")
    try:
        document = response.json()
    except ValueError as err:
        raise IssuerUnavailable(f"{what} at {url} is not JSON") from err
    if not isinstance(document, dict):
        raise IssuerUnavailable(f"{what} at {url} is not a JSON object")
    return document


class OidcAuthenticator:
    def __init__(self, issuer: str, audience: str, workspace_claim: str, keys: IssuerKeys):
        self.issuer = issuer
        self.audience = audience
        self.workspace_claim = workspace_claim
        self.keys = keys

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcAuthenticator:
        """Nothing is fetched here: the issuer's keys are fetched at first use."""
        keys = IssuerKeys(settings.oidc_issuer, settings.oidc_jwks_url)
        return cls(settings.oidc_issuer, settings.oidc_audience,
                   settings.oidc_workspace_claim, keys)

    def authenticate(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise NotAuthenticated(
                "the bearer token is not a JWT (three base64url parts, header.payload."
                "signature)"
            ) from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALLOWED:
            raise NotAuthenticated(
                f"the JWT's algorithm {_short(alg)!r} is not allowed: only the asymmetric "
                f"{', '.join(sorted(ALLOWED))}"
            )
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise NotAuthenticated("the JWT's key id (kid) is not a string")
        key = self.keys.key(kid)
        if alg not in key.algorithms:
            raise NotAuthenticated(
                f"the JWT is signed with {alg}, which the issuer's {key.label} does not "
                f"allow ({', '.join(sorted(key.algorithms))})"
            )
        claims = self._verified_claims(token, key, alg)
        return Principal(f"subject {claims['sub']}", self._workspaces(claims))

    def _verified_claims(self, token: str, key: SigningKey, alg: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token, key.key, algorithms=[alg], audience=self.audience, issuer=self.issuer,
                leeway=LEEWAY, options={"require": REQUIRED, "verify_sub": True},
            )
        except jwt.InvalidSignatureError:
            raise NotAuthenticated(
                f"the JWT's signature does not verify with the issuer's {key.label}"
            ) from None
        except jwt.ExpiredSignatureError:
            raise NotAuthenticated(f"the JWT expired at {self._time(token, 'exp')}") from None
        except jwt.ImmatureSignatureError:
            which = "nbf" if "nbf" in self._unverified(token) else "iat"
            raise NotAuthenticated(
                f"the JWT is not yet valid: its {which} is {self._time(token, which)}"
            ) from None
        except jwt.MissingRequiredClaimError as err:
            raise NotAuthenticated(f"the JWT has no '{err.claim}' claim") from None
        except jwt.InvalidIssuerError:
            raise NotAuthenticated(
                f"the JWT is of issuer {_short(self._unverified(token).get('iss'))!r}, not "
                f"of {self.issuer}"
            ) from None
        except jwt.InvalidAudienceError:
            raise NotAuthenticated(
                f"the JWT is for audience {_short(self._unverified(token).get('aud'))!r}, "
                f"not for {self.audience}"
            ) from None
        except jwt.exceptions.InvalidSubjectError:
            raise NotAuthenticated("the JWT's subject (sub) is not a string") from None
        except jwt.PyJWTError as err:
            # Claims of the wrong type (a non-numeric exp, iat or nbf), a payload that is not
            # a JSON object: PyJWT's message names the claim, never the token.
            raise NotAuthenticated(f"the JWT is malformed: {err}") from None

    def _workspaces(self, claims: dict[str, Any]) -> frozenset[str]:
        name = self.workspace_claim
        value = claims.get(name)
        if isinstance(value, str):
            return frozenset({value})
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return frozenset(value)
        if value is None:
            raise NotAuthenticated(
                f"the JWT has no '{name}' claim naming the workspaces it may use"
            )
        raise NotAuthenticated(
            f"the JWT's '{name}' claim is not a workspace name or a list of names"
        )

    @staticmethod
    def _unverified(token: str) -> dict[str, Any]:
        """Claims of a token whose signature verified, to say what was wrong with them."""
        return jwt.decode(token, options={"verify_signature": False})

    def _time(self, token: str, claim: str) -> str:
        value = self._unverified(token).get(claim)
        try:
            return f"{datetime.fromtimestamp(float(value), UTC):%Y-%m-%dT%H:%M:%SZ}"
        except (TypeError, ValueError, OverflowError):
            return repr(_short(value))


def _short(value: Any, limit: int = 80) -> Any:
    """A value of a token's header or claims, cut short for a message."""
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "…"
    return value
