"""The ObjectStore port: the few object operations staging and job cleanup need.
Keys are paths inside the one configured bucket; ``uri(key)`` gives ``s3://bucket/key`` with
the key URL-encoded, and ``key_of(uri)`` reads it back.
Reads also take another ``bucket`` of the same endpoint: stage-in fetches inputs from it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

# Characters a key keeps as they are in its s3:// URI: the path separator and what RFC 3986
# allows in a path segment besides unreserved characters. Others (space, %, #, ?) are encoded.
_URI_SAFE = "/:@!$&'()*+,;=~"


@dataclass
class ObjectStream:
    """An object (or a byte range of it) being read: what an HTTP download answers with."""

    chunks: Iterator[bytes]
    length: int
    content_type: str | None
    # "bytes <first>-<last>/<size>" when only a range was asked for and returned.
    content_range: str | None = None


Upload = Callable[[Path, str, "str | None"], str]


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
    def uploads(self) -> AbstractContextManager[Upload]:
        """Many local files uploaded at once: the context gives ``upload(path, key,
        content_type)``, which starts a file's upload and returns its s3:// URI; the files
        upload side by side (and each in parts) while the caller goes on, and leaving the
        context waits for them all, raising the first upload's error."""

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
    def sizes(self, prefix: str) -> dict[str, int]:
        """The size in bytes of every object under ``prefix``, by key."""

    @abstractmethod
    def etag(self, key: str, bucket: str | None = None) -> str:
        """The ETag of an object: it changes whenever the object's content does (the
        result cache pins s3:// inputs with it). Raises ``KeyError`` when it (or its bucket)
        does not exist."""

    @abstractmethod
    def copy(self, source: str, target: str) -> None:
        """Copy the object ``source`` to ``target`` inside the bucket, server-side (the
        bytes do not pass through this process). Raises ``KeyError`` when ``source`` does
        not exist."""

    @abstractmethod
    def presign(self, key: str, expires: int) -> str:
        """An HTTP(S) URL anyone can GET the object with for ``expires`` seconds."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether the object ``key`` exists."""

    @abstractmethod
    def open(self, key: str, byte_range: str | None = None) -> ObjectStream:
        """Read an object as a stream of chunks; ``byte_range`` is an HTTP ``Range`` header
        value. Raises ``KeyError`` when it does not exist."""

    @abstractmethod
    def unready_reason(self) -> str | None:
        """None when the bucket answers; else why not, in a sentence."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``; return how many were deleted."""
