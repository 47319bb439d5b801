"""The ObjectStore port: the few object operations staging and job cleanup need.
Keys are paths inside the one configured bucket; ``uri(key)`` gives ``s3://bucket/key`` with
the key URL-encoded, and ``key_of(uri)`` reads it back.
Reads also take another ``bucket`` of the same endpoint: stage-in fetches inputs from it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from urllib.parse import quote, unquote

# Characters a key keeps as they are in its s3:// URI: the path separator and what RFC 3986
# allows in a path segment besides unreserved characters. Others (space, %, #, ?) are encoded.
_URI_SAFE = "/:@!$&'()*+,;=~"


class ObjectStore(ABC):
    bucket: str

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{quote(key, safe=_URI_SAFE)}"

    def key_of(self, uri: str) -> str | None:
        """The key of an ``s3://`` URI of this bucket; None for any other href."""
        root = f"s3://{self.bucket}/"
        return unquote(uri[len(root) :]) if uri.startswith(root) else None

    @abstractmethod
    def put_file(self, path: Path, key: str, content_type: str | None = None) -> str:
        """Upload a local file (managed, multipart transfer); return its s3:// URI."""

    @abstractmethod
    def put_bytes(self, data: bytes, key: str, content_type: str | None = None) -> str:
        """Store ``data`` under ``key``; return its s3:// URI."""

    @abstractmethod
    def get_bytes(self, key: str, bucket: str | None = None) -> bytes:
        """Read a whole object. Raises ``KeyError`` when it (or its bucket) does not exist."""

    @abstractmethod
    def download_file(self, key: str, path: Path, bucket: str | None = None) -> None:
        """Download an object to a local file (managed, parallel transfer). Raises
        ``KeyError`` when it (or its bucket) does not exist."""

    @abstractmethod
    def list_keys(self, prefix: str, bucket: str | None = None) -> list[str]:
        """All keys under ``prefix``, sorted. Raises ``KeyError`` when ``bucket`` does not
        exist."""

    @abstractmethod
    def presign(self, key: str, expires: int) -> str:
        """An HTTP(S) URL anyone can GET the object with for ``expires`` seconds."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``; return how many were deleted."""
