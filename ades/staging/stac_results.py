"""A job's results read back from the object store as STAC people can open:

- ``output_document``: one STAC document of a catalog output, its links rewritten to walk
  through the API (``…/results/{outputID}?path=…``) and its asset hrefs downloadable;
- ``directory``: the files of a plain Directory output, downloadable;
- ``files``: every result file of a job as a STAC asset (href, type, roles, title), with
  its key and size and the STAC items it came with — what ``collection`` and the
  openEO results document build on;
- ``collection``: all of a job's results as one STAC Collection whose assets are every
  result file, with a ``canonical`` link;
- ``output_collection``: one catalog output as a STAC Collection linking each of its items
  (walkable through the API) and holding their assets; ``output_features``: its items as a
  GeoJSON FeatureCollection, each linking to that Collection — the value the APEx
  dispatcher reads when a process asks for ``ades:StacResults: {form: feature-collection}``.

Every file is linked to the job's download route (``JobFiles``). Framework-free: API URLs
come in through ``ResultUrls`` and ``JobFiles``."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pystac

from ades.errors import InvalidRequest, NoSuchOutput
from ades.model import Job
from ades.objectstore.store import ObjectStore
from ades.staging.downloads import DownloadLinks, JobFiles
from ades.staging.provenance import PROVENANCE_KEY, ZIP, provenance_link
from ades.staging.stage_out import CATALOG, DIRECTORY, ObjectStoreStacIO, media_type

GEOJSON = "application/geo+json"
JSON = "application/json"
WORLD = [-180.0, -90.0, 180.0, 90.0]


@dataclass
class ResultFiles:
    """A job's result files: STAC assets by name (the path under the job, or the href of a
    file that lies elsewhere), the bucket key and size of each of the job's own files, the
    STAC items they came with, and the key of each STAC catalog output's root document by
    output id."""

    assets: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    items: list[pystac.Item] = field(default_factory=list)
    catalogs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ResultUrls:
    """The API URL of a job's results, e.g. http://host/demo/ogc-api/jobs/<id>/results."""

    results: str

    def output(self, output_id: str, path: str | None = None) -> str:
        url = f"{self.results}/{quote(output_id)}"
        if path and path != CATALOG:
            url += f"?path={quote(path)}"
        return url

    def collection(self, output_id: str) -> str:
        """Where a catalog output is served as a STAC Collection of its items."""
        return f"{self.results}/{quote(output_id)}/collection"


class StacResults:
    def __init__(self, objects: ObjectStore, links: DownloadLinks):
        self.objects = objects
        self.links = links

    def output_document(
        self,
        job: Job,
        output_id: str,
        record: dict[str, Any],
        path: str | None,
        urls: ResultUrls,
        files: JobFiles,
    ) -> dict[str, Any]:
        """The STAC document at ``path`` (default: the root catalog) of a catalog output."""
        catalog_key = self.links.key_of(record["href"])
        if catalog_key is None:
            raise NoSuchOutput(output_id, job.id)
        base = posixpath.dirname(catalog_key)
        rel = posixpath.normpath(path or CATALOG)
        if rel.startswith("../") or rel == ".." or rel.startswith("/"):
            raise InvalidRequest(f"path '{path}' lies outside output '{output_id}'")
        key = f"{base}/{rel}"
        try:
            doc = json.loads(self.objects.get_bytes(key))
        except KeyError:
            raise NoSuchOutput(f"{output_id}/{rel}", job.id) from None

        def api(target: str) -> str | None:
            if target == base or not target.startswith(base + "/"):
                return None
            return urls.output(output_id, target[len(base) + 1 :])

        links = [link for link in doc.get("links", []) if link.get("rel") != "self"]
        for link in links:
            target = self._key(link.get("href", ""), key)
            if target is not None:
                link["href"] = api(target) or self.links.href(self.objects.uri(target), files)
        doc["links"] = [
            {"rel": "self", "href": urls.output(output_id, rel), "type": JSON},
            *links,
        ]
        provenance = self._provenance(job, files)
        if rel == CATALOG and provenance:  # the output's root catalog
            doc["links"].append(provenance)
        for asset in (doc.get("assets") or {}).values():
            target = self._key(asset.get("href", ""), key)
            if target is not None:
                asset["href"] = self.links.href(self.objects.uri(target), files)
        return doc

    def directory(self, record: dict[str, Any], files: JobFiles) -> dict[str, Any]:
        """A plain Directory output: its name (as the tool wrote it) and its files, each with
        a downloadable href."""
        folder = self.links.key_of(record["href"]) or ""
        listing = [
            {
                "path": key[len(folder) :],
                "href": self.links.href(self.objects.uri(key), files),
                "type": media_type(Path(key)),
            }
            for key in self.objects.list_keys(folder)
            if not key.endswith("/")  # the marker of an empty directory
        ]
        name = folder.rstrip("/").rsplit("/", 1)[-1]
        return {"type": DIRECTORY, "name": name, "files": listing}

    def files(self, job: Job, files: JobFiles) -> ResultFiles:
        """Every result file of ``job`` (stored under ``files.prefix``) as a STAC asset,
        with where it lies, its size, and the STAC items and catalogs it came with."""
        found = ResultFiles()
        for output_id, record in _records(job.results):
            if record.get("stac"):
                found.catalogs[output_id] = self.links.key_of(record["href"]) or ""
                for item in self._items(record["href"]):
                    found.items.append(item)
                    for asset in item.assets.values():
                        href = asset.get_absolute_href() or asset.href
                        roles = asset.roles or ["data"]
                        self._add(found, files, href, asset.media_type, roles, asset.title)
            elif record.get("type") == DIRECTORY:
                folder = self.links.key_of(record["href"]) or ""
                for key in self.objects.list_keys(folder):
                    if key.endswith("/"):  # the marker of an empty directory
                        continue
                    file_type = media_type(Path(key))
                    self._add(found, files, self.objects.uri(key), file_type, ["data"], None)
            elif "href" in record:
                self._add(found, files, record["href"], record.get("type"), ["data"], None)
        if found.keys:
            sizes = self.objects.sizes(files.prefix + "/")
            found.sizes = {name: sizes[key] for name, key in found.keys.items() if key in sizes}
        return found

    def collection(self, job: Job, files: JobFiles, urls: ResultUrls) -> dict[str, Any]:
        """All results of ``job`` (stored under ``files.prefix``) as one STAC Collection."""
        found = self.files(job, files)
        assets = found.assets
        children = [
            {
                "rel": "child",
                "href": urls.output(output_id),
                "type": JSON,
                "title": f"STAC catalog of output '{output_id}'",
            }
            for output_id in found.catalogs
        ]
        bboxes = [item.bbox for item in found.items if item.bbox]
        times = [t for item in found.items for t in item_times(item)]
        if not times:
            times = [t for t in (job.started, job.finished) if t]
        provenance = self._provenance(job, files)
        if provenance:
            # Listed with the results, as the file it is; not a result file of an output.
            assets[PROVENANCE_KEY] = {
                "href": provenance["href"], "type": ZIP, "roles": ["metadata", "provenance"],
                "title": "Provenance of the run (Workflow Run RO-Crate, zip)",
            }  # fmt: skip
        doc: dict[str, Any] = {
            "type": "Collection",
            "stac_version": "1.0.0",
            "stac_extensions": [],
            "id": job.id,
            "title": f"Results of job {job.id}",
            "description": f"Results of process '{job.process_id}' in workspace "
            f"'{job.workspace}', job {job.id}",
            "license": "proprietary",
            "extent": {
                "spatial": {"bbox": [union(bboxes)]},
                "temporal": {"interval": [[_iso(min(times)), _iso(max(times))]]},
            },
            "assets": assets,
            "links": [
                {"rel": "self", "href": urls.results, "type": GEOJSON},
                # The stable address to share; its asset hrefs are stable too.
                {"rel": "canonical", "href": urls.results, "type": GEOJSON},
                *children,
                *([provenance] if provenance else []),
            ],
        }
        return doc

    def _provenance(self, job: Job, files: JobFiles) -> dict[str, str] | None:
        """The ``rel: provenance`` link of the job's results; None when it has none."""
        if not job.provenance:
            return None
        return provenance_link(self.links.href(job.provenance["href"], files))

    def output_collection(
        self, job: Job, output_id: str, record: dict[str, Any], urls: ResultUrls, files: JobFiles
    ) -> dict[str, Any]:
        """The STAC catalog output ``output_id`` (its stored ``record``) of ``job`` as a STAC
        Collection: an ``item`` link per item (its API URL, which serves it with downloadable
        assets), every item asset downloadable, the extent the items span."""
        found = ResultFiles()
        item_links: list[dict[str, Any]] = []
        bboxes: list[list[float]] = []
        times: list[datetime] = []
        for path, item in self._output_items(job, output_id, record):
            item_links.append(
                {"rel": "item", "href": urls.output(output_id, path), "type": GEOJSON,
                 "title": item.id}
            )  # fmt: skip
            bboxes.extend([item.bbox] if item.bbox else [])
            times.extend(item_times(item))
            for asset in item.assets.values():
                href = asset.get_absolute_href() or asset.href
                roles = asset.roles or ["data"]
                self._add(found, files, href, asset.media_type, roles, asset.title)
        if not times:
            times = [t for t in (job.started, job.finished) if t]
        return {
            "type": "Collection",
            "stac_version": "1.0.0",
            "stac_extensions": [],
            "id": collection_id(job, output_id),
            "title": f"Output '{output_id}' of job {job.id}",
            "description": f"The items of output '{output_id}' of process '{job.process_id}' "
            f"in workspace '{job.workspace}', job {job.id}",
            "license": "proprietary",
            "extent": {
                "spatial": {"bbox": [union(bboxes)]},
                "temporal": {"interval": [[_iso(min(times)), _iso(max(times))]]},
            },
            "assets": found.assets,
            "links": [
                {"rel": "self", "href": urls.collection(output_id), "type": JSON},
                {
                    "rel": "via",
                    "href": urls.output(output_id),
                    "type": JSON,
                    "title": f"STAC catalog of output '{output_id}'",
                },
                *item_links,
            ],
        }

    def output_features(
        self, job: Job, output_id: str, record: dict[str, Any], urls: ResultUrls, files: JobFiles
    ) -> dict[str, Any]:
        """The items of the STAC catalog output ``output_id`` as a GeoJSON FeatureCollection:
        each item as ``output_document`` serves it, in the output's collection (its id and a
        ``collection`` link to ``output_collection``'s URL)."""
        features = []
        collection = {"rel": "collection", "href": urls.collection(output_id), "type": JSON}
        for path, _item in self._output_items(job, output_id, record):
            item = self.output_document(job, output_id, record, path, urls, files)
            item["collection"] = collection_id(job, output_id)
            item["links"] = [
                *(link for link in item.get("links", []) if link.get("rel") != "collection"),
                collection,
            ]
            features.append(item)
        # No top-level "bbox": ogc-api-processes-client 0.6 would then read the whole
        # value as a bounding box input value as well, and refuse the results document.
        return {"type": "FeatureCollection", "features": features, "links": [collection]}

    def _output_items(
        self, job: Job, output_id: str, record: dict[str, Any]
    ) -> Iterator[tuple[str, pystac.Item]]:
        """(path relative to the output's catalog, item) of each item of a catalog output."""
        catalog_key = self.links.key_of(record["href"])
        if catalog_key is None:
            raise NoSuchOutput(output_id, job.id)
        base = posixpath.dirname(catalog_key)
        for item in self._items(record["href"]):
            key = self.links.key_of(item.get_self_href() or "") or ""
            if key.startswith(base + "/"):
                yield key[len(base) + 1 :], item

    def _items(self, catalog_href: str) -> Iterator[pystac.Item]:
        catalog = pystac.Catalog.from_file(catalog_href, stac_io=ObjectStoreStacIO(self.objects))
        yield from catalog.get_items(recursive=True)

    def _add(
        self,
        found: ResultFiles,
        files: JobFiles,
        href: str,
        media_type: str | None,
        roles: list[str],
        title: str | None,
    ) -> None:
        key = self.links.key_of(href)
        prefix = files.prefix
        name = key[len(prefix) + 1 :] if key and key.startswith(prefix + "/") else href
        asset: dict[str, Any] = {"href": self.links.href(href, files)}
        if media_type:
            asset["type"] = media_type
        asset["roles"] = roles
        asset["title"] = title or posixpath.basename(name)
        found.assets[name] = asset
        if key is not None and name != href:
            found.keys[name] = key

    def _key(self, href: str, doc_key: str) -> str | None:
        """The key in the results bucket an href of the document at ``doc_key`` points to;
        None for an href elsewhere (another host, another bucket)."""
        if "://" in href:
            return self.links.key_of(href)
        if not href:
            return None
        # A relative href is a URI reference: its escapes stand for the key's characters.
        return posixpath.normpath(posixpath.join(posixpath.dirname(doc_key), unquote(href)))


def collection_id(job: Job, output_id: str) -> str:
    """The id of the STAC Collection of a job's catalog output."""
    return f"{job.id}-{output_id}"


def _records(results: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for output_id, value in results.items():
        for record in stored_records(value):
            yield output_id, record


def stored_records(value: Any) -> Iterator[dict[str, Any]]:
    """The records of one output's value: itself, or those inside its list or record."""
    if isinstance(value, list):
        for item in value:
            yield from stored_records(item)
    elif isinstance(value, dict) and "record" in value:
        for item in value["record"].values():
            yield from stored_records(item)
    elif isinstance(value, dict):
        yield value
        for item in value.get("secondaryFiles", []):
            yield from stored_records(item)


def item_times(item: pystac.Item) -> list[datetime]:
    """The instants a STAC item names: its datetime, start and end."""
    common = item.common_metadata
    return [t for t in (item.datetime, common.start_datetime, common.end_datetime) if t]


def union(bboxes: list[list[float]]) -> list[float]:
    """The 2D box around ``bboxes`` (2D or 3D); the whole world for none."""
    if not bboxes:
        return WORLD
    flat = [b if len(b) == 4 else [b[0], b[1], b[3], b[4]] for b in bboxes]
    return [
        min(b[0] for b in flat),
        min(b[1] for b in flat),
        max(b[2] for b in flat),
        max(b[3] for b in flat),
    ]


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")
