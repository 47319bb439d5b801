"""What the openEO renderers share: job statuses in openEO's words, and its link shape."""

from __future__ import annotations

from typing import Any

from ades.model import JobStatus

# openEO's batch job statuses. A dismissed job that still exists was stopped on request
# (DELETE /jobs/{id}/results, or OGC's stop): openEO calls it canceled.
STATUS: dict[JobStatus, str] = {
    JobStatus.CREATED: "created",
    JobStatus.ACCEPTED: "queued",
    JobStatus.RUNNING: "running",
    JobStatus.SUCCESSFUL: "finished",
    JobStatus.FAILED: "error",
    JobStatus.DISMISSED: "canceled",
}


def link(href: str, rel: str, title: str | None = None, type_: str = "application/json") -> dict:
    out: dict[str, Any] = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out
