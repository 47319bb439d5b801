"""The S3 ObjectStore against the session's real SeaweedFS."""

from __future__ import annotations

import pytest
import requests


def test_bytes_round_trip_and_uri(object_store):
    uri = object_store.put_bytes(b"hello", "a/b.txt", "text/plain")
    assert uri == f"s3://{object_store.bucket}/a/b.txt"
    assert object_store.get_bytes("a/b.txt") == b"hello"


def test_missing_object_is_a_key_error(object_store, tmp_path):
    with pytest.raises(KeyError):
        object_store.get_bytes("no/such/key")
    with pytest.raises(KeyError):
        object_store.download_file("no/such/key", tmp_path / "x")


def test_files_up_and_down_list_and_delete_by_prefix(object_store, tmp_path):
    source = tmp_path / "big.bin"
    source.write_bytes(bytes(range(256)) * 40_000)  # 10 MB: a multipart upload
    object_store.put_file(source, "tree/one/big.bin")
    object_store.put_bytes(b"2", "tree/two.txt")
    object_store.put_bytes(b"3", "treetop.txt")
    assert object_store.list_keys("tree/") == ["tree/one/big.bin", "tree/two.txt"]
    assert object_store.sizes("tree/") == {"tree/one/big.bin": 10_240_000, "tree/two.txt": 1}

    back = tmp_path / "back.bin"
    object_store.download_file("tree/one/big.bin", back)
    assert back.read_bytes() == source.read_bytes()

    assert object_store.delete_prefix("tree/") == 2
    assert object_store.list_keys("tree/") == []
    assert object_store.list_keys("treetop") == ["treetop.txt"]


def test_presigned_url_downloads_with_plain_http(object_store):
    object_store.put_bytes(b"public bytes", "share/x.txt", "text/plain")
    r = requests.get(object_store.presign("share/x.txt", 60), timeout=10)
    assert r.status_code == 200
    assert r.content == b"public bytes"
    assert requests.get(f"{object_store.endpoint}/{object_store.bucket}/share/x.txt",
                        timeout=10).status_code == 403


def test_ensure_bucket_is_idempotent(object_store):
    object_store.put_bytes(b"kept", "idem/x.txt")
    object_store.ensure_bucket()
    object_store.ensure_bucket()
    assert object_store.get_bytes("idem/x.txt") == b"kept"


def test_uploads_send_many_files_side_by_side_and_wait_for_them(object_store, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 40_000)  # 10 MB: in parts
    small = []
    for i in range(5):
        small.append(tmp_path / f"s{i}.txt")
        small[-1].write_text(str(i))
    with object_store.uploads() as upload:
        assert upload(big, "up/big.bin", None) == f"s3://{object_store.bucket}/up/big.bin"
        for path in small:
            upload(path, f"up/{path.name}", "text/plain")
    # Leaving the context waited for them all.
    assert object_store.get_bytes("up/big.bin") == big.read_bytes()
    assert [object_store.get_bytes(f"up/{p.name}") for p in small] == [b"0", b"1", b"2", b"3",
                                                                      b"4"]
    assert object_store.open("up/s0.txt").content_type == "text/plain"


def test_a_failed_upload_is_raised_when_the_uploads_end(object_store, tmp_path):
    with pytest.raises(FileNotFoundError, match="gone.bin"):
        with object_store.uploads() as upload:
            upload(tmp_path / "gone.bin", "up/gone.bin", None)
    assert not object_store.exists("up/gone.bin")
