"""Links a person can open. A job's result files are linked to the API's download route,
``…/jobs/<jobID>/download/<path under the job>``, whose address never changes: the route
answers with a redirect to a URL made at that moment (``<public base>/<key>`` when the bucket
is published with ``ADES_S3_PUBLIC_URL``, else a URL presigned for ``ADES_PRESIGN_EXPIRES``
seconds), or streams the object itself when clients cannot reach the S3 endpoint (the
embedded S3 listens on 127.0.0.1 only). The ``s3://`` URIs stay in the stored STAC.

With authentication on, the route needs credentials too: the links the server hands out
then carry its signature (``?expires=<unix time>&signature=<hex>``), which opens that one
path, by GET, until it expires, to anyone holding the link (``LinkSigner``). Nothing
reaches the bucket without credentials: a public bucket URL is refused with auth on."""

from __future__ import annotations

import hashlib
import hmac
import posixpath
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote, urlencode, urlsplit

from ades.errors import LinkExpired, NotAuthenticated
from ades.objectstore.store import ObjectStore

# The longest an S3 (SigV4) presigned URL may live.
MAX_EXPIRES = 7 * 24 * 3600
# ADES_RESULT_DOWNLOADS: empty picks "stream" for the embedded S3, "redirect" otherwise.
DOWNLOAD_MODES = ("", "redirect", "stream")


class LinkSigner:
    """Signs the server's download links and checks their signatures. The key is derived
    from the S3 secret key, which every replica (and worker) of a deployment shares, so a
    link made by one opens on any; the signature covers the method, the whole path (the
    workspace, the job and the file: a link opens nothing else) and the expiry."""

    def __init__(self, secret: str, expires: int):
        self._key = hashlib.sha256(b"ades-download-links" + secret.encode()).digest()
        self.expires = expires

    def signature(self, path: str, expires: int, method: str = "GET") -> str:
        message = f"{method}\n{path}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def query(self, path: str, now: float | None = None) -> str:
        """The query string opening ``path`` (as the server sees it, not URL-encoded) for
        ``expires`` seconds from ``now``."""
        expires = int(time.time() if now is None else now) + self.expires
        return urlencode({"expires": expires, "signature": self.signature(path, expires)})

    def verify(
        self, path: str, expires: str | None, signature: str, now: float | None = None
    ) -> None:
        """NotAuthenticated, saying what is wrong, unless ``signature`` opens ``path`` now."""
        if not expires or not expires.isdigit():
            raise NotAuthenticated(
                f"the download link's 'expires' is {expires!r}, not a time in seconds: "
                "use the link as the server made it, or send 'Authorization: Bearer <token>'"
            )
        if not hmac.compare_digest(signature.lower(), self.signature(path, int(expires))):
            raise NotAuthenticated(
                "the download link's signature does not match its path and expiry: use the "
                "link as the server made it, or send 'Authorization: Bearer <token>'"
            )
        if int(expires) <= (time.time() if now is None else now):
            when = datetime.fromtimestamp(int(expires), UTC)
            raise LinkExpired(
                f"the download link expired at {when:%Y-%m-%dT%H:%M:%SZ}: fetch the results "
                "again for a fresh one"
            )


@dataclass(frozen=True)
class JobFiles:
    """The result files of one job: the bucket prefix they lie under (``<ws>/jobs/<id>``)
    and the API route that serves them (``…/jobs/<id>/download``). With a ``signer`` the
    route's URLs carry a signature (authentication on)."""

    prefix: str
    route: str
    signer: LinkSigner | None = None

    def url(self, key: str) -> str | None:
        """The route's URL of ``key``; None for a key that is not the job's."""
        if not key.startswith(self.prefix + "/"):
            return None
        path = key[len(self.prefix) + 1 :]
        url = f"{self.route}/{quote(path)}"
        if self.signer is None:
            return url
        return f"{url}?{self.signer.query(unquote(urlsplit(self.route).path) + '/' + path)}"

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
        signer: LinkSigner | None = None,
    ):
        self.check(public_url, expires, auth="token" if signer else "none")
        self.objects = objects
        self.public_url = public_url.rstrip("/")
        self.expires = expires
        self.stream = stream
        # Signs the download route's links: set when the route needs credentials.
        self.signer = signer

    @staticmethod
    def check(public_url: str, expires: int, mode: str = "", auth: str = "none") -> None:
        """Refuse a presign lifetime S3 would refuse, an unknown download mode, or a public
        bucket URL when results need credentials (``auth``, the ADES_AUTH mode, not
        "none"), before anything starts."""
        if public_url and auth != "none":
            raise ValueError(
                f"ADES_S3_PUBLIC_URL={public_url!r} with ADES_AUTH={auth}: a public bucket "
                "makes every result readable without credentials; unset ADES_S3_PUBLIC_URL "
                "(result links are then signed and expire) or set ADES_AUTH=none"
            )
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
