"""Links a person can open: the s3:// URIs of results, turned into HTTP(S) URLs that a
browser or ``curl`` can GET without S3 credentials — ``<public base>/<key>`` when the bucket
is published (``ADES_S3_PUBLIC_URL``), presigned URLs valid ``ADES_PRESIGN_EXPIRES`` seconds
otherwise. Signatures are made afresh on every call, so a listing never hands out a stale one."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

from ades.model import utcnow
from ades.objectstore.store import ObjectStore

# The longest an S3 (SigV4) presigned URL may live.
MAX_EXPIRES = 7 * 24 * 3600


class DownloadLinks:
    def __init__(self, objects: ObjectStore, public_url: str = "", expires: int = MAX_EXPIRES):
        self.check(public_url, expires)
        self.objects = objects
        self.public_url = public_url.rstrip("/")
        self.expires = expires

    @staticmethod
    def check(public_url: str, expires: int) -> None:
        """Refuse a presign lifetime S3 would refuse, before anything starts."""
        if not public_url and not 0 < expires <= MAX_EXPIRES:
            raise ValueError(
                f"ADES_PRESIGN_EXPIRES={expires}: presigned URLs live 1 to {MAX_EXPIRES} "
                "seconds (7 days); set ADES_S3_PUBLIC_URL for links that never expire"
            )

    def key_of(self, href: str) -> str | None:
        """The key of ``href`` in the results bucket, or None if it lies elsewhere."""
        return self.objects.key_of(href)

    def href(self, href: str) -> str:
        """A URL for ``href``: objects of the results bucket become downloadable; any other
        href (an http URL, an object of another bucket) is returned as it is."""
        key = self.key_of(href)
        if key is None:
            return href
        if self.public_url:
            return f"{self.public_url}/{quote(key)}"
        return self.objects.presign(key, self.expires)

    def expires_at(self) -> datetime | None:
        """When URLs made now stop working; None for public URLs."""
        if self.public_url:
            return None
        return utcnow() + timedelta(seconds=self.expires)
