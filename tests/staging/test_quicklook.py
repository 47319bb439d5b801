"""Quicklooks of real rasters written with rasterio, read back as the PNGs they are."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
from affine import Affine
from rasterio.enums import ColorInterp
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

from ades.staging.quicklook import QuicklookError, add_thumbnails, render


def _write(path: Path, data: np.ndarray, **profile) -> Path:
    """A GeoTIFF of ``data`` (bands, rows, columns) over a patch of Belgium."""
    count, height, width = data.shape
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=count,
                       dtype=data.dtype, crs="EPSG:4326",
                       transform=Affine(0.001, 0, 3.5, 0, -0.001, 51.1), **profile) as dst:
        dst.write(data)
    return path


def _read(png: bytes) -> tuple[np.ndarray, tuple[ColorInterp, ...]]:
    """The pixels and colour interpretation of PNG bytes."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        memory = MemoryFile(png)
        src = memory.open()
    with memory, src:
        assert src.driver == "PNG"
        return src.read(), src.colorinterp


def test_one_band_is_grey_stretched_to_8_bits(tmp_path):
    ramp = np.tile(np.arange(1000, 1100, dtype=np.uint16), (50, 1))[None]
    pixels, interp = _read(render(_write(tmp_path / "grey.tif", ramp)))
    assert interp == (ColorInterp.gray,)
    assert pixels.shape == (1, 50, 100)  # smaller than 256: its own size, never enlarged
    # 2-98 % stretch: the low 2 % black, the high 2 % white, the ramp between.
    assert pixels[0, 0, 0] == 0 and pixels[0, 0, -1] == 255
    assert 100 < pixels[0, 0, 50] < 155
    assert (np.diff(pixels[0, 0].astype(int)) >= 0).all()


def test_three_bands_are_rgb_and_a_big_raster_is_shrunk_to_256(tmp_path):
    rng = np.random.default_rng(3)
    data = rng.integers(0, 4000, (3, 300, 600)).astype(np.uint16)
    data[0, :, :300] = 0  # the west half of the red band is dark
    pixels, interp = _read(render(_write(tmp_path / "rgb.tif", data)))
    assert interp == (ColorInterp.red, ColorInterp.green, ColorInterp.blue)
    assert pixels.shape == (3, 128, 256)
    assert pixels[0, :, :120].max() == 0 and pixels[0, :, 136:].mean() > 50
    assert pixels[1, :, :120].mean() > 50  # the other bands are not


def test_colour_interpretation_picks_red_green_blue_among_many_bands(tmp_path):
    data = np.zeros((5, 10, 10), dtype=np.uint8)
    data[3] = np.arange(100).reshape(10, 10)  # band 4: red, the only one with contrast
    path = _write(tmp_path / "five.tif", data)
    with rasterio.open(path, "r+") as dst:
        dst.colorinterp = [ColorInterp.gray, ColorInterp.undefined, ColorInterp.blue,
                           ColorInterp.red, ColorInterp.green]
    pixels, _ = _read(render(path))
    assert pixels.shape == (3, 10, 10)
    assert pixels[0].max() == 255 and pixels[0].min() == 0  # red: band 4 stretched
    assert set(np.unique(pixels[1:])) == {128}  # green and blue: constant, mid grey


def test_the_first_three_of_many_unnamed_bands_are_shown(tmp_path):
    data = np.stack([np.full((4, 4), v, dtype=np.uint8) for v in range(12)])
    pixels, interp = _read(render(_write(tmp_path / "cube.tif", data, photometric="minisblack")))
    assert pixels.shape == (3, 4, 4)
    assert interp == (ColorInterp.red, ColorInterp.green, ColorInterp.blue)


def test_a_palette_band_is_coloured_by_its_colour_map(tmp_path):
    data = np.array([[[0, 1], [2, 7]]], dtype=np.uint8)
    path = _write(tmp_path / "classes.tif", data, nodata=7)
    with rasterio.open(path, "r+") as dst:
        dst.write_colormap(1, {0: (255, 0, 0, 255), 1: (0, 255, 0, 255), 2: (0, 0, 255, 255)})
    with rasterio.open(path) as src:
        assert src.colorinterp == (ColorInterp.palette,)
    pixels, interp = _read(render(path))
    assert interp[-1] == ColorInterp.alpha
    assert pixels[:, 0, 0].tolist() == [255, 0, 0, 255]
    assert pixels[:, 0, 1].tolist() == [0, 255, 0, 255]
    assert pixels[:, 1, 0].tolist() == [0, 0, 255, 255]
    assert pixels[3, 1, 1] == 0  # no data


def test_nodata_is_transparent_and_left_out_of_the_stretch(tmp_path):
    data = np.tile(np.arange(10, 30, dtype=np.int16), (20, 1))[None].copy()
    data[0, :5] = -9999
    pixels, interp = _read(render(_write(tmp_path / "holes.tif", data, nodata=-9999)))
    assert interp == (ColorInterp.gray, ColorInterp.alpha)
    assert pixels.shape == (2, 20, 20)
    assert (pixels[1, :5] == 0).all() and (pixels[1, 5:] == 255).all()
    # -9999 would crush the stretch to white if it counted: the ramp is still a ramp.
    assert pixels[0, 10, 0] == 0 and pixels[0, 10, -1] == 255


def test_float_nan_is_transparent(tmp_path):
    data = np.linspace(0.0, 1.0, 64, dtype=np.float32).reshape(1, 8, 8)
    data[0, 0, :4] = np.nan
    pixels, _ = _read(render(_write(tmp_path / "nan.tif", data)))
    assert pixels.shape == (2, 8, 8)
    assert pixels[1, 0, :4].tolist() == [0, 0, 0, 0]
    assert pixels[1, 1:].min() == 255
    assert pixels[0, -1, -1] == 255 and pixels[0, 0, 4] == 0


def test_a_constant_band_is_mid_grey(tmp_path):
    pixels, _ = _read(render(_write(tmp_path / "flat.tif", np.full((1, 6, 9), 42.5, "float32"))))
    assert pixels.shape == (1, 6, 9)
    assert set(np.unique(pixels)) == {128}


def test_the_quicklook_is_read_from_the_overviews(tmp_path):
    path = _write(tmp_path / "cog.tif", np.tile(np.arange(2048) // 8, (1024, 1)).astype(
        np.uint8)[None], tiled=True, blockxsize=256, blockysize=256)
    with rasterio.open(path, "r+") as dst:
        dst.build_overviews([2, 4, 8])
        # The full resolution goes flat after the overviews were made: a quicklook with
        # contrast can only come from them.
        dst.write(np.zeros((1, 1024, 2048), dtype=np.uint8))
    pixels, _ = _read(render(path))
    assert pixels.shape == (1, 128, 256)  # 2048 x 1024 decimated to 256 x 128
    assert pixels[0, 0, 0] == 0 and pixels[0, 0, -1] == 255


def test_a_file_that_is_no_raster_has_no_quicklook(tmp_path):
    (tmp_path / "notes.txt").write_text("not pixels")
    (tmp_path / "fake.tif").write_bytes(b"II*\x00 pretend tiff")
    assert render(tmp_path / "notes.txt") is None
    assert render(tmp_path / "fake.tif") is None


def test_a_vrt_naming_other_files_is_not_read(tmp_path):
    _write(tmp_path / "secret.tif", np.ones((1, 4, 4), np.uint8))
    (tmp_path / "look.vrt").write_text(
        '<VRTDataset rasterXSize="4" rasterYSize="4"><VRTRasterBand dataType="Byte" band="1">'
        f'<SimpleSource><SourceFilename>{tmp_path / "secret.tif"}</SourceFilename>'
        "<SourceBand>1</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>")
    with pytest.raises(QuicklookError, match="a VRT raster refers to other files"):
        render(tmp_path / "look.vrt")


def _item(folder: Path, assets: dict[str, pystac.Asset]) -> pystac.Item:
    item = pystac.Item("scene", None, None, pystac.utils.str_to_datetime("2024-05-01T00:00:00Z"),
                       {})
    item.set_self_href(str(folder / "scene.json"))
    for key, asset in assets.items():
        item.add_asset(key, asset)
    return item


def test_each_raster_asset_of_an_item_gets_a_thumbnail_asset(tmp_path):
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub" / "red.tif", np.arange(16, dtype=np.uint8).reshape(1, 4, 4))
    _write(tmp_path / "nir.tif", np.arange(16, dtype=np.uint8).reshape(1, 4, 4))
    (tmp_path / "nir.thumbnail.png").write_bytes(b"the application's own file")
    (tmp_path / "notes.txt").write_text("words")
    (tmp_path / "fake.tif").write_bytes(b"II*\x00 pretend tiff")
    item = _item(tmp_path, {
        "red": pystac.Asset("./sub/red.tif", title="Red", media_type=pystac.MediaType.COG,
                            roles=["data"]),
        "nir": pystac.Asset("./nir.tif", roles=["data"]),  # no type: a raster by its content
        "notes": pystac.Asset("./notes.txt", media_type="text/plain", roles=["data"]),
        "fake": pystac.Asset("./fake.tif", media_type=pystac.MediaType.GEOTIFF),
        "remote": pystac.Asset("https://example.com/x.tif", media_type=pystac.MediaType.COG),
    })
    stored: dict[str, bytes] = {}
    told: list[str] = []

    def put(png: bytes, rel: str) -> str:
        stored[rel] = png
        return f"s3://bucket/out/{rel}"

    add_thumbnails(item, tmp_path.resolve(), put, told.append)
    assert set(stored) == {"sub/red.thumbnail.png", "nir.thumbnail-1.png"}
    assert _read(stored["sub/red.thumbnail.png"])[0].shape == (1, 4, 4)
    first, second = item.assets["thumbnail"], item.assets["nir-thumbnail"]
    assert first.to_dict() == {"href": "s3://bucket/out/sub/red.thumbnail.png",
                               "type": "image/png", "title": "Quicklook of Red",
                               "roles": ["thumbnail"]}
    assert (second.href, second.title) == ("s3://bucket/out/nir.thumbnail-1.png",
                                           "Quicklook of nir.tif")
    assert told == ["no quicklook of fake.tif: rasterio cannot open it"]


def test_rasters_of_one_name_get_quicklooks_of_their_own(tmp_path):
    _write(tmp_path / "a.tif", np.ones((1, 4, 4), np.uint8))
    _write(tmp_path / "a.tiff", np.ones((1, 6, 6), np.uint8))
    stored: dict[str, bytes] = {}
    taken: set[Path] = set()
    for name in ("a.tif", "a.tiff"):
        item = _item(tmp_path, {"data": pystac.Asset(f"./{name}", roles=["data"])})
        add_thumbnails(item, tmp_path.resolve(), lambda png, rel: stored.setdefault(rel, png),
                       print, taken)
    assert [_read(png)[0].shape for png in stored.values()] == [(1, 4, 4), (1, 6, 6)]
    assert list(stored) == ["a.thumbnail.png", "a.thumbnail-1.png"]


def test_an_item_with_a_thumbnail_of_its_own_keeps_it(tmp_path):
    _write(tmp_path / "red.tif", np.ones((1, 4, 4), np.uint8))
    own = pystac.Asset("./thumb.png", media_type=pystac.MediaType.PNG, roles=["thumbnail"])
    item = _item(tmp_path, {"red": pystac.Asset("./red.tif", media_type=pystac.MediaType.COG),
                            "preview": own})
    add_thumbnails(item, tmp_path.resolve(), lambda png, rel: pytest.fail("stored"), print)
    assert set(item.assets) == {"red", "preview"}


def test_a_failing_store_is_a_warning_not_an_error(tmp_path):
    _write(tmp_path / "red.tif", np.ones((1, 4, 4), np.uint8))
    item = _item(tmp_path, {"red": pystac.Asset("./red.tif", media_type=pystac.MediaType.COG)})
    told: list[str] = []

    def put(png: bytes, rel: str) -> str:
        raise OSError("the store is gone")

    add_thumbnails(item, tmp_path.resolve(), put, told.append)
    assert list(item.assets) == ["red"]
    assert told == ["no quicklook of red.tif: the store is gone"]
