"""The result cache's key: what a job runs and on what, as one digest. Two jobs of a
workspace with the same key compute the same results, so the later one may take the
earlier one's instead of running (``JobRun``). Framework- and I/O-free: what the remote
inputs hold right now comes in through a ``Fingerprint``.

The key is the SHA-256 of a canonical JSON document (keys sorted, no whitespace) of:
- the package pinned to the job at submission (its CWL text and entry point),
- the CWL job order made of its inputs, every remote File replaced by its location and
  what pins down its content now: an s3:// object's ETag, an http(s) resource's ETag and
  Last-Modified, or a hash of its bytes when it sends neither; its secondary files too,
- the outputs the request asked for (a literal asked for by reference is stored as a file).

No key (None) when the inputs cannot be pinned down: a remote Directory (a STAC catalog or
an s3:// prefix stands for many objects, read only at stage-in), or a remote File whose
content cannot be told now (unreachable, refused, missing): such a job runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from ades.packages.inputs import SECONDARY

# Bumped when what goes into a key changes: keys of older servers then match nothing.
VERSION = 1
# Where a remote File's fingerprint goes in the job order the key is made of.
FINGERPRINT = "ades:fingerprint"

# What pins down the content at an href now; None when nothing is there. Raises when it
# cannot be told (the job then gets no key).
Fingerprint = Callable[[str], dict[str, str] | None]
# Whether a job order value is a File or Directory at a remote (http(s), s3) location.
IsRemote = Callable[[Any], bool]
# The href of a secondary file pattern beside an href, and its name.
Sibling = Callable[[str, str], tuple[str, str]]


class Uncacheable(Exception):
    """The job's inputs cannot be pinned down: it gets no key, and runs."""


def canonical(value: Any) -> bytes:
    """``value`` as JSON whatever its key order and spacing: equal values, equal bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def cache_key(
    request: dict[str, Any],
    fingerprint: Fingerprint,
    is_remote: IsRemote,
    sibling: Sibling,
) -> str | None:
    """The cache key of a job from its stored request (``job_order`` and the pinned
    ``package``); None when it has none (a job from before packages were pinned, or inputs
    that cannot be pinned down)."""
    package = request.get("package")
    if not package:
        return None
    try:
        job_order = _pinned(request.get("job_order") or {}, fingerprint, is_remote, sibling)
    except Uncacheable:
        return None
    return digest(
        {
            "version": VERSION,
            "package": digest({"cwl": package.get("cwl"), "entry": package.get("entry")}),
            "job_order": job_order,
            "outputs": request.get("outputs") or {},
        }
    )


def _pinned(value: Any, fingerprint: Fingerprint, is_remote: IsRemote, sibling: Sibling) -> Any:
    """``value`` with each remote File's content pinned down beside its location."""
    if isinstance(value, list):
        return [_pinned(v, fingerprint, is_remote, sibling) for v in value]
    if isinstance(value, dict) and "class" not in value:  # an object: a record, a literal
        return {k: _pinned(v, fingerprint, is_remote, sibling) for k, v in value.items()}
    if not is_remote(value):
        return value
    if value["class"] != "File":
        raise Uncacheable(f"{value['location']}: a remote Directory")
    href = value["location"]
    pinned = _fingerprint(fingerprint, href)
    if pinned is None:
        raise Uncacheable(f"{href}: nothing there")
    secondary = {}
    for pattern in value.get(SECONDARY, []):
        found, _name = sibling(href, pattern)
        # A missing secondary file is a state too: it may appear later.
        secondary[pattern] = _fingerprint(fingerprint, found) or {"absent": "true"}
    if secondary:
        pinned = {**pinned, "secondaryFiles": secondary}
    return {**value, FINGERPRINT: pinned}


def _fingerprint(fingerprint: Fingerprint, href: str) -> dict[str, str] | None:
    try:
        return fingerprint(href)
    except Exception as err:
        raise Uncacheable(f"{href}: {err}") from err


def reuse_allowed(request: dict[str, Any]) -> bool:
    """Whether the job may take an earlier job's results: its process and workspace let
    it, the request did not opt out (``Cache-Control: no-cache``, openEO ``"cache": false``)
    and neither did its latest start."""
    settings = request.get("cache") or {}
    return all(settings.get(flag, True) for flag in ("enabled", "reuse", "start"))


def keyed(request: dict[str, Any]) -> bool:
    """Whether the job gets a key at all: not when its process or workspace turned the
    cache off (its inputs' fingerprints would cost requests for nothing)."""
    return bool((request.get("cache") or {}).get("enabled", True))
