"""Sample data a workspace ships with: the files under ``workspaces/<name>/data/`` are
uploaded at start to ``s3://<bucket>/<name>/data/<path>``, where that workspace's jobs may
read them (the demo workspace's are the sample rasters and packages of ``examples/``)."""

from __future__ import annotations

import logging
from pathlib import Path

from ades.objectstore.store import ObjectStore
from ades.staging.stage_out import media_type

log = logging.getLogger(__name__)

DATA = "data"


def upload_workspace_data(workspaces_dir: Path, workspaces: list[str], objects: ObjectStore) -> int:
    """Upload each workspace's data files that the bucket lacks; return how many were."""
    uploaded = 0
    for workspace in workspaces:
        folder = workspaces_dir / workspace / DATA
        if not folder.is_dir():
            continue
        prefix = f"{workspace}/{DATA}/"
        present = set(objects.list_keys(prefix))
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            key = prefix + path.relative_to(folder).as_posix()
            if key not in present:
                objects.put_file(path, key, media_type(path))
                uploaded += 1
    if uploaded:
        log.info("uploaded %d workspace data file(s) to s3://%s/", uploaded, objects.bucket)
    return uploaded
