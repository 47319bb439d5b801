"""Session fixtures shared by every test folder: one real SeaweedFS S3 on free ports of
127.0.0.1, an ObjectStore on a bucket of its own per test module, and a generated STAC scene
served over HTTP and from S3."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ades.objectstore.s3 import S3ObjectStore
from ades.objectstore.seaweedfs import EmbeddedSeaweedFS
from tests.stac_data import http_server, upload, write_scene


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory) -> Iterator[EmbeddedSeaweedFS]:
    server = EmbeddedSeaweedFS(tmp_path_factory.mktemp("seaweedfs"), "test-key", "test-secret")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def object_store(seaweedfs, request) -> S3ObjectStore:
    bucket = re.sub(r"[^a-z0-9-]", "-", request.module.__name__.split(".")[-1].lower())[:50]
    store = S3ObjectStore(seaweedfs.endpoint, seaweedfs.access_key, seaweedfs.secret_key,
                          bucket.strip("-"))
    store.ensure_bucket()
    return store


@dataclass(frozen=True)
class Scene:
    """The generated STAC scene of ``tests/stac_data.py``, in three places."""

    folder: Path
    http: str  # base URL: <http>/catalog.json, <http>/scene/scene.json, <http>/scene/B04.tif
    s3: str  # s3://stac-inputs/scenes: the same tree in another bucket of the test S3


@pytest.fixture(scope="session")
def scene(seaweedfs, tmp_path_factory) -> Iterator[Scene]:
    folder = write_scene(tmp_path_factory.mktemp("scene"))
    inputs = S3ObjectStore(seaweedfs.endpoint, seaweedfs.access_key, seaweedfs.secret_key,
                           "stac-inputs")
    inputs.ensure_bucket()
    s3 = upload(folder, inputs, "scenes")
    with http_server(folder) as base:
        yield Scene(folder, base, s3)
