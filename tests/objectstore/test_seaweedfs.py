"""The embedded SeaweedFS of `ades serve`: started on free ports, and leaving nothing behind
once stopped — no process, and none of the Unix sockets weed makes in /tmp."""

from __future__ import annotations

from ades.objectstore.seaweedfs import EmbeddedSeaweedFS
from tests.api.conftest import poll


def test_stop_leaves_no_socket_files(tmp_path):
    s3 = EmbeddedSeaweedFS(tmp_path, "key", "secret")
    s3.start()
    try:
        process = s3.process
        # weed makes them as its parts come up: the S3 gateway's among them.
        made = poll(s3.sockets, lambda found: any(f"-{s3.s3_port}.sock" in p.name
                                                  for p in found), deadline=60)
    finally:
        s3.stop()
    assert process.poll() is not None
    assert made and not [p for p in made if p.exists()]
    assert s3.sockets() == []
