"""StatusCache: the status document of a job, answered again without going through the
routing, validation and Flask while the job has not changed. Clients poll it (a status
read is the most frequent request an ADES gets) and most polls find the job as it was.

Only an answer the whole stack gave is kept: a JSON 200 to ``GET /{workspace}/{root}/jobs/{id}``,
stored under everything the request said (scheme, path, query and every header, so the
Host that its links are made of, the Accept and the credentials), with the job's
``updated`` as read before the stack rendered it. The same request again is answered from
it when the job's ``updated`` in the database is still that one, read anew each time, so a
change made by any process (another worker, a replica) shows at once; and, with
authentication on, when the credentials still name a caller who may use the workspace (a
revoked token is refused at once). Anything else (a miss, a change, credentials that no
longer hold, any error) goes through the whole stack, which answers as it always does."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ades.api.security import bearer_principal
from ades.api.spec import ROOTS
from ades.services import Services

_STATUS = re.compile(rf"^/([^/]+)/(?:{'|'.join(map(re.escape, ROOTS))})/jobs/([^/]+)$")
# Documents kept per process (a few KiB each), the least recently read dropped first.
ENTRIES = 4096
# A body larger than this is not kept (a status document is a few hundred bytes).
LARGEST = 64 * 1024


@dataclass(frozen=True)
class _Answer:
    updated: dt.datetime
    start: Message
    body: bytes


class StatusCache:
    def __init__(self, app: ASGIApp, services: Services, entries: int = ENTRIES):
        self.app = app
        self.services = services
        self.entries = entries
        self.answers: OrderedDict[tuple, _Answer] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = None
        if scope["type"] == "http" and scope["method"] == "GET":
            found = _STATUS.match(scope["path"])
        if found is None:
            await self.app(scope, receive, send)
            return
        workspace, job_id = found.groups()
        key = (scope["scheme"], scope.get("root_path", ""), scope["path"],
               scope["query_string"], tuple(scope["headers"]))  # fmt: skip
        kept = self.answers.get(key)
        authorization = None
        if kept is not None and self.services.authenticator is not None:
            authorization = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        updated = await asyncio.to_thread(self._updated, workspace, job_id, kept, authorization)
        if kept is not None and updated == kept.updated:
            self.answers.move_to_end(key)
            await send(kept.start)
            await send({"type": "http.response.body", "body": kept.body, "more_body": False})
            return
        await self._answer_and_keep(scope, receive, send, key, updated)

    def _updated(
        self, workspace: str, job_id: str, kept: _Answer | None, authorization: str | None
    ) -> dt.datetime | None:
        """The job's ``updated`` now; None when there is no such job, or when a kept answer
        would be served to credentials that no longer let their caller in."""
        try:
            if kept is not None and self.services.authenticator is not None:
                caller = bearer_principal(authorization, self.services.authenticator)
                if not caller.may_use(workspace):
                    return None
            return self.services.jobs.get(workspace, job_id).updated
        except Exception:  # the stack answers it, with the error it deserves
            return None

    async def _answer_and_keep(
        self, scope: Scope, receive: Receive, send: Send, key: tuple, updated: Any
    ) -> None:
        start: Message | None = None
        body: list[bytes] | None = []

        async def keeping(message: Message) -> None:
            nonlocal start, body
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body" and body is not None:
                body.append(message.get("body", b""))
                if sum(map(len, body)) > LARGEST:
                    body = None
                elif not message.get("more_body", False) and start and start["status"] == 200:
                    if updated is not None and _is_json(start):
                        self._keep(key, _Answer(updated, start, b"".join(body)))
            await send(message)

        await self.app(scope, receive, keeping)

    def _keep(self, key: tuple, answer: _Answer) -> None:
        self.answers[key] = answer
        self.answers.move_to_end(key)
        while len(self.answers) > self.entries:
            self.answers.popitem(last=False)


def _is_json(start: Message) -> bool:
    """Only the status document is kept: never the job's HTML page (ades.web), whose logs
    change without its ``updated``."""
    for name, value in start.get("headers", []):
        if name.lower() == b"content-type":
            return value.split(b";")[0].strip() == b"application/json"
    return False
