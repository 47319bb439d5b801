"""The demo workspace's packages really run with the cwltool CLI, as the runner runs them:
echo answers with exactly its input, ndvi writes a valid STAC catalog."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from ades.packages.inputs import to_job_order
from ades.packages.load import load_process
from tests.stac_data import stac_validate

DEMO = Path(__file__).resolve().parents[2] / "workspaces" / "demo" / "processes"


def cwltool(outdir: Path, package: Path, job_order: dict, workdir: Path) -> dict:
    job = workdir / "job.json"
    job.write_text(json.dumps(job_order))
    # The runner puts the server's venv first on PATH; the packages' python3 comes from it.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        [sys.executable, "-m", "cwltool", "--outdir", str(outdir), str(package), str(job)],
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.mark.parametrize("text", ["hello", "  two  spaces, 'quotes' \"and\" $HOME %s \\n", ""])
def test_echo_answers_with_exactly_its_input(tmp_path, text):
    process = load_process(DEMO / "echo.cwl", "demo")
    order = to_job_order(process, {"stringInput": {"value": text}, "pause": 0})
    outputs = cwltool(tmp_path / "out", DEMO / "echo.cwl", order, tmp_path)
    assert outputs == {"echoOutput": text, "mixedOutput": None}


@pytest.mark.parametrize("mixed", ["teststring", 4.5])
def test_echo_answers_with_its_mixed_input(tmp_path, mixed):
    process = load_process(DEMO / "echo.cwl", "demo")
    order = to_job_order(process, {"stringInput": "a", "mixedInput": mixed})
    outputs = cwltool(tmp_path / "out", DEMO / "echo.cwl", order, tmp_path)
    assert outputs == {"echoOutput": "a", "mixedOutput": mixed}


def test_echo_describes_the_string_input_first():
    # OGC clients take the first input as the plain string to send.
    process = load_process(DEMO / "echo.cwl", "demo")
    assert [p.id for p in process.inputs] == ["stringInput", "pause", "mixedInput"]
    assert process.inputs[0].schema == {"type": "string"}


def write_band(path: Path, values: np.ndarray, crs: str, origin: tuple[float, float], step: float):
    rows, cols = values.shape
    band = xr.DataArray(
        values.astype("float32"),
        dims=("y", "x"),
        coords={
            "y": origin[1] - (np.arange(rows) + 0.5) * step,
            "x": origin[0] + (np.arange(cols) + 0.5) * step,
        },
    ).rio.write_crs(crs)
    band.rio.to_raster(path)


@pytest.mark.parametrize(
    ("crs", "origin", "step"),
    [("EPSG:4326", (4.35, 50.85), 0.001), ("EPSG:32631", (594000.0, 5634000.0), 10.0)],
)
def test_ndvi_writes_a_valid_stac_catalog(tmp_path, crs, origin, step):
    red = np.array([[0.1, 0.2, 0.3], [0.1, 0.0, 0.2]])
    nir = np.array([[0.5, 0.4, 0.3], [0.6, 0.0, 0.2]])
    write_band(tmp_path / "red.tif", red, crs, origin, step)
    write_band(tmp_path / "nir.tif", nir, crs, origin, step)
    order = {
        "red": {"class": "File", "path": str(tmp_path / "red.tif")},
        "nir": {"class": "File", "path": str(tmp_path / "nir.tif")},
        "title": "Test NDVI",
    }

    outputs = cwltool(tmp_path / "out", DEMO / "ndvi.cwl", order, tmp_path)

    catalog_dir = Path(outputs["ndvi_catalog"]["path"])
    catalog = catalog_dir / "catalog.json"
    stac_validate(catalog)

    item_link = next(
        link for link in json.loads(catalog.read_text())["links"] if link["rel"] == "item"
    )
    assert not item_link["href"].startswith("/")  # self-contained: relative hrefs
    item_path = catalog_dir / item_link["href"]
    item = json.loads(item_path.read_text())
    assert item["properties"]["title"] == "Test NDVI"
    assert item["properties"]["proj:code"] == crs
    assert item["properties"]["proj:shape"] == [2, 3]
    west, south, east, north = item["bbox"]
    assert -180 <= west < east <= 180 and -90 <= south < north <= 90
    asset = item["assets"]["ndvi"]
    assert asset["href"] == "./ndvi.tif"
    assert "cloud-optimized" in asset["type"]

    ndvi = rioxarray.open_rasterio(item_path.parent / asset["href"]).squeeze().values
    expected = np.where(
        red + nir == 0, np.nan, (nir - red) / np.where(red + nir == 0, 1, red + nir)
    )
    np.testing.assert_allclose(ndvi, expected, rtol=1e-6)
