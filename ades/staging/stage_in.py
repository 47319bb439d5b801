"""Stage-in: before the application runs, fetch the remote File and Directory inputs of a
CWL job order to local disk and hand cwltool local paths instead.

- A File ``{"class": "File", "location": "https://…" | "s3://…"}`` is downloaded.
- A Directory with such a location is a STAC reference (an Item, a Catalog, a Collection or
  an ItemCollection): its Items are read with pystac and written as a self-contained local
  catalog, ``catalog.json`` + ``<item>/<item>.json`` + the item's assets downloaded beside
  it with relative hrefs. ``"assets": [...]`` on the Directory names the assets to fetch.

Downloads of one job run in parallel on a bounded pool: https through one requests Session,
s3:// through the ObjectStore. Any failure is a ``StageInError`` naming the input, the
reference and the reason, raised before the application starts.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlparse

import pystac
import requests
from pystac.stac_io import DefaultStacIO
from pystac.utils import make_absolute_href

from ades.fetching import FetchPolicy, FetchRefused
from ades.metrics import record_stage_bytes
from ades.objectstore.store import ObjectStore
from ades.packages.inputs import ASSETS, SECONDARY

REMOTE_SCHEMES = ("http", "https", "s3")
CATALOG = "catalog.json"
_CHUNK = 1 << 20
# Seconds between looks at the cancel flag while downloads run.
_CANCEL_CHECK = 0.2


class StageInError(RuntimeError):
    pass


class StageInCancelled(StageInError):
    pass


class Fetcher:
    """Reads and downloads http(s):// and s3:// references; every failure becomes a
    ``StageInError`` saying which reference and why.

    ``policy`` says which addresses http(s) may reach (by default the embedded one's);
    ``s3_read`` names, for a workspace, the buckets besides the results bucket its inputs
    may read (unless the policy lets them read any)."""

    def __init__(
        self,
        objects: ObjectStore,
        timeout: float = 60.0,
        pool_size: int = 8,
        policy: FetchPolicy | None = None,
        s3_read: Callable[[str], Iterable[str]] | None = None,
    ):
        self.objects = objects
        self.timeout = timeout
        self.policy = policy or FetchPolicy.open()
        self.http = self.policy.session(pool_size)
        self.s3_read = s3_read
        self.workspace: str | None = None
        self.buckets: frozenset[str] = frozenset()

    def scoped(self, workspace: str | None) -> Fetcher:
        """This fetcher (same HTTP session) for a job of ``workspace``: in the server's own
        results bucket it may only read that workspace's objects, and other buckets only
        those the workspace's settings list (or any, with ADES_S3_READ_ANY)."""
        scoped = copy.copy(self)
        scoped.workspace = workspace
        if workspace is not None and self.s3_read is not None:
            scoped.buckets = frozenset(self.s3_read(workspace))
        return scoped

    def _s3(self, href: str) -> tuple[str, str]:
        bucket, key = _s3_parts(href)
        own = bucket == self.objects.bucket
        if own and self.workspace is not None and not key.startswith(self.workspace + "/"):
            raise StageInError(
                f"{href}: lies outside workspace '{self.workspace}' in the results bucket"
            )
        if not own and not self.policy.s3_read_any and bucket not in self.buckets:
            whose = f"workspace '{self.workspace}'" if self.workspace else "this job"
            raise StageInError(
                f"{href}: bucket '{bucket}' is not readable by {whose}: list it under "
                f"s3_read in the workspace's settings.yaml, or set ADES_S3_READ_ANY=true"
            )
        return bucket, key

    def list_directory(self, href: str) -> list[str] | None:
        """The keys under an ``s3://bucket/prefix`` reference, relative to the prefix; None
        when the reference names an object itself (only a reference ending with ``/`` is
        always a prefix)."""
        bucket, key = self._s3(href)
        try:
            keys = self.objects.list_keys(key, bucket=bucket)
        except KeyError:
            raise StageInError(f"{href}: no such bucket") from None
        except Exception as err:
            raise StageInError(f"{href}: {err}") from err
        if not href.endswith("/") and key in keys:
            return None
        folder = key if not key or key.endswith("/") else key + "/"
        # Keys ending with "/" are folder markers: empty directories, kept as such.
        relative = [k[len(folder) :] for k in keys if k.startswith(folder)]
        if not relative:
            raise StageInError(f"{href}: no such object, and no object under it")
        return [k for k in relative if k]

    def exists(self, href: str) -> bool:
        """Whether an object (s3) or a resource (http HEAD) is at ``href``."""
        if href.startswith("s3://"):
            bucket, key = self._s3(href)
            try:
                return key in self.objects.list_keys(key, bucket=bucket)
            except Exception:
                return False
        try:
            response = self.http.head(href, timeout=self.timeout, allow_redirects=True)
        except FetchRefused as err:
            raise StageInError(f"{href}: refused: {err}") from None
        except requests.RequestException:
            return False
        return response.status_code == 200

    def fingerprint(self, href: str) -> dict[str, str] | None:
        """What pins down the content at ``href`` for the result cache, without reading it
        where it can: an s3:// object's ETag; an http(s) resource's ETag and Last-Modified
        (of a HEAD request under the fetch policy, or of a GET's answer where HEAD is
        refused), or, when it answers with neither, the SHA-256 of its bytes. None when
        nothing is there; StageInError when it cannot be told (refused, unreachable,
        outside what the job may read)."""
        if href.startswith("s3://"):
            bucket, key = self._s3(href)
            try:
                return {"etag": self.objects.etag(key, bucket=bucket)}
            except KeyError:
                return None
            except Exception as err:
                raise StageInError(f"{href}: {err}") from err
        try:
            response = self.http.head(href, timeout=self.timeout, allow_redirects=True)
        except FetchRefused as err:
            raise StageInError(f"{href}: refused: {err}") from None
        except requests.RequestException as err:
            raise StageInError(f"{href}: cannot connect: {_short(err)}") from None
        if response.status_code == 404:
            return None
        if response.status_code == 200 and _validators(response):
            return _validators(response)
        # No HEAD (a URL presigned for GET refuses it), or no validators in its answer: a
        # GET's answer may have them; else its bytes are hashed.
        try:
            body = self._get(href, stream=True)
        except StageInError:
            if response.status_code == 200:
                raise
            return None  # neither HEAD nor GET finds anything there
        with body:
            if _validators(body):
                return _validators(body)
            digest = hashlib.sha256()
            try:
                for chunk in body.iter_content(_CHUNK):
                    digest.update(chunk)
            except requests.RequestException as err:
                raise StageInError(f"{href}: read broke off: {err}") from err
        return {"sha256": digest.hexdigest()}

    def read_bytes(self, href: str) -> bytes:
        if href.startswith("s3://"):
            bucket, key = self._s3(href)
            try:
                data = self.objects.get_bytes(key, bucket=bucket)
            except KeyError:
                raise StageInError(f"{href}: no such object") from None
            except Exception as err:
                raise StageInError(f"{href}: {err}") from err
        else:
            with self._get(href) as response:
                data = response.content
        record_stage_bytes("in", len(data))
        return data

    def download(self, href: str, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if href.startswith("s3://"):
            bucket, key = self._s3(href)
            try:
                self.objects.download_file(key, path, bucket=bucket)
            except KeyError:
                raise StageInError(f"{href}: no such object") from None
            except Exception as err:
                raise StageInError(f"{href}: {err}") from err
        else:
            with self._get(href, stream=True) as response, open(path, "wb") as out:
                try:
                    for chunk in response.iter_content(_CHUNK):
                        out.write(chunk)
                except requests.RequestException as err:
                    raise StageInError(f"{href}: download broke off: {err}") from err
        record_stage_bytes("in", path.stat().st_size)

    def _get(self, href: str, stream: bool = False) -> requests.Response:
        try:
            response = self.http.get(href, timeout=self.timeout, stream=stream)
        except FetchRefused as err:
            raise StageInError(f"{href}: refused: {err}") from None
        except requests.Timeout:
            raise StageInError(f"{href}: timed out after {self.timeout:g}s") from None
        except requests.RequestException as err:
            raise StageInError(f"{href}: cannot connect: {_short(err)}") from None
        if response.status_code != 200:
            response.close()
            raise StageInError(f"{href}: HTTP {response.status_code} {response.reason}")
        return response


class FetcherStacIO(DefaultStacIO):
    """pystac reads remote STAC documents through the Fetcher, and nothing else: a link of a
    remote catalog to a file on this machine is refused."""

    def __init__(self, fetcher: Fetcher):
        super().__init__()
        self.fetcher = fetcher

    def read_text(self, source: Any, *args: Any, **kwargs: Any) -> str:
        href = str(source)
        if urlparse(href).scheme in REMOTE_SCHEMES:
            return self.fetcher.read_bytes(href).decode()
        raise StageInError(f"{href}: a STAC link that is not http(s) or s3 is not followed")


@dataclass
class _Download:
    href: str
    path: Path
    input_id: str


class StageIn:
    """Stages the remote inputs of job orders in, ``concurrency`` downloads at a time."""

    def __init__(
        self,
        objects: ObjectStore,
        concurrency: int = 8,
        timeout: float = 60.0,
        policy: FetchPolicy | None = None,
        s3_read: Callable[[str], Iterable[str]] | None = None,
    ):
        """``policy`` and ``s3_read``: see ``Fetcher``."""
        self.fetcher = Fetcher(objects, timeout, concurrency, policy, s3_read)
        self.concurrency = concurrency

    def __call__(
        self,
        job_order: dict[str, Any],
        into: Path,
        on_progress: Callable[[str], None] | None = None,
        workspace: str | None = None,
        cancelled: threading.Event | None = None,
    ) -> dict[str, Any]:
        """The job order with every remote File and Directory replaced by a local one under
        ``into``. A job of ``workspace`` reads no other workspace's results. Raises
        StageInError naming the input at fault, StageInCancelled once ``cancelled`` is set."""
        job = _JobStageIn(self.fetcher.scoped(workspace), self.concurrency, cancelled)
        local = {
            input_id: job.plan(input_id, value, into / _safe(input_id))
            for input_id, value in job_order.items()
        }
        if job.downloads:
            if on_progress:
                on_progress(f"staging in inputs: downloading {len(job.downloads)} file(s)")
            job.download_all(on_progress)
        return local

    def fingerprint(self, href: str, workspace: str | None = None) -> dict[str, str] | None:
        """``Fetcher.fingerprint`` for a job of ``workspace``."""
        return self.fetcher.scoped(workspace).fingerprint(href)


class _JobStageIn:
    """The stage-in of one job order: what to download, then the downloads."""

    def __init__(self, fetcher: Fetcher, concurrency: int, cancelled: threading.Event | None):
        self.fetcher = fetcher
        self.concurrency = concurrency
        self.cancelled = cancelled
        self.downloads: list[_Download] = []

    def plan(self, input_id: str, value: Any, folder: Path) -> Any:
        """The local replacement of one value; what it needs downloaded goes to
        ``self.downloads``. STAC documents are read here, assets only listed."""
        if isinstance(value, list):
            return [self.plan(input_id, v, folder / str(i)) for i, v in enumerate(value)]
        if isinstance(value, dict) and "class" not in value:  # a record: its File fields
            return {k: self.plan(input_id, v, folder / _safe(k)) for k, v in value.items()}
        self.check_cancelled()
        if not _remote(value):
            return value
        href = value["location"]
        try:
            if value["class"] == "File":
                path = folder / _file_name(href)
                self.downloads.append(_Download(href, path, input_id))
                staged = {"class": "File", "path": str(path)}
                if "format" in value:
                    staged["format"] = value["format"]
                for pattern in value.get(SECONDARY, []):
                    self._plan_secondary(href, pattern, folder, input_id)
                return staged
            if href.startswith("s3://"):
                keys = self.fetcher.list_directory(href)
                if keys is not None and CATALOG in keys:
                    href = href.rstrip("/") + "/" + CATALOG
                elif keys is not None:
                    if value.get(ASSETS) is not None:
                        raise StageInError(f"{href}: 'assets' selects from a STAC catalog, "
                                           "and no catalog.json lies under this prefix")
                    return {"class": "Directory",
                            "path": str(self._plan_plain_directory(href, keys, folder, input_id))}
            self._plan_catalog(href, value.get(ASSETS), folder, input_id)
        except StageInError as err:
            raise StageInError(f"input '{input_id}': {err}") from None
        return {"class": "Directory", "path": str(folder)}

    def _plan_secondary(self, href: str, pattern: str, folder: Path, input_id: str) -> None:
        """Fetch the secondary file ``pattern`` names beside ``href`` (if it is there) next to
        the staged file, where cwltool looks for it; a missing one is cwltool's to report."""
        found, name = secondary_href(href, pattern)
        if self.fetcher.exists(found):
            self.downloads.append(_Download(found, folder / name, input_id))

    def _plan_plain_directory(
        self, href: str, keys: list[str], folder: Path, input_id: str
    ) -> Path:
        """An ``s3://`` prefix that is not a STAC catalog is a plain directory: every object
        under it goes to ``folder/<prefix name>/<its key relative to the prefix>``; a folder
        marker (a key ending with ``/``) is an empty directory."""
        base = href.rstrip("/") + "/"
        target = folder / _file_name(href.rstrip("/"), fallback="directory")
        target.mkdir(parents=True, exist_ok=True)
        for key in keys:
            parts = key.rstrip("/").split("/")
            if not all(_usable_name(part) for part in parts):
                raise StageInError(f"{base}{key}: the key is not a relative file path")
            if key.endswith("/"):
                target.joinpath(*parts).mkdir(parents=True, exist_ok=True)
                continue
            self.downloads.append(_Download(base + quote(key), target.joinpath(*parts), input_id))
        return target

    def _plan_catalog(
        self,
        href: str,
        wanted: list[str] | None,
        folder: Path,
        input_id: str,
    ) -> None:
        items = self._read_items(href)
        if not items:
            raise StageInError(f"{href}: the STAC document holds no item")
        catalog = pystac.Catalog(
            id=input_id,
            description=f"Staged in from {href}",
            catalog_type=pystac.CatalogType.SELF_CONTAINED,
        )
        found: set[str] = set()
        ids: set[str] = set()
        for item, source in items:
            local = _local_item(item, source, ids)
            item_dir = folder / _safe(local.id)
            names: set[str] = set()
            for key, asset in list(local.assets.items()):
                if wanted is not None and key not in wanted:
                    del local.assets[key]
                    continue
                found.add(key)
                remote = make_absolute_href(asset.href, source, start_is_dir=False)
                if urlparse(remote).scheme not in REMOTE_SCHEMES:
                    raise StageInError(
                        f"asset '{key}' of item '{item.id}' has an href that is not "
                        f"http(s) or s3: {asset.href}"
                    )
                path = item_dir / _unique(_file_name(remote, key), names)
                self.downloads.append(_Download(remote, path, input_id))
                asset.href = str(path)
            catalog.add_item(local)
        missing = [key for key in wanted or [] if key not in found]
        if missing:
            raise StageInError(f"{href}: no item has the asset(s) {', '.join(missing)}")
        catalog.normalize_hrefs(str(folder), skip_unresolved=True)
        catalog.make_all_asset_hrefs_relative()
        folder.mkdir(parents=True, exist_ok=True)
        catalog.save()

    def _read_items(self, href: str) -> list[tuple[pystac.Item, str]]:
        """The Items a STAC reference stands for, each with the href its relative asset
        hrefs resolve against."""
        raw = self.fetcher.read_bytes(href)
        try:
            doc = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise StageInError(f"{href}: not a STAC document (not JSON)") from None
        kind = doc.get("type") if isinstance(doc, dict) else None
        io = FetcherStacIO(self.fetcher)
        try:
            if kind == "Feature" and "stac_version" in doc:
                item = pystac.Item.from_dict(doc, href=href, migrate=True, preserve_dict=False)
                return [(item, href)]
            if kind == "FeatureCollection":
                features = doc.get("features") or []
                return [(pystac.Item.from_dict(f, href=href, migrate=True), href) for f in features]
            if kind in ("Catalog", "Collection"):
                root = pystac.read_dict(doc, href=href, stac_io=io)
                return [(i, i.get_self_href() or href) for i in root.get_items(recursive=True)]
        except StageInError:
            raise
        except Exception as err:
            if isinstance(err.__cause__, StageInError):
                # A link pystac followed that the Fetcher refused or could not read.
                raise StageInError(f"{href}: {err.__cause__}") from None
            raise StageInError(f"{href}: not a valid STAC document: {_short(err)}") from None
        raise StageInError(
            f"{href}: not a STAC document (expected an Item, Catalog, Collection or "
            f"ItemCollection, got {'type ' + repr(kind) if kind else 'no type'})"
        )

    def download_all(self, on_progress: Callable[[str], None] | None = None) -> None:
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="stage-in")
        abandon = False
        total = len(self.downloads)
        try:
            futures = {
                pool.submit(self.fetcher.download, d.href, d.path): d for d in self.downloads
            }
            pending: set[Future[None]] = set(futures)
            while pending:
                # Wake up now and then to notice a dismiss; a download itself cannot be
                # interrupted, so a cancelled job leaves its in-flight ones behind.
                done, pending = wait(pending, _CANCEL_CHECK, return_when=FIRST_EXCEPTION)
                for future in done:
                    err = future.exception()
                    if err is not None:
                        where = futures[future].input_id
                        if isinstance(err, StageInError):
                            raise StageInError(f"input '{where}': {err}") from None
                        href = futures[future].href
                        raise StageInError(f"input '{where}': {href}: {err}") from err
                if done and on_progress:
                    finished = total - len(pending)
                    on_progress(f"staging in inputs: {finished} of {total} file(s) downloaded")
                self.check_cancelled()
        except StageInCancelled:
            abandon = True
            raise
        finally:
            pool.shutdown(wait=not abandon, cancel_futures=True)

    def check_cancelled(self) -> None:
        if self.cancelled is not None and self.cancelled.is_set():
            raise StageInCancelled("the job was dismissed during stage-in")


def _validators(response: requests.Response) -> dict[str, str]:
    """The ETag and Last-Modified of an HTTP answer, those it has."""
    return {
        name: response.headers[header]
        for name, header in (("etag", "ETag"), ("modified", "Last-Modified"))
        if response.headers.get(header)
    }


def secondary_href(href: str, pattern: str) -> tuple[str, str]:
    """The href of the secondary file ``pattern`` names beside the file at ``href``, and
    its file name (``^`` takes an extension off the name first, ``?`` marks it optional)."""
    name = _file_name(href)
    stem = pattern.rstrip("?")
    while stem.startswith("^"):
        stem = stem[1:]
        name = name.rsplit(".", 1)[0] if "." in name else name
    return f"{href.rsplit('/', 1)[0]}/{quote(name + stem)}", name + stem


def has_remote_inputs(job_order: dict[str, Any]) -> bool:
    def remote(value: Any) -> bool:
        if isinstance(value, list):
            return any(remote(v) for v in value)
        if isinstance(value, dict) and "class" not in value:
            return any(remote(v) for v in value.values())
        return _remote(value)

    return any(remote(v) for v in job_order.values())


def is_remote(value: Any) -> bool:
    """Whether a job order value is a File or Directory at an http(s) or s3 location."""
    return _remote(value)


def _remote(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("class") in ("File", "Directory")
        and urlparse(str(value.get("location", ""))).scheme in REMOTE_SCHEMES
    )


def _local_item(item: pystac.Item, source: str, ids: set[str]) -> pystac.Item:
    """A copy of ``item`` for the local catalog: its own links dropped (they point into the
    remote tree), a ``via`` link back to where it came from, and a unique id."""
    local = item.clone()
    local.clear_links()
    local.collection_id = None
    local.id = _unique(item.id, ids)
    local.add_link(pystac.Link("via", item.get_self_href() or source, "application/geo+json"))
    return local


def _s3_parts(href: str) -> tuple[str, str]:
    parsed = urlparse(href)
    return parsed.netloc, unquote(parsed.path.lstrip("/"))


def _file_name(href: str, fallback: str = "input") -> str:
    """The name a downloaded file keeps: the last segment of its URL, as the tool would have
    called it (``A%3AGln2Cys`` is ``A:Gln2Cys``); a fallback only when that is no usable
    file name."""
    name = unquote(urlparse(href).path).rsplit("/", 1)[-1]
    return name if _usable_name(name) else fallback


def _usable_name(name: str) -> bool:
    """Whether ``name`` can be one segment of a local path without escaping its folder."""
    return name not in ("", ".", "..") and "/" not in name and "\0" not in name


def _safe(name: str) -> str:
    """A name usable as one path segment."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return cleaned or "_"


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        stem, dot, suffix = name.partition(".")
        candidate = f"{stem}-{n}{dot}{suffix}"
    taken.add(candidate)
    return candidate


def _short(err: Exception) -> str:
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text if len(text) <= 200 else text[:197] + "..."
