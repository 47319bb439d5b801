"""A tar of result files, read from the session's real SeaweedFS."""

from __future__ import annotations

import tarfile

from ades.staging.archives import tar_of


def test_the_tar_holds_each_object_under_its_name_and_the_extra_documents(object_store):
    object_store.put_bytes(b"first", "job/a/one.txt")
    object_store.put_bytes(b"second", "job/two.bin")
    archive = tar_of(
        object_store, {"a/one.txt": "job/a/one.txt", "two.bin": "job/two.bin"},
        {"meta.json": b"{}"},
    )
    with archive, tarfile.open(fileobj=archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert set(members) == {"a/one.txt", "two.bin", "meta.json"}
        assert tar.extractfile("a/one.txt").read() == b"first"
        assert tar.extractfile("two.bin").read() == b"second"
        assert tar.extractfile("meta.json").read() == b"{}"
    # Nothing of the server's user is in it.
    assert {(m.uid, m.gid, m.uname, m.gname, m.mode) for m in members.values()} == {
        (0, 0, "", "", 0o644)}
