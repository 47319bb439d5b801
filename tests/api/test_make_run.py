"""``make run``'s defaults, exactly: a relative data dir (``./.ades``) and workspaces folder,
taken from the folder the server starts in. The demo NDVI job stages its File inputs in and
succeeds (they were once staged to a doubled path, <job>/.ades/jobs/<job>/inputs/…)."""

from __future__ import annotations

from pathlib import Path

from ades.settings import Settings
from tests.api.conftest import make_run

BANDS = {"red": {"href": "s3://ades/demo/data/B04.tif"},
         "nir": {"href": "s3://ades/demo/data/B08.tif"}}


def test_the_demo_ndvi_job_succeeds_under_make_runs_defaults(seaweedfs, tmp_path):
    assert Settings().data_dir == Path.cwd() / ".ades"  # relative by default, made absolute
    with make_run(seaweedfs, tmp_path) as live:
        settings = live.server.services.settings
        assert settings.data_dir == (tmp_path / ".ades").resolve()
        assert settings.workspaces == (tmp_path / "workspaces").resolve()
        r = live.post("/demo/ogc-api/processes/ndvi/execution", json={"inputs": BANDS},
                      headers={"Prefer": "respond-async"})
        assert r.status_code == 201, r.text
        done = live.wait_for(r.headers["Location"], {"successful", "failed"}, deadline=180)
        assert done["status"] == "successful", done
        staged = settings.data_dir / "jobs" / done["jobID"] / "job.json"
        assert str(settings.data_dir / "jobs" / done["jobID"] / "inputs") in staged.read_text()
        cog = live.get(f"/demo/ogc-api/jobs/{done['jobID']}/download/ndvi_catalog/ndvi/ndvi.tif")
        assert cog.status_code == 200 and cog.content[:4] in (b"II*\x00", b"MM\x00*")
