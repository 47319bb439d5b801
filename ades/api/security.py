"""The one place that decides who calls and whether they may use the workspace asked for.

The contract declares a bearer security scheme (openapi/ades.yaml, ``bearer``) on every
operation under a workspace root; Connexion's security middleware calls the verifier bound
here once per request, before routing reaches a handler. Handlers read the principal with
``principal()`` and never look at credentials themselves.

The download route accepts, instead of a bearer token, the server's own signature in the
query (the ``signedUrl`` scheme, an API key in the query for OpenAPI): the links the server
hands out to result files carry one, so that plain HTTP clients can fetch them."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from connexion import context
from connexion.lifecycle import ConnexionRequest
from connexion.security import NO_VALUE, AbstractSecurityHandler

from ades.auth.authenticators import Authenticator
from ades.auth.principal import ANYONE, Principal
from ades.errors import NotAllowed, NotAuthenticated
from ades.staging.downloads import LinkSigner

SCHEME = "bearer"
# Connexion picks the handler of an apiKey scheme by its type.
SIGNED = "apiKey"
# openEO's GET /credentials/basic: the workspace as user, an API token as password.
BASIC = "basic"


def security_map(
    authenticator: Authenticator | None, signer: LinkSigner | None = None
) -> dict[str, type]:
    """Connexion's handlers for the spec's ``bearer`` scheme, bound to ``authenticator``,
    and for its ``signedUrl`` scheme, bound to ``signer``."""

    async def verify(request: ConnexionRequest) -> dict[str, Any]:
        principal = await _principal(request, authenticator)
        workspace = request.scope.get("path_params", {}).get("workspace")
        if workspace is not None and not principal.may_use(workspace):
            raise NotAllowed(principal.name, workspace)
        # Connexion keeps this as the request's token_info ("sub" becomes its user).
        return {"sub": principal.name, "principal": principal}

    class BoundBearer(AbstractSecurityHandler):
        def get_fn(self, security_scheme: dict, required_scopes: list[str]) -> Any:
            return verify

    async def verify_signed(request: ConnexionRequest) -> Any:
        signature = request.query_params.get("signature")
        if signature is None or signer is None:
            return NO_VALUE  # not a signed link: the bearer scheme's refusal stands
        path = request.scope["path"]
        signer.verify(path, request.query_params.get("expires"), signature)
        workspace = request.scope.get("path_params", {}).get("workspace", "")
        # The signature covers the path, so the link opens this workspace's file only.
        link = Principal("a signed link", frozenset({workspace}))
        return {"sub": link.name, "principal": link}

    class BoundSignedUrl(AbstractSecurityHandler):
        def get_fn(self, security_scheme: dict, required_scopes: list[str]) -> Any:
            return verify_signed

    async def verify_basic(request: ConnexionRequest) -> dict[str, Any]:
        user, token = _basic_credentials(request.headers.get("authorization"))
        principal = ANYONE
        if authenticator is not None:
            principal = await asyncio.to_thread(authenticator.authenticate, token)
        workspace = request.scope.get("path_params", {}).get("workspace")
        for name in {user, workspace}:
            if name is not None and not principal.may_use(name):
                raise NotAllowed(principal.name, name)
        return {"sub": principal.name, "principal": principal, "token": token}

    class BoundBasic(AbstractSecurityHandler):
        def get_fn(self, security_scheme: dict, required_scopes: list[str]) -> Any:
            return verify_basic

    return {SCHEME: BoundBearer, SIGNED: BoundSignedUrl, BASIC: BoundBasic}


def _basic_credentials(header: str | None) -> tuple[str, str]:
    """User and password of an ``Authorization: Basic`` header."""
    scheme, _, encoded = (header or "").strip().partition(" ")
    if scheme.lower() != "basic":
        raise NotAuthenticated(
            "send 'Authorization: Basic' with the workspace as user name and one of its API "
            "tokens as password",
            invalid_token=False,
        )
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        user, colon, password = decoded.partition(":")
    except (ValueError, UnicodeDecodeError):
        raise NotAuthenticated("the Basic credentials are not base64 of 'user:password'") from None
    if not colon or not password:
        raise NotAuthenticated(
            "the Basic credentials carry no password: send an API token of the workspace",
            invalid_token=False,
        )
    return user, password


def _openeo_token(token: str) -> str:
    """The token inside openEO's bearer forms ``basic//<token>`` and
    ``oidc/<provider>/<jwt>``; any other token as it is."""
    if token.startswith("basic//"):
        return token[len("basic//") :]
    if token.startswith("oidc/") and token.count("/") >= 2:
        return token.split("/", 2)[2]
    return token


async def _principal(request: ConnexionRequest, authenticator: Authenticator | None) -> Principal:
    if authenticator is None:
        return ANYONE
    # The authenticator may read the database or fetch an issuer's keys: off the loop.
    return await asyncio.to_thread(
        bearer_principal, request.headers.get("authorization"), authenticator
    )


def bearer_principal(header: str | None, authenticator: Authenticator) -> Principal:
    """The caller named by an ``Authorization: Bearer`` header; NotAuthenticated when the
    header is missing, of another scheme, or its token is not one the server knows."""
    if not header:
        raise NotAuthenticated(
            "this request carries no credentials: send 'Authorization: Bearer <token>'",
            invalid_token=False,
        )
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated(
            f"the Authorization header uses scheme '{scheme[:20]}': send 'Bearer <token>'"
        )
    return authenticator.authenticate(_openeo_token(token))


def principal() -> Principal:
    """The caller of the current request (anyone, when the server has no authentication)."""
    info = context.context.get("token_info") or {}
    return info.get("principal", ANYONE)
