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

    return {SCHEME: BoundBearer, SIGNED: BoundSignedUrl}


async def _principal(request: ConnexionRequest, authenticator: Authenticator | None) -> Principal:
    if authenticator is None:
        return ANYONE
    header = request.headers.get("authorization")
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
    # The authenticator may read the database or fetch an issuer's keys: off the loop.
    return await asyncio.to_thread(authenticator.authenticate, token)


def principal() -> Principal:
    """The caller of the current request (anyone, when the server has no authentication)."""
    info = context.context.get("token_info") or {}
    return info.get("principal", ANYONE)
