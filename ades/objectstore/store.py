"""The ObjectStore port: the few object operations staging and job cleanup need.
Keys are paths inside the one configured bucket; ``uri(key)`` gives ``s3://bucket/key``.
Reads also take another ``bucket`` of the same endpoint: stage-in fetches inputs from it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass
class ObjectStream:
    """An object (or a byte range of it) being read: what an HTTP download answers with."""

    chunks: Iterator[bytes]
    length: int
    content_type: str | None
    # "bytes <first>-<last>/<size>" when only a range was asked for and returned.
    content_range: str | None = None


class ObjectStore(ABC):
    bucket: str

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

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
    def list_keys(self, prefix: str) -> list[str]:
        """All keys under ``prefix``, sorted."""

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
