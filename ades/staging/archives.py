"""Result files bundled as one tar archive (uncompressed, POSIX): what a synchronous openEO
request answers when its job wrote several files. Framework-free."""

from __future__ import annotations

import io
import tarfile
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from ades.objectstore.store import ObjectStore

TAR = "application/x-tar"
# An archive stays in memory up to this size, then spills to a temporary file.
_SPOOL_BYTES = 16 * 1024 * 1024


def tar_of(
    objects: ObjectStore, members: Mapping[str, str], extra: Mapping[str, bytes]
) -> IO[bytes]:
    """A tar holding, for each ``name → key`` of ``members``, the object ``key`` as
    ``name``, and each of ``extra``'s bytes under its name; positioned at its start. The
    caller closes it. Members carry no owner of the server: only names, sizes, times."""
    out = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 (returned)
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(
        fileobj=out, mode="w", format=tarfile.PAX_FORMAT
    ) as tar:
        for index, (name, key) in enumerate(sorted(members.items())):
            path = Path(tmp) / str(index)
            objects.download_file(key, path)
            tar.add(path, arcname=name, filter=_anonymous)
        for name, data in extra.items():
            info = _anonymous(tarfile.TarInfo(name))
            info.size = len(data)
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    out.seek(0)
    return out


def _anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o644
    return info
