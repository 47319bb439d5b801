"""A job's results copied under another job's prefix, for the result cache: the new job
owns its copy, which stays whole when the job it came from is dismissed (its objects
deleted) or run again (its objects replaced).

Objects are copied server-side (S3 CopyObject): the bytes never pass through the server.
The few that name their own location are rewritten instead: the STAC documents of catalog
outputs, whose asset hrefs are absolute ``s3://`` URIs (``stage_out._Staging.put_catalog``). The
result records kept with the job get the same rewrite."""

from __future__ import annotations

import json
import posixpath
from typing import Any

from ades.objectstore.store import ObjectStore
from ades.staging.stac_results import stored_records
from ades.staging.stage_out import JSON


def copy_results(
    objects: ObjectStore, results: dict[str, Any], source: str, target: str
) -> dict[str, Any]:
    """Copy every object under ``source/`` to ``target/`` and return ``results`` (result
    records of objects under ``source``) naming the copies. Raises ``KeyError`` when an
    object a record names is not there, or vanished meanwhile (the source job was
    dismissed): the copy is then incomplete, and the caller's to delete."""
    old, new = objects.uri(source + "/"), objects.uri(target + "/")
    keys = objects.list_keys(source + "/")
    catalogs = []
    for record in _all_records(results):
        key = objects.key_of(record.get("href", ""))
        if key is None or not key.startswith(source + "/"):
            continue
        if record.get("stac"):
            catalogs.append(posixpath.dirname(key) + "/")
        if not key.endswith("/") and key not in keys:
            # Deleted behind the server's back (an S3 lifecycle rule, a person).
            raise KeyError(f"{key} is gone")
    for key in keys:
        moved = target + key[len(source) :]
        if key.endswith(".json") and key.startswith(tuple(catalogs)):
            data = objects.get_bytes(key)
            if old.encode() in data:
                try:
                    document = json.loads(data)
                except ValueError:  # a file of the output named .json, not a document
                    pass
                else:
                    rewritten = json.dumps(relocated(document, old, new), indent=2)
                    objects.put_bytes(rewritten.encode(), moved, JSON)
                    continue
        try:
            objects.copy(key, moved)
        except KeyError:  # deleted since the listing: the source job was dismissed
            raise KeyError(f"{key} is gone") from None
    return relocated(results, old, new)


def relocated(value: Any, old: str, new: str) -> Any:
    """``value`` with every string that starts with ``old`` starting with ``new`` instead."""
    if isinstance(value, str):
        return new + value[len(old) :] if value.startswith(old) else value
    if isinstance(value, list):
        return [relocated(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: relocated(v, old, new) for k, v in value.items()}
    return value


def _all_records(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [record for value in results.values() for record in stored_records(value)]
