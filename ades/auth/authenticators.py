"""The authenticator of each ``ADES_AUTH`` mode: the one object that turns a bearer token
into a principal, or refuses it with NotAuthenticated."""

from __future__ import annotations

import hmac
from typing import Protocol

from sqlalchemy.engine import Engine

from ades.auth.principal import ADMIN, Principal
from ades.auth.tokens import TokenStore
from ades.settings import Settings

MODES = ("none", "token", "oidc")


class Authenticator(Protocol):
    def authenticate(self, token: str) -> Principal:
        """The principal ``token`` proves; NotAuthenticated, saying why, if it proves none."""
        ...


def check_auth(settings: Settings) -> None:
    """ValueError, naming the setting, for an authentication the server cannot do; checked
    before anything starts. Also what auth mode and container engine together must say."""
    mode = settings.auth_mode
    if mode not in MODES:
        raise ValueError(
            f"ADES_AUTH={settings.auth!r} is not a mode; expected one of {', '.join(MODES)}"
        )
    if mode == "oidc":
        missing = [
            f"ADES_{name.upper()}"
            for name in ("oidc_issuer", "oidc_audience")
            if not getattr(settings, name)
        ]
        if missing:
            raise ValueError(f"ADES_AUTH=oidc needs {' and '.join(missing)}")
    if (
        mode != "none"
        and settings.container_engine == "none"
        and settings.cwl_runner == "cwltool"
        and not settings.allow_uncontained
    ):
        raise ValueError(
            f"ADES_AUTH={mode} with ADES_CONTAINER_ENGINE=none would run every package as "
            "the server's own user, able to read the server's files and environment: set "
            "ADES_CONTAINER_ENGINE (docker, podman or singularity), or "
            "ADES_ALLOW_UNCONTAINED=true if every package deployed here is trusted"
        )


def check_bind(settings: Settings) -> None:
    """`ades serve` on an address other hosts reach serves whoever reaches it: it needs an
    ADES_AUTH said on purpose, "none" included."""
    if not settings.auth and not settings.loopback_bind:
        raise ValueError(
            f"binding {settings.host} lets other hosts call this server, and ADES_AUTH is not "
            "set: set ADES_AUTH=token or oidc, or ADES_AUTH=none if a gateway in front of "
            "the server authenticates"
        )


def make_authenticator(settings: Settings, engine: Engine) -> Authenticator | None:
    """None for ``ADES_AUTH=none``: every request is anyone's."""
    mode = settings.auth_mode
    if mode == "none":
        return None
    if mode == "token":
        return WithAdminToken(settings.admin_token, TokenStore(engine))
    # Imported here: only the oidc mode needs PyJWT's crypto.
    from ades.auth.oidc import OidcAuthenticator

    return WithAdminToken(settings.admin_token, OidcAuthenticator.from_settings(settings))


class WithAdminToken:
    """An authenticator that first recognises the admin token (ADES_ADMIN_TOKEN)."""

    def __init__(self, admin_token: str, inner: Authenticator):
        self.admin_token = admin_token
        self.inner = inner

    def authenticate(self, token: str) -> Principal:
        if self.admin_token and hmac.compare_digest(token.encode(), self.admin_token.encode()):
            return ADMIN
        return self.inner.authenticate(token)
