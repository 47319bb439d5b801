"""A real, local OpenID Connect issuer for the tests: an HTTP server on a free loopback port
serving a discovery document and a JWKS, RSA keys made here with cryptography, tokens signed
with PyJWT. The tests change its JWKS (key rotation) and count what the server fetched."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

DISCOVERY = "/.well-known/openid-configuration"
JWKS = "/keys"
AUDIENCE = "ades"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_jwk(key: Any, kid: str) -> dict[str, Any]:
    """The public JWK of a private key."""
    public = key.public_key()
    if isinstance(key, rsa.RSAPrivateKey):
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True)
    else:
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(public, as_dict=True)
    return {**jwk, "kid": kid, "use": "sig"}


def public_pem(key: Any) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None = None) -> str:
    """A JWT put together by hand: no signature (``secret`` None, for alg none) or an
    HMAC-SHA256 one with ``secret`` (PyJWT refuses to make either with a public key)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    if secret is None:
        return signing_input + "."
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


class Issuer:
    """``keys`` (kid → private key) are what it signs with; ``published`` the kids its JWKS
    lists. ``fetches`` counts the GETs of each path."""

    def __init__(self, base: str):
        self.base = base
        self.keys: dict[str, Any] = {}
        self.published: list[str] = []
        self.fetches: Counter[str] = Counter()
        self.discovery_issuer: str | None = None  # None: its own base
        self.down = False  # answer every request with 500
        self.extra: list[dict[str, Any]] = []  # JWKs its JWKS lists besides its own keys

    @property
    def issuer(self) -> str:
        return self.base

    @property
    def jwks_url(self) -> str:
        return self.base + JWKS

    def add_key(self, kid: str, key: Any = None, publish: bool = True) -> Any:
        self.keys[kid] = key if key is not None else rsa_key()
        if publish:
            self.published.append(kid)
        return self.keys[kid]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(self.keys[kid], kid) for kid in self.published]
                + self.extra}

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer, "aud": AUDIENCE, "sub": "alice", "iat": now,
            "exp": now + 600, "preferred_username": "demo",
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, kid: str = "k1", alg: str = "RS256", key: Any = None,
              **claims: Any) -> str:
        """A token signed with ``key`` (default: the issuer's key ``kid``) and the claims of
        ``claims()`` changed by ``claims`` (a None value leaves a claim out)."""
        signer = key if key is not None else self.keys[kid]
        return jwt.encode(self.claims(**claims), signer, algorithm=alg, headers={"kid": kid})


@contextmanager
def running_issuer() -> Iterator[Issuer]:
    """An issuer with one published RSA key, ``k1``, until the block ends."""
    holder: dict[str, Issuer] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server name)
            issuer = holder["issuer"]
            issuer.fetches[self.path] += 1
            if issuer.down:
                self._send(500, {"error": "down"})
            elif self.path == DISCOVERY:
                self._send(200, {
                    "issuer": issuer.discovery_issuer or issuer.issuer,
                    "jwks_uri": issuer.jwks_url,
                })
            elif self.path == JWKS:
                self._send(200, issuer.jwks())
            else:
                self._send(404, {"error": "not found"})

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    issuer = Issuer(f"http://127.0.0.1:{server.server_address[1]}")
    issuer.add_key("k1")
    holder["issuer"] = issuer
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
