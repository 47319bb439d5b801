"""Quicklooks: a small PNG of a raster, and the ``thumbnail`` assets of STAC items made of them.

``render`` turns a raster file into PNG bytes: read at a reduced size (GDAL takes the
raster's overviews when it has them, so a big COG costs a few tiles), bands picked the way a
viewer would (one band grey, a palette band coloured by its colour map, else red/green/blue
by their colour interpretation or the first three bands), each stretched to 8 bits between
its 2nd and 98th percentile, and no-data, masked or NaN pixels transparent.

``add_thumbnails`` gives each raster asset of a STAC item such a quicklook, stored through a
callback (the stage-out puts it beside the raster on the object store), so that STAC browsers
and the job pages show the results at a glance. A quicklook is a convenience: whatever goes
wrong is told to ``warn`` and the asset stays without one."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pystac
import rasterio
from rasterio.enums import ColorInterp
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.io import MemoryFile

PNG = "image/png"
LONGEST = 256  # pixels of the quicklook's longest side
SUFFIX = ".thumbnail.png"
# Formats that hold their own pixels. A VRT, a STAC ItemCollection (STACIT), a tile service
# and the like point at other files or hosts: reading one would publish whatever it names.
SELF_CONTAINED = frozenset({
    "GTiff", "JP2OpenJPEG", "JPEG", "PNG", "GIF", "WEBP", "BMP", "netCDF", "HDF5",
    "HDF5Image", "HDF4", "HDF4Image", "GRIB", "ENVI", "EHdr", "AAIGrid", "XYZ", "Zarr",
})  # fmt: skip
# Media types (of assets with role "data") worth asking rasterio about; text and JSON are not.
_MAYBE_RASTER = ("image/", "application/x-netcdf", "application/netcdf", "application/x-hdf",
                 "application/octet-stream", "application/vnd+zarr")
_NOT_RASTER_ROLES = {"thumbnail", "overview", "metadata"}


class QuicklookError(RuntimeError):
    """A raster rasterio opens but no quicklook is made of (another file's pixels, no bands)."""


def render(path: Path, longest: int = LONGEST) -> bytes | None:
    """The PNG quicklook of the raster at ``path``, its longest side ``longest`` pixels (or
    the raster's own size when smaller: never enlarged); None when rasterio cannot open it as
    a raster."""
    try:
        with warnings.catch_warnings():  # a picture without a place is still a picture
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            src = rasterio.open(path)
    except RasterioIOError:
        return None
    with src:
        if src.driver not in SELF_CONTAINED:
            raise QuicklookError(f"a {src.driver} raster refers to other files")
        if src.count == 0 or src.width == 0 or src.height == 0:
            raise QuicklookError("it has no bands to show")
        scale = min(1.0, longest / max(src.width, src.height))
        shape = (max(1, round(src.height * scale)), max(1, round(src.width * scale)))
        colourmap = _palette(src)
        bands = [1] if colourmap is not None else _bands(src)
        # A decimated read: GDAL reads the overview nearest the size asked for, if any.
        data = src.read(bands, out_shape=(len(bands), *shape))
        valid = src.read_masks(bands, out_shape=(len(bands), *shape)) > 0
    if np.iscomplexobj(data):
        data = np.abs(data)
    if data.dtype.kind == "f":
        valid &= np.isfinite(data)
    if colourmap is not None:
        # Values the colour map leaves out index its last row, transparent.
        values = data[0].astype(np.int64)
        outside = (values < 0) | (values >= len(colourmap) - 1)
        rgba = colourmap[np.where(outside, len(colourmap) - 1, values)]
        rgba[..., 3][~valid[0]] = 0
        pixels = np.moveaxis(rgba, -1, 0)
    else:
        # Seen where any band is (GDAL's dataset mask of no-data bands says the same).
        alpha = np.where(valid.any(axis=0), 255, 0).astype(np.uint8)
        pixels = np.stack([*(_stretch(b, v) for b, v in zip(data, valid, strict=True)), alpha])
    if pixels[-1].min() == 255:
        pixels = pixels[:-1]  # all of it opaque: no alpha band
    return _png(pixels)


def add_thumbnails(
    item: pystac.Item,
    folder: Path,
    put: Callable[[bytes, str], str],
    warn: Callable[[str], None],
    taken: set[Path] | None = None,
    longest: int = LONGEST,
) -> None:
    """Add a quicklook asset to ``item`` for each of its raster assets that is a file of
    ``folder`` (asset hrefs still local): ``thumbnail`` for the first, ``<asset key>-thumbnail``
    for the others, role thumbnail. ``put(png, path)`` stores the PNG at ``path`` (relative to
    ``folder``: ``<raster stem>.thumbnail.png`` beside the raster, unless the application
    wrote a file of that name or it is in ``taken``, the paths given quicklooks so far, which
    this adds to) and returns its href. An item that already has a thumbnail keeps its own; a
    raster that cannot be shown is told to ``warn`` and gets none."""
    taken = set() if taken is None else taken
    assets = item.assets
    if any("thumbnail" in (asset.roles or []) for asset in assets.values()):
        return
    added: dict[str, pystac.Asset] = {}
    for name, asset in list(assets.items()):
        path = _local_file(asset, folder)
        kind = _raster_kind(asset, path) if path else None
        if path is None or kind is None:
            continue
        rel = path.relative_to(folder)
        try:
            png = render(path, longest)
            if png is None:
                if kind == "declared":
                    warn(f"no quicklook of {rel}: rasterio cannot open it")
                continue
            beside = _free_name(rel, folder, taken)
            taken.add(beside)
            href = put(png, beside.as_posix())
        except Exception as err:  # a quicklook never fails the job
            warn(f"no quicklook of {rel}: {err}")
            continue
        key = "thumbnail" if not added and "thumbnail" not in assets else f"{name}-thumbnail"
        if key in assets or key in added:
            continue
        added[key] = pystac.Asset(href, title=f"Quicklook of {asset.title or rel.name}",
                                  media_type=PNG, roles=["thumbnail"])
    for key, thumbnail in added.items():
        item.add_asset(key, thumbnail)


def _palette(src: rasterio.io.DatasetReader) -> np.ndarray | None:
    """The colour map of a one-band palette raster as a lookup table of RGBA rows, with one
    more (transparent) row for values it does not name."""
    if src.count != 1 or src.colorinterp[0] != ColorInterp.palette:
        return None
    try:
        entries = src.colormap(1)
    except ValueError:  # a palette interpretation without a colour table
        return None
    table = np.zeros((max(entries) + 2, 4), dtype=np.uint8)
    for value, colour in entries.items():
        table[value] = colour
    return table


def _bands(src: rasterio.io.DatasetReader) -> list[int]:
    """Red, green and blue when the raster says which they are, else its first three bands
    (however many it has), else its first band; never an alpha band."""
    interp = list(src.colorinterp)
    rgb = [ColorInterp.red, ColorInterp.green, ColorInterp.blue]
    if all(c in interp for c in rgb):
        return [interp.index(c) + 1 for c in rgb]
    colour = [i + 1 for i, c in enumerate(interp) if c != ColorInterp.alpha] or [1]
    return colour[:3] if len(colour) >= 3 else colour[:1]


def _stretch(band: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``band`` to 8 bits between its 2nd and 98th percentile (of its valid pixels): a band
    of one value is mid grey, invalid pixels are 0."""
    values = band[valid].astype(np.float64)
    out = np.zeros(band.shape, dtype=np.uint8)
    if values.size == 0:
        return out
    low, high = np.percentile(values, [2, 98])
    if high <= low:  # mostly one value: the whole range then, if there is one
        low, high = values.min(), values.max()
    if high <= low:
        out[valid] = 128
        return out
    scaled = (band.astype(np.float64) - low) * (255.0 / (high - low))
    out[valid] = np.clip(np.round(scaled[valid]), 0, 255).astype(np.uint8)
    return out


def _png(pixels: np.ndarray) -> bytes:
    """PNG bytes of ``pixels`` (bands, rows, columns) of uint8: grey, grey+alpha, RGB or RGBA
    by their number (GDAL's PNG driver; Pillow is not a dependency)."""
    count, height, width = pixels.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile() as memory:
            with memory.open(driver="PNG", width=width, height=height, count=count,
                             dtype="uint8") as png:
                png.write(pixels.astype(np.uint8))
            return memory.read()


def _local_file(asset: pystac.Asset, folder: Path) -> Path | None:
    """The file of ``folder`` an asset's href names; None for anything else."""
    href = asset.get_absolute_href() or ""
    if "://" in href and not href.startswith("file://"):
        return None
    path = Path(unquote(urlparse(href).path) if href.startswith("file://") else href).resolve()
    if not path.is_file() or not path.is_relative_to(folder):
        return None
    return path


def _raster_kind(asset: pystac.Asset, path: Path) -> str | None:
    """"declared" for an asset that says it is a raster (TIFF, JPEG 2000), "maybe" for a data
    asset of a type a raster may have, None for the rest."""
    roles = set(asset.roles or [])
    if roles & _NOT_RASTER_ROLES:
        return None
    media = (asset.media_type or "").lower()
    if "image/tiff" in media or "image/jp2" in media:
        return "declared"
    if not media and path.suffix.lower() in (".tif", ".tiff", ".jp2"):
        return "declared"
    if "data" in roles and (not media or media.startswith(_MAYBE_RASTER)):
        return "maybe"
    return None


def _free_name(rel: Path, folder: Path, taken: set[Path]) -> Path:
    """``<stem>.thumbnail.png`` beside the raster, or ``<stem>.thumbnail-<n>.png`` when that
    name is a file of the application's or another raster's quicklook (``a.tif``, ``a.jp2``)."""
    name = rel.with_name(rel.stem + SUFFIX)
    n = 1
    while (folder / name).exists() or name in taken:
        name = rel.with_name(f"{rel.stem}.thumbnail-{n}.png")
        n += 1
    return name
