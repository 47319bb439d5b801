"""Stage-out: turn a CWL output object into results on the object store.

Each output becomes a small record kept with the job:
- a literal: ``{"value": v}``;
- a File: uploaded as ``<output id>/<its name>``, ``{"href": "s3://…", "type": media type}``
  and its CWL ``format`` when it has one; its ``secondaryFiles`` beside it, listed in the
  record
  (names are kept as the tool wrote them: URIs percent-encode them, nothing renames them);
- a Directory holding ``catalog.json``: uploaded as a STAC catalog whose links and asset
  hrefs are valid where it lies, ``{"href": "s3://…/catalog.json", "type": …, "stac": True}``;
- a Directory without ``catalog.json`` but with rasters: each raster described by a STAC
  Item made from the raster itself (rio-stac: footprint, bbox, projection, bands; datetime
  from its TIFF tag or else the job), gathered in a catalog, then uploaded as above;
- in both kinds of catalog, each raster asset of an Item gets a PNG quicklook stored beside
  it and linked as the Item's ``thumbnail`` asset (``ades.staging.quicklook``);
- any other Directory: uploaded as it is under ``<output id>/<its name>/``, with type
  ``application/x-directory``;
- an array: a list of the above;
- a record with File or Directory fields: ``{"record": {field: the above}}``.
"""

from __future__ import annotations

import json
import logging
import mimetypes
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pystac
import rasterio
from pystac.stac_io import DefaultStacIO
from rio_stac import create_stac_item

from ades.metrics import record_stage_bytes
from ades.objectstore.store import ObjectStore, Upload
from ades.staging import quicklook

JSON = "application/json"
DIRECTORY = "application/x-directory"
CATALOG = "catalog.json"
RASTERS = (".tif", ".tiff", ".jp2")

log = logging.getLogger(__name__)


class StageOutError(RuntimeError):
    pass


class ObjectStoreStacIO(DefaultStacIO):
    """pystac I/O that reads and writes ``s3://<bucket>/…`` through the ObjectStore and
    everything else as pystac does by default."""

    def __init__(self, store: ObjectStore):
        super().__init__()
        self.store = store

    def read_text(self, source: Any, *args: Any, **kwargs: Any) -> str:
        key = self.store.key_of(str(source))
        if key is not None:
            return self.store.get_bytes(key).decode()
        return super().read_text(source, *args, **kwargs)

    def write_text(self, dest: Any, txt: str, *args: Any, **kwargs: Any) -> None:
        key = self.store.key_of(str(dest))
        if key is not None:
            _put_bytes(self.store, txt.encode(), key, JSON)
            return
        super().write_text(dest, txt, *args, **kwargs)


def stage_out(
    outputs: dict[str, Any],
    store: ObjectStore,
    prefix: str,
    when: datetime | None = None,
    on_output: Callable[[str, int, int], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
    quicklooks: bool = True,
) -> dict[str, Any]:
    """Upload every output of a run under ``prefix/<output id>/``; return the result records.
    ``when`` dates STAC Items made from rasters that carry no date of their own;
    ``on_output(id, n, total)`` is told as each output is taken up, ``on_warning(message)``
    what went wrong without failing the stage-out (a raster no quicklook is made of);
    ``quicklooks`` False makes none. The files of all outputs
    upload side by side (``ObjectStore.uploads``) while the next outputs are described;
    every one is stored when this returns."""
    when = when or pystac.utils.now_in_utc()
    results = {}
    with store.uploads() as upload:
        staging = _Staging(store, upload, when, on_warning or log.warning, quicklooks)
        for index, (output_id, value) in enumerate(outputs.items(), start=1):
            if on_output and value is not None:
                on_output(output_id, index, len(outputs))
            results[output_id] = staging.stage(value, f"{prefix}/{output_id}", output_id)
    record_stage_bytes("out", staging.size)
    return results


class _Staging:
    """The outputs of one stage-out, their files handed to ``upload`` as they are found."""

    def __init__(
        self,
        store: ObjectStore,
        upload: Upload,
        when: datetime,
        warn: Callable[[str], None] = log.warning,
        quicklooks: bool = True,
    ):
        self.store = store
        self.upload = upload
        self.when = when
        self.size = 0  # bytes of the files handed to upload
        self.warn = warn  # told what went wrong without failing the stage-out
        self.quicklooks = quicklooks

    def stage(self, value: Any, key: str, name: str) -> Any:
        if isinstance(value, list):
            return [self.stage(v, f"{key}/{i}", name) for i, v in enumerate(value)]
        if isinstance(value, dict) and value.get("class") == "File":
            path = _local_path(value)
            file_type = media_type(path)
            record = {"href": self.put_file(path, f"{key}/{path.name}", file_type),
                      "type": file_type}
            if value.get("format"):
                record["format"] = value["format"]  # the CWL format IRI the tool declared
            if value.get("secondaryFiles"):
                # Beside the primary file, as the tool wrote them (an index next to its data).
                record["secondaryFiles"] = [
                    self.stage(v, key, name) for v in value["secondaryFiles"]
                ]
            return record
        if isinstance(value, dict) and value.get("class") == "Directory":
            folder = _local_path(value)
            if (folder / CATALOG).is_file() or _describe_rasters(folder, name, self.when):
                return {"href": self.put_catalog(folder, key), "type": JSON, "stac": True}
            # The directory keeps the name the tool gave it, as its files keep theirs.
            key = f"{key}/{folder.name}"
            self.put_tree(folder, key)
            return {"href": self.store.uri(key + "/"), "type": DIRECTORY}
        if isinstance(value, dict) and _holds_files(value):
            # A CWL record with File or Directory fields: each field staged like an output.
            return {"record": {k: self.stage(v, f"{key}/{k}", name) for k, v in value.items()}}
        return {"value": value}

    def put_file(self, path: Path, key: str, content_type: str) -> str:
        """Upload one result file, counted in the staged-out bytes of /metrics."""
        self.size += path.stat().st_size
        return self.upload(path, key, content_type)

    def put_tree(self, folder: Path, key: str, skip: set[Path] = frozenset()) -> None:
        files = [p for p in sorted(folder.rglob("*")) if p.is_file()]
        for path in files:
            if path not in skip:
                self.put_file(path, f"{key}/{path.relative_to(folder).as_posix()}",
                              media_type(path))
        if not skip and not files:
            # An empty directory is still a result: a folder marker (``key/``, as S3 consoles
            # make them) keeps it, and its name, on S3.
            self.store.put_bytes(b"", f"{key}/", DIRECTORY)

    def put_catalog(self, folder: Path, key: str) -> str:
        """Upload a local STAC catalog so that it is valid at ``s3://bucket/key/``: the STAC
        documents keep their layout and relative links, asset hrefs become absolute s3://
        URIs of the uploaded files, and files the catalog does not mention are uploaded
        beside it."""
        store = self.store
        folder = folder.resolve()
        try:
            catalog = pystac.Catalog.from_file(str(folder / CATALOG))
            objects: list[pystac.STACObject] = [catalog]
            for _, children, items in catalog.walk():
                objects.extend(children)
                objects.extend(items)
        except Exception as err:
            raise StageOutError(
                f"{folder / CATALOG} is not a readable STAC catalog: {err}"
            ) from err

        documents = {Path(obj.get_self_href()).resolve() for obj in objects}
        # The files upload while their STAC documents are rewritten and quicklooks drawn.
        self.put_tree(folder, key, skip=documents)
        drawn: set[Path] = set()
        for obj in objects:
            local = Path(obj.get_self_href()).resolve()
            if self.quicklooks and isinstance(obj, pystac.Item):
                quicklook.add_thumbnails(obj, folder, lambda png, rel: _put_bytes(
                    store, png, f"{key}/{rel}", quicklook.PNG), self.warn, drawn)
            for asset in getattr(obj, "assets", {}).values():
                asset.href = _uploaded_asset(asset.get_absolute_href(), folder, store, key)
            obj.set_self_href(store.uri(f"{key}/{_inside(local, folder)}"))
        catalog.save(pystac.CatalogType.SELF_CONTAINED, stac_io=ObjectStoreStacIO(store))
        return store.uri(f"{key}/{CATALOG}")


def _put_bytes(store: ObjectStore, data: bytes, key: str, content_type: str) -> str:
    uri = store.put_bytes(data, key, content_type)
    record_stage_bytes("out", len(data))
    return uri


def _holds_files(value: Any) -> bool:
    if isinstance(value, list):
        return any(_holds_files(v) for v in value)
    if isinstance(value, dict):
        return value.get("class") in ("File", "Directory") or any(
            _holds_files(v) for v in value.values()
        )
    return False


def _local_path(value: dict[str, Any]) -> Path:
    where = value.get("path") or value.get("location", "")
    if where.startswith("file://"):
        where = unquote(urlparse(where).path)
    path = Path(where)
    if not path.exists():
        raise StageOutError(f"output {value.get('basename', where)!r} is missing at {path}")
    return path


def media_type(path: Path) -> str:
    """The media type a result file is stored and listed with, from its name."""
    if path.suffix.lower() in (".tif", ".tiff"):
        return "image/tiff; application=geotiff"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _describe_rasters(folder: Path, name: str, when: datetime) -> bool:
    """Write a ``catalog.json`` with one Item per raster file of ``folder``; False (and
    nothing written) when it holds no raster."""
    rasters = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in RASTERS)
    if not rasters:
        return False
    catalog = pystac.Catalog(
        id=name, description=f"Rasters of output '{name}', described by the ADES"
    )
    ids: set[str] = set()
    for path in rasters:
        rel = path.relative_to(folder)
        item_id = rel.with_suffix("").as_posix().replace("/", "-")
        while item_id in ids:
            item_id += "_"
        ids.add(item_id)
        try:
            with rasterio.open(path) as src:
                dated = bool(src.tags().get("TIFFTAG_DATETIME"))
                item = create_stac_item(
                    src,
                    input_datetime=None if dated else when,
                    id=item_id,
                    asset_name="data",
                    asset_roles=["data"],
                    asset_href=str(path.resolve()),
                    with_proj=True,
                    with_raster=True,
                )
        except Exception as err:
            raise StageOutError(
                f"{rel} of output '{name}' is not a readable raster: {err}"
            ) from err
        item.properties.setdefault("title", rel.as_posix())
        catalog.add_item(item)
    catalog.normalize_hrefs(str(folder.resolve()))
    catalog.make_all_asset_hrefs_relative()
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    return True


def _uploaded_asset(href: str | None, folder: Path, store: ObjectStore, key: str) -> str | None:
    """An asset that is a file of the output directory lives at its uploaded URI; remote
    assets keep their href."""
    if not href or "://" in href and not href.startswith("file://"):
        return href
    path = Path(unquote(urlparse(href).path) if href.startswith("file://") else href).resolve()
    rel = _inside(path, folder)
    if not path.is_file():
        raise StageOutError(f"asset {rel} of the STAC catalog does not exist in the output")
    return store.uri(f"{key}/{rel}")


def _inside(path: Path, folder: Path) -> str:
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        raise StageOutError(
            f"{path} is referenced by the STAC catalog but lies outside the output directory"
        ) from None


def as_references(
    results: dict[str, Any], wanted: dict[str, Any], store: ObjectStore, prefix: str
) -> dict[str, Any]:
    """Literal outputs the request asked for with ``transmissionMode: reference`` are
    stored as objects and replaced by a link to them."""
    out = dict(results)
    for output_id, options in wanted.items():
        record = out.get(output_id)
        mode = options.get("transmissionMode") if isinstance(options, dict) else None
        if mode != "reference" or not isinstance(record, dict) or record.get("value") is None:
            continue
        value = record["value"]
        if isinstance(value, str):
            data, media_type, name = value.encode(), "text/plain", "value.txt"
        else:
            data, media_type, name = json.dumps(value).encode(), JSON, "value.json"
        out[output_id] = {
            "href": _put_bytes(store, data, f"{prefix}/{output_id}/{name}", media_type),
            "type": media_type,
        }
    return out
