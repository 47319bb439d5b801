"""API tokens of ``ADES_AUTH=token``, kept in the database so that every replica and the
``ades token`` commands share them. A token reads ``ades_<id>_<secret>``: the id finds its
row, and only a SHA-256 digest of the secret is stored (the secret is 256 random bits, so a
fast digest is enough: nothing can be guessed from it)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine

from ades.auth.principal import Principal
from ades.db.schema import api_tokens, aware
from ades.errors import NotAuthenticated

_TOKEN = re.compile(r"^ades_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class ApiToken:
    id: str
    workspace: str
    name: str
    created: datetime
    expires: datetime | None

    @property
    def expired(self) -> bool:
        return self.expires is not None and self.expires <= datetime.now(UTC)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def create(
        self, workspace: str, name: str = "", expires_days: float | None = None
    ) -> tuple[ApiToken, str]:
        """A new token of ``workspace``: its record, and the token itself (shown once)."""
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        expires = now + timedelta(days=expires_days) if expires_days is not None else None
        record = ApiToken(token_id, workspace, name, now, expires)
        with self.engine.begin() as conn:
            conn.execute(
                insert(api_tokens).values(
                    id=token_id, workspace=workspace, name=name, digest=_digest(secret),
                    created=now, expires=expires,
                )
            )
        return record, f"ades_{token_id}_{secret}"

    def list(self, workspace: str | None = None) -> list[ApiToken]:
        query = select(api_tokens).order_by(api_tokens.c.created, api_tokens.c.id)
        if workspace is not None:
            query = query.where(api_tokens.c.workspace == workspace)
        with self.engine.connect() as conn:
            return [_record(row) for row in conn.execute(query)]

    def revoke(self, token_id: str) -> ApiToken | None:
        """Deletes the token; its record, or None when there is no such token."""
        with self.engine.begin() as conn:
            row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
            if row is None:
                return None
            conn.execute(delete(api_tokens).where(api_tokens.c.id == token_id))
        return _record(row)

    def authenticate(self, token: str) -> Principal:
        match = _TOKEN.match(token)
        if match is None:
            raise NotAuthenticated("the bearer token is not an API token of this server")
        token_id, secret = match.groups()
        with self.engine.connect() as conn:
            row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
        if row is None or not hmac.compare_digest(row.digest, _digest(secret)):
            raise NotAuthenticated(f"API token {token_id} is unknown or revoked")
        record = _record(row)
        if record.expired:
            raise NotAuthenticated(
                f"API token {token_id} expired at {record.expires:%Y-%m-%dT%H:%M:%SZ}"
            )
        label = f"API token {token_id}" + (f" ({record.name})" if record.name else "")
        return Principal(label, frozenset({record.workspace}))


def _record(row) -> ApiToken:  # type: ignore[no-untyped-def]
    return ApiToken(row.id, row.workspace, row.name, aware(row.created), aware(row.expires))
