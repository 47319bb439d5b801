"""The ObjectStore port: the few object operations staging and job cleanup need.
Keys are paths inside the one configured bucket; ``uri(key)`` gives ``s3://bucket/key``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path


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
    def get_bytes(self, key: str) -> bytes:
        """Read a whole object. Raises ``KeyError`` when it does not exist."""

    @abstractmethod
    def download_file(self, key: str, path: Path) -> None:
        """Download an object to a local file. Raises ``KeyError`` when it does not exist."""

    @abstractmethod
    def list_keys(self, prefix: str) -> list[str]:
        """All keys under ``prefix``, sorted."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``; return how many were deleted."""
