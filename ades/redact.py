"""Keeping secrets out of what the server writes: its own log, job logs and job documents.

Two kinds of secrets are taken out of text: the values this process knows to be secret (the
S3 secret key, the admin token, the passwords in the database and broker URLs), registered
from the settings, and what looks like a credential whatever its value (the secret part of
an API token ``ades_<id>_<secret>``, a JWT, a bearer token, the signature of a presigned
or signed link). ``install`` makes every log record of the process pass through them, once,
whichever logger or handler (uvicorn's, Celery's) it goes to."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

from sqlalchemy.engine import make_url

from ades.settings import Settings

MASK = "[redacted]"

# A known value shorter than this is not looked for: masking every "ab" would garble the
# log and protect nothing a guess would not find.
_SHORTEST = 6

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # An API token keeps its id, which says which token it was and is no secret.
    (re.compile(r"\b(ades_[0-9a-f]{16}_)[A-Za-z0-9_-]{20,}"), rf"\g<1>{MASK}"),
    # A JWT: three base64url parts, the first two JSON objects ("eyJ" is '{"').
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*"), MASK),
    # A bearer token of any kind (RFC 6750's token characters).
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/-]{8,}=*"), rf"\g<1>{MASK}"),
    # The signatures of presigned S3 URLs and of the server's signed download links.
    (re.compile(r"(?i)([?&](?:x-amz-signature|signature|x-amz-security-token)=)[^&\s\"'#]+"),
     rf"\g<1>{MASK}"),
]  # fmt: skip


class Redactor:
    """Masks known secret values and credential-looking text."""

    def __init__(self, known: Iterable[str] = ()):
        self._lock = threading.Lock()
        self._known: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.remember(*known)

    def remember(self, *values: str) -> None:
        """Mask these values too from now on."""
        fresh = {v for v in values if v and len(v) >= _SHORTEST} - self._known
        if not fresh:
            return
        with self._lock:
            self._known |= fresh
            # Longest first, so a secret containing another is masked whole.
            ordered = sorted(self._known, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, ordered)))

    def __call__(self, text: str) -> str:
        if not text:
            return text
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(MASK, text)
        for credential, replacement in _PATTERNS:
            text = credential.sub(replacement, text)
        return text

    def deep(self, value: Any) -> Any:
        """``value`` with every string in it (in lists and dicts too) redacted."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.deep(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.deep(v) for v in value)
        return value


# The process's one redactor: every part of the server that writes text uses it.
redact = Redactor()


def secrets_of(settings: Settings) -> list[str]:
    """The values of ``settings`` that are secret."""
    values = [settings.s3_secret_key, settings.admin_token]
    for url in (settings.database_url, settings.broker_url):
        try:
            password = make_url(url).password if url else None
        except Exception:  # not a URL: its own check says so, and it holds no password
            password = None
        if password:
            values.append(str(password))
    return values


_installed = False
_install_lock = threading.Lock()


def install(settings: Settings) -> None:
    """Mask the secrets of ``settings`` in every log record of this process from now on.
    Records are redacted as they are made (a record factory), so no handler, however it
    was configured and whenever, sees one unredacted. Safe to call more than once."""
    global _installed
    redact.remember(*secrets_of(settings))
    with _install_lock:
        if _installed:
            return
        _installed = True
        make_record = logging.getLogRecordFactory()

        def redacting_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make_record(*args, **kwargs)
            redact_record(record)
            return record

        logging.setLogRecordFactory(redacting_record)


def redact_record(record: logging.LogRecord) -> None:
    """Redact a record in place. Its arguments stay arguments (uvicorn's access log reads
    them one by one), each string among them redacted; an exception's text is formatted
    now, redacted, so that a formatter prints that text."""
    record.msg = _redacted_arg(record.msg)  # an exception logged as it is, too
    if isinstance(record.args, tuple):
        record.args = tuple(_redacted_arg(a) for a in record.args)
    elif isinstance(record.args, dict):
        record.args = {k: _redacted_arg(a) for k, a in record.args.items()}
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)



def _redacted_arg(arg: Any) -> Any:
    """A string redacted; another object as it is, unless its text holds a secret: then
    that text redacted (an exception whose message quotes a URL with a password)."""
    if isinstance(arg, str):
        return redact(arg)
    if arg is None or isinstance(arg, int | float):
        return arg
    try:
        text = str(arg)
    except Exception:
        return arg
    masked = redact(text)
    return arg if masked == text else masked
