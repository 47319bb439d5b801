"""Links a person can open. A job's result files are linked to the API's download route,
``…/jobs/<jobID>/download/<path under the job>``, whose address never changes: the route
answers with a redirect to a URL made at that moment (``<public base>/<key>`` when the bucket
is published with ``ADES_S3_PUBLIC_URL``, else a URL presigned for ``ADES_PRESIGN_EXPIRES``
seconds), or streams the object itself when clients cannot reach the S3 endpoint (the
embedded S3 listens on 127.0.0.1 only). The ``s3://`` URIs stay in the stored STAC."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import quote

from ades.objectstore.store import ObjectStore

# The longest an S3 (SigV4) presigned URL may live.
MAX_EXPIRES = 7 * 24 * 3600
# ADES_RESULT_DOWNLOADS: empty picks "stream" for the embedded S3, "redirect" otherwise.
DOWNLOAD_MODES = ("", "redirect", "stream")


@dataclass(frozen=True)
class JobFiles:
    """The result files of one job: the bucket prefix they lie under (``<ws>/jobs/<id>``)
    and the API route that serves them (``…/jobs/<id>/download``)."""

    prefix: str
    route: str

    def url(self, key: str) -> str | None:
        """The route's URL of ``key``; None for a key that is not the job's."""
        if not key.startswith(self.prefix + "/"):
            return None
        return f"{self.route}/{quote(key[len(self.prefix) + 1 :])}"

    def key(self, path: str) -> str | None:
        """The key of a ``path`` asked of the route; None when it would leave the job's
        prefix (``..``, an absolute path, an empty one)."""
        if not path or path.startswith("/") or "\\" in path:
            return None
        normal = posixpath.normpath(path)
        if normal != path.rstrip("/") or normal in (".", "..") or normal.startswith("../"):
            return None
        return f"{self.prefix}/{normal}"


class DownloadLinks:
    def __init__(
        self,
        objects: ObjectStore,
        public_url: str = "",
        expires: int = MAX_EXPIRES,
        stream: bool = False,
    ):
        self.check(public_url, expires)
        self.objects = objects
        self.public_url = public_url.rstrip("/")
        self.expires = expires
        self.stream = stream

    @staticmethod
    def check(public_url: str, expires: int, mode: str = "") -> None:
        """Refuse a presign lifetime S3 would refuse, or an unknown download mode, before
        anything starts."""
        if not public_url and not 0 < expires <= MAX_EXPIRES:
            raise ValueError(
                f"ADES_PRESIGN_EXPIRES={expires}: presigned URLs live 1 to {MAX_EXPIRES} "
                "seconds (7 days); set ADES_S3_PUBLIC_URL for links that never expire"
            )
        if mode not in DOWNLOAD_MODES:
            raise ValueError(
                f"ADES_RESULT_DOWNLOADS={mode!r}: expected 'redirect', 'stream' or nothing"
            )

    def key_of(self, href: str) -> str | None:
        """The key of ``href`` in the results bucket, or None if it lies elsewhere."""
        return self.objects.key_of(href)

    def href(self, href: str, files: JobFiles) -> str:
        """A URL for ``href``: the job's own objects are linked to its download route, other
        objects of the results bucket to a direct URL; any other href (an http URL, an
        object of another bucket) is returned as it is."""
        key = self.key_of(href)
        if key is None:
            return href
        return files.url(key) or self.direct(key)

    def direct(self, key: str) -> str:
        """A URL of the object on the S3 itself, made now: public, or presigned."""
        if self.public_url:
            return f"{self.public_url}/{quote(key)}"
        return self.objects.presign(key, self.expires)
