"""``ades results --download DIR``: every file a job's results reference, fetched in
parallel and resumable.

The files are found the way any client of the standard finds them: the ``href`` links of
the results document; a link to a STAC catalog, collection or item (JSON with a
``stac_version``) is walked through its ``child`` and ``item`` links to its assets; a
directory listing (``application/x-directory``) to its files. Each lands in
``DIR/<output id>/...``. A file already there is asked for from its size on (``Range``):
a complete one is answered ``416`` and left alone, a partial one gets its missing bytes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from ades.client.http import Api, ClientError

JSON_TYPES = ("application/json", "application/geo+json")
CHUNK = 1 << 16


@dataclass
class Remote:
    """A file to fetch: ``path`` under the download folder, from ``href``."""

    path: str
    href: str


def _name(href: str) -> str:
    name = PurePosixPath(unquote(urlsplit(href).path)).name
    return _safe(name) or "file"


def _safe(part: str) -> str:
    """A path segment that cannot leave the download folder."""
    part = re.sub(r"[\\/\0]", "_", part).strip()
    return "_" if part in ("", ".", "..") else part


def references(api: Api, results: Any, base: str) -> tuple[list[Remote], list[str]]:
    """The files the results document references, and the references that are no HTTP
    URL (``s3://`` and the like: only the server could read them), resolved against
    ``base`` (the URL of the results)."""
    found: dict[str, Remote] = {}
    skipped: list[str] = []
    seen_docs: set[str] = set()

    def add(path: str, href: str) -> None:
        if href in found:
            return
        taken = {r.path for r in found.values()}
        unique, n = path, 1
        while unique in taken:
            n += 1
            stem, dot, ext = path.rpartition(".")
            unique = f"{stem}-{n}.{ext}" if dot and "/" not in ext else f"{path}-{n}"
        found[href] = Remote(unique, href)

    def link(href: str, media_type: str, prefix: str, where: str) -> None:
        href = urljoin(where, href)
        if urlsplit(href).scheme not in ("http", "https"):
            skipped.append(href)
            return
        media_type = media_type.split(";")[0].strip().lower()
        if media_type in ("", *JSON_TYPES, "application/x-directory"):
            doc = _document(api, href, seen_docs)
            if isinstance(doc, dict) and "stac_version" in doc:
                stac(doc, href, prefix)
                return
            if isinstance(doc, dict) and doc.get("type") == "application/x-directory":
                for entry in doc.get("files") or []:
                    parts = [_safe(p) for p in str(entry.get("path", "")).split("/") if p]
                    add("/".join([prefix, *parts]) if parts else f"{prefix}/{_name(href)}",
                        urljoin(href, entry["href"]))
                return
            if doc is ...:  # already walked (a catalog linked twice)
                return
        add(f"{prefix}/{_name(href)}", href)

    def stac(doc: dict, where: str, prefix: str) -> None:
        folder = prefix
        if doc.get("type") == "Feature" and doc.get("id"):
            folder = f"{prefix}/{_safe(str(doc['id']))}"
        for asset in (doc.get("assets") or {}).values():
            if isinstance(asset, dict) and asset.get("href"):
                href = urljoin(where, asset["href"])
                if urlsplit(href).scheme in ("http", "https"):
                    add(f"{folder}/{_name(href)}", href)
                else:
                    skipped.append(href)
        for item in doc.get("links") or []:
            if item.get("rel") in ("child", "item") and item.get("href"):
                href = urljoin(where, item["href"])
                child = _document(api, href, seen_docs)
                if isinstance(child, dict) and "stac_version" in child:
                    stac(child, href, prefix)

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("href"), str):
                link(node["href"], str(node.get("type") or ""), prefix, base)
                return
            for key, value in node.items():
                if key in ("links",):
                    continue
                walk(value, prefix if key in ("value", "outputs") else f"{prefix}/{_safe(key)}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                label = value.get("id") if isinstance(value, dict) else None
                walk(value, f"{prefix}/{_safe(str(label))}" if label else
                     (f"{prefix}/{i}" if len(node) > 1 else prefix))

    if isinstance(results, dict):
        for key, value in results.items():
            if key == "outputs" and isinstance(value, list):  # EOEPCA, pygeoapi documents
                walk(value, ".")
            elif key != "links":
                walk(value, _safe(key))
    for remote in found.values():
        remote.path = remote.path.removeprefix("./")
    return list(found.values()), skipped


def _document(api: Api, href: str, seen: set[str]) -> Any:
    """The JSON document at ``href``, ``...`` when it was read before, None when it is not
    JSON (then it is a file like any other)."""
    if href in seen:
        return ...
    seen.add(href)
    response = api.get(href, headers={"Accept": "application/json"})
    if not response.headers.get("Content-Type", "").split(";")[0].strip().endswith("json"):
        return None
    try:
        return response.json()
    except ValueError:
        return None


@dataclass
class Outcome:
    path: str
    href: str
    size: int
    done: str  # downloaded | resumed | complete


Progress = Callable[[str, int, int | None], None]  # (path, bytes just written, total)


def fetch(api: Api, remote: Remote, folder: Path, progress: Progress) -> Outcome:
    """One file, from where its local copy ends."""
    target = folder / remote.path
    target.parent.mkdir(parents=True, exist_ok=True)
    have = target.stat().st_size if target.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    response = api.request("GET", remote.href, ok=(416,), stream=True, headers=headers,
                           timeout=(api.timeout, 300))
    with response:
        total = _total(response)
        if response.status_code == 416:
            if total is None or total == have:
                progress(remote.path, have, have)
                return Outcome(remote.path, remote.href, have, "complete")
            # Longer here than there: not this file, fetch it again from the start.
            response.close()
            target.unlink()
            return fetch(api, remote, folder, progress)
        mode, done = "wb", "downloaded"
        if response.status_code == 206 and _range_start(response) == have:
            mode, done = "ab", "resumed"
        elif have and total == have:  # the server ignored Range: the file is complete
            progress(remote.path, have, have)
            return Outcome(remote.path, remote.href, have, "complete")
        size = have if mode == "ab" else 0
        progress(remote.path, size, total)
        with target.open(mode) as out:
            for chunk in response.iter_content(CHUNK):
                out.write(chunk)
                size += len(chunk)
                progress(remote.path, len(chunk), total)
    if total is not None and size != total:
        raise ClientError(f"{remote.href}: {size} of {total} bytes arrived (run again to "
                          "resume)")
    return Outcome(remote.path, remote.href, size, done)


def _total(response: Any) -> int | None:
    """The whole file's size: Content-Range's ``/total``, else Content-Length of a 200."""
    found = re.search(r"/(\d+)\s*$", response.headers.get("Content-Range", ""))
    if found:
        return int(found.group(1))
    length = response.headers.get("Content-Length")
    if response.status_code == 200 and length and length.isdigit():
        return int(length)
    return None


def _range_start(response: Any) -> int | None:
    found = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return int(found.group(1)) if found else None


def download(api: Api, remotes: list[Remote], folder: Path, parallel: int,
             progress: Progress) -> Iterator[Outcome | ClientError]:
    """Every file, ``parallel`` at once; each outcome (or its error) as it finishes."""
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        futures = [pool.submit(fetch, api, remote, folder, progress) for remote in remotes]
        for future in as_completed(futures):
            try:
                yield future.result()
            except ClientError as err:
                yield err
