"""Session fixtures shared by every test folder: one real SeaweedFS S3 on free ports of
127.0.0.1, and an ObjectStore on a bucket of its own per test module."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from ades.objectstore.s3 import S3ObjectStore
from ades.objectstore.seaweedfs import EmbeddedSeaweedFS


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
