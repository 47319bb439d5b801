"""The principal: who a request's credentials prove the caller to be, and which workspaces
that lets them use."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """``name`` says who, in messages and logs (a token's id and name, a JWT's subject),
    never a secret. ``workspaces`` None means every workspace (the admin token, and anyone
    when the server has no authentication)."""

    name: str
    workspaces: frozenset[str] | None

    def may_use(self, workspace: str) -> bool:
        return self.workspaces is None or workspace in self.workspaces

    def visible(self, workspaces: Iterable[str]) -> list[str]:
        return [w for w in workspaces if self.may_use(w)]


# Whoever calls a server without authentication (ADES_AUTH=none).
ANYONE = Principal("anyone", None)
ADMIN = Principal("the admin token", None)
