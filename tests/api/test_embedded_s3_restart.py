"""A server with its own embedded S3 (make run's set-up), killed and started again: it
takes requests only once its S3 serves objects, its S3 keeps its endpoint, and result links
handed out before the restart still download. /healthz and /readyz say how it is."""

from __future__ import annotations

import os
import signal

from ades.settings import Settings
from tests.api.conftest import REPO, serve

GEOJSON = "application/geo+json"


def test_links_outlive_a_killed_s3_and_a_restart(tmp_path):
    (tmp_path / "workspaces").mkdir()
    (tmp_path / "workspaces" / "demo").symlink_to(REPO / "workspaces" / "demo")
    settings = Settings(data_dir=tmp_path / "data", workspaces=tmp_path / "workspaces",
                        max_jobs=1)
    body = {"inputs": {"stringInput": "kept"},
            "outputs": {"echoOutput": {"transmissionMode": "reference"}}}
    with serve(settings) as first:
        s3 = first.server.embedded_s3
        assert s3 is not None and first.server.services.links.stream
        endpoint = s3.endpoint
        assert first.get("/readyz").json() == {"status": "ready", "reasons": []}
        r = first.post("/demo/ogc-api/processes/echo/execution",
                       json={**body, "response": "document"})
        href = r.json()["echoOutput"]["href"]
        job = href.split("/jobs/", 1)[1].split("/", 1)[0]
        collection = first.get(f"/demo/ogc-api/jobs/{job}/results",
                               headers={"Accept": GEOJSON}).json()
        # The output's file, beside the run's provenance.
        (asset,) = [a for a in collection["assets"].values()
                    if "provenance" not in a.get("roles", [])]
        assert asset["href"] == href and "expires" not in collection
        assert first.http.get(href).content == b"kept"

        # The S3 dies hard (as with the server's SIGKILL): ready no more, alive still.
        os.killpg(s3.process.pid, signal.SIGKILL)
        s3.process.wait()
        r = first.get("/readyz")
        assert r.status_code == 503
        assert r.json()["status"] == "not ready"
        assert any("S3" in reason for reason in r.json()["reasons"]), r.json()
        assert first.get("/healthz").json() == {"status": "alive"}

    with serve(settings) as second:
        # Taking requests means serving objects: no InternalError while SeaweedFS recovers.
        r = second.get(f"/demo/ogc-api/jobs/{job}/results", headers={"Accept": GEOJSON})
        assert r.status_code == 200, r.text
        assert second.server.embedded_s3.endpoint == endpoint  # ports kept in the data dir
        assert second.http.get(href.replace(first.base, second.base)).content == b"kept"
        assert second.get("/readyz").status_code == 200
