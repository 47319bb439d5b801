"""Generated Earth-observation test data: a small STAC scene (a catalog holding one Item
whose assets are two single-band COGs and a thumbnail), written to a folder, served over
HTTP by a local server and copied to the test S3."""

from __future__ import annotations

import functools
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pydantic
import pystac
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from stac_pydantic import Catalog, Collection, Item
from stac_pydantic.api import ItemCollection

BANDS = ("B04", "B08")
_STAC_MODELS = {"Feature": Item, "Catalog": Catalog, "Collection": Collection,
                "FeatureCollection": ItemCollection}


def write_band(path: Path, values: np.ndarray, crs: str = "EPSG:4326") -> None:
    """A single-band COG over a small patch of Belgium (or its UTM 31N equivalent)."""
    if crs == "EPSG:4326":
        y = np.linspace(51.1, 51.0, values.shape[0])
        x = np.linspace(3.5, 3.6, values.shape[1])
    else:
        y = np.linspace(5_660_000, 5_659_000, values.shape[0])
        x = np.linspace(500_000, 501_000, values.shape[1])
    da = xr.DataArray(values.astype("uint16"), coords={"y": y, "x": x}, dims=("y", "x"))
    da.rio.write_crs(crs, inplace=True)
    da.rio.to_raster(path, driver="COG")


def write_scene(folder: Path) -> Path:
    """``folder/catalog.json`` → ``scene/scene.json`` with COG assets B04, B08 and a PNG
    thumbnail, all hrefs relative. Returns ``folder``."""
    rng = np.random.default_rng(11)
    scene = folder / "scene"
    scene.mkdir(parents=True)
    for band, low in zip(BANDS, (100, 1000), strict=True):
        write_band(scene / f"{band}.tif", rng.integers(low, low + 900, (32, 32)))
    (scene / "thumb.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a picture")
    item = pystac.Item(
        "scene",
        {"type": "Polygon",
         "coordinates": [[[3.5, 51.0], [3.6, 51.0], [3.6, 51.1], [3.5, 51.1], [3.5, 51.0]]]},
        [3.5, 51.0, 3.6, 51.1],
        pystac.utils.str_to_datetime("2024-06-01T10:30:00Z"),
        {"title": "Test scene"},
    )
    for band in BANDS:
        item.add_asset(band, pystac.Asset(f"./{band}.tif", title=f"Band {band}",
                                          media_type=pystac.MediaType.COG, roles=["data"]))
    item.add_asset("thumbnail", pystac.Asset("./thumb.png", media_type=pystac.MediaType.PNG,
                                             roles=["thumbnail"]))
    catalog = pystac.Catalog("scenes", "Generated test scenes")
    catalog.add_item(item)
    catalog.normalize_hrefs(str(folder))
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    (folder / "not-stac.json").write_text('{"hello": "world"}')
    # What a STAC API search answers: an ItemCollection, asset hrefs relative to it.
    found = item.to_dict(include_self_link=False)
    found["links"] = []
    for asset in found["assets"].values():
        asset["href"] = "scene/" + asset["href"].removeprefix("./")
    (folder / "search.json").write_text(
        json.dumps({"type": "FeatureCollection", "features": [found]}))
    return folder


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextmanager
def http_server(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on a free port of 127.0.0.1; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextmanager
def silent_server() -> Iterator[str]:
    """A base URL whose server accepts connections (the kernel queues them) and never
    answers: a download from it lasts until its timeout or its cancel."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        yield f"http://127.0.0.1:{silent.getsockname()[1]}"


def hanging_item(objects, key: str, base: str) -> str:
    """An Item stored at ``key`` whose one asset lies on the silent server at ``base``."""
    item = pystac.Item("hang", None, None, pystac.utils.str_to_datetime("2024-01-01T00:00:00Z"),
                       {})
    item.add_asset("B04", pystac.Asset(f"{base}/B04.tif"))
    return objects.put_bytes(json.dumps(item.to_dict()).encode(), key)


def upload(folder: Path, objects, prefix: str) -> str:
    """Copy ``folder`` under ``prefix/`` of the store's bucket; returns its s3:// URI."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            objects.put_file(path, f"{prefix}/{path.relative_to(folder).as_posix()}")
    return objects.uri(prefix)


def download(objects, prefix: str, into: Path) -> Path:
    """Copy every object under ``prefix`` into ``into``, keeping the layout."""
    for key in objects.list_keys(prefix):
        target = into / key[len(prefix):].lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        objects.download_file(key, target)
    return into


def stac_validate(path: Path | str) -> str:
    """Validate, offline, the STAC tree whose root document is the file ``path``: every
    document its ``item``/``child`` links reach on disk with stac-pydantic's models, then the
    whole tree read back and walked by pystac. Returns ``"<n> valid"``; fails on the first
    invalid document, naming it."""
    root = Path(path)
    seen: list[Path] = []
    pending = [root.resolve()]
    while pending:
        file = pending.pop()
        if file in seen:
            continue
        seen.append(file)
        document = json.loads(file.read_text())
        model = _STAC_MODELS.get(document.get("type"))
        assert model is not None, f"{file}: not a STAC document (type {document.get('type')!r})"
        try:
            model.model_validate(document)
        except pydantic.ValidationError as err:
            raise AssertionError(f"{file}: invalid STAC {document['type']}: {err}") from err
        for link in document.get("links", []):
            href = link.get("href", "")
            if link.get("rel") in ("item", "child") and "://" not in href:
                pending.append((file.parent / href).resolve())
    read = pystac.read_file(str(root))
    if isinstance(read, pystac.Catalog):
        walked = sum(1 + len(list(items)) for _, _, items in read.walk())
        assert walked == len(seen), f"{root}: pystac walks {walked} documents, not {len(seen)}"
    return f"{len(seen)} valid"
