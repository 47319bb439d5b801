"""The one place that decides who calls and whether they may use the workspace asked for.

The contract declares a bearer security scheme (openapi/ades.yaml, ``bearer``) on every
operation under a workspace root; Connexion's security middleware calls the verifier bound
here once per request, before routing reaches a handler. Handlers read the principal with
``principal()`` and never look at credentials themselves."""

from __future__ import annotations

import asyncio
from typing import Any

from connexion import context
from connexion.lifecycle import ConnexionRequest
from connexion.security import AbstractSecurityHandler

from ades.auth.authenticators import Authenticator
from ades.auth.principal import ANYONE, Principal
from ades.errors import NotAllowed, NotAuthenticated

SCHEME = "bearer"


def security_map(authenticator: Authenticator | None) -> dict[str, type]:
    """Connexion's handler for the spec's ``bearer`` scheme, bound to ``authenticator``."""

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

    return {SCHEME: BoundBearer}


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
