"""Content negotiation of raw results (RFC 9110, section 12): the media types an output
value can be served as, the one a request's ``Accept`` header prefers, and the bytes of
that representation, for one output or a ``multipart/related`` body of several."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ades.errors import InvalidRequest, NotAcceptable
from ades.model import Parameter, Process

JSON = "application/json"
TEXT = "text/plain"
MULTIPART = "multipart/related"
# What each offered type is served with.
CONTENT_TYPES = {JSON: JSON, TEXT: "text/plain; charset=utf-8"}

# JSON first: with no preference (`*/*`, what curl, requests and OWSLib send) a literal is
# served as JSON like every other resource of the API, so a client that reads any answer
# as JSON can read this one too. text/plain is there for whoever asks for it.
SCALAR_TYPES: tuple[str, ...] = (JSON, TEXT)
JSON_ONLY: tuple[str, ...] = (JSON,)
_SCALAR_SCHEMA_TYPES = {"string", "number", "integer", "boolean"}


@dataclass(frozen=True)
class MediaRange:
    """One member of an Accept header: ``type/subtype`` (either may be ``*``) and its
    quality. Other parameters are ignored: the types offered here take none."""

    type: str
    subtype: str
    q: float

    def matches(self, media_type: str) -> bool:
        type_, subtype = media_type.split("/", 1)
        return self.type in ("*", type_) and self.subtype in ("*", subtype)

    @property
    def specificity(self) -> int:
        return (self.type != "*") + (self.subtype != "*")

    def __str__(self) -> str:
        return f"{self.type}/{self.subtype}"


ANY = (MediaRange("*", "*", 1.0),)


def parse_accept(header: str | None) -> tuple[MediaRange, ...]:
    """The media ranges of an Accept header; no header (or an empty one) accepts anything.
    A member that is not ``type/subtype`` or whose ``q`` is not a number from 0 to 1 is an
    InvalidRequest naming it."""
    if header is None or not header.strip():
        return ANY
    ranges = []
    for member in header.split(","):
        if not member.strip():
            continue
        kind, *params = (part.strip() for part in member.split(";"))
        type_, slash, subtype = kind.lower().partition("/")
        if not slash or not type_ or not subtype or (type_ == "*" and subtype != "*"):
            raise InvalidRequest(f"Accept header: '{member.strip()}' is not a media range")
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                q = _quality(value.strip(), member.strip())
        ranges.append(MediaRange(type_, subtype, q))
    return tuple(ranges) or ANY


def _quality(value: str, member: str) -> float:
    try:
        q = float(value)
    except ValueError:
        q = -1.0
    if not 0.0 <= q <= 1.0:
        raise InvalidRequest(f"Accept header: '{member}' has a q that is not a number from 0 to 1")
    return q


def quality(ranges: Iterable[MediaRange], media_type: str) -> float:
    """How much the client wants ``media_type``: the q of the most specific range that
    matches it (``text/plain;q=0, */*`` refuses text/plain), 0 when none does."""
    matching = [r for r in ranges if r.matches(media_type)]
    if not matching:
        return 0.0
    top = max(r.specificity for r in matching)
    return max(r.q for r in matching if r.specificity == top)


def best(ranges: tuple[MediaRange, ...], offered: Iterable[str]) -> str | None:
    """The offered type with the highest quality above 0; ties go to the server's order."""
    chosen, chosen_q = None, 0.0
    for media_type in offered:
        q = quality(ranges, media_type)
        if q > chosen_q:
            chosen, chosen_q = media_type, q
    return chosen


def offered_for_value(value: Any) -> tuple[str, ...]:
    """A string, number or boolean has a plain-text form; everything else (objects,
    arrays, links to results) is JSON only."""
    if isinstance(value, str | int | float | bool):
        return SCALAR_TYPES
    return JSON_ONLY


def offered_for_output(output: Parameter, by_reference: bool) -> tuple[str, ...]:
    """What an output will be offered as, known from its description before it runs."""
    if by_reference or output.kind != "literal" or output.max_occurs != 1:
        return JSON_ONLY
    schema = output.schema
    branches = schema.get("oneOf") or schema.get("anyOf") or [schema]
    types = {b.get("type") for b in branches} - {"null"}
    if types and types <= _SCALAR_SCHEMA_TYPES:
        return SCALAR_TYPES
    return JSON_ONLY


def encode(value: Any, media_type: str) -> bytes:
    """The value in ``media_type``: a JSON document, or a scalar's plain text (booleans
    and numbers as JSON spells them)."""
    if media_type == TEXT and isinstance(value, str):
        return value.encode()
    return json.dumps(value).encode()


def value_ranges(accept: str | None) -> tuple[MediaRange, ...]:
    """The ranges of an Accept header that choose the type of each output's value. Several
    outputs are always one ``multipart/related`` body (that is what ``raw`` means for them;
    the OGC test suite asks for it with ``Accept: application/json``), so Accept speaks to
    the values, and ranges naming multipart types only welcome the envelope. They are left
    out for one output too, so that an optional output being null (one value where two were
    expected) never turns an answer checked before the run into a 406 after it."""
    return tuple(r for r in parse_accept(accept) if r.type != "multipart") or ANY


def negotiate(output_id: str, offered: tuple[str, ...], ranges: tuple[MediaRange, ...],
              accept: str | None) -> str:
    """The type ``output_id`` is served as; NotAcceptable names it when none will do."""
    chosen = best(ranges, offered)
    if chosen is None:
        raise NotAcceptable(output_id, offered, accept or "")
    return chosen


def check_acceptable(process: Process, request: Mapping[str, Any], accept: str | None) -> None:
    """Refuse, before a job runs, a raw execute whose Accept header some requested output
    could not satisfy (NotAcceptable), or that is malformed (InvalidRequest). Output ids
    the process does not have are left to the request's own checks."""
    wanted = request.get("outputs")
    wanted = wanted if isinstance(wanted, Mapping) and wanted else None
    offered = {}
    for output in process.outputs:
        if wanted is not None and output.id not in wanted:
            continue
        options = (wanted or {}).get(output.id)
        by_reference = isinstance(options, Mapping) and (
            options.get("transmissionMode") == "reference"
        )
        offered[output.id] = offered_for_output(output, by_reference)
    ranges = value_ranges(accept)
    for output_id, types in offered.items():
        negotiate(output_id, types, ranges, accept)


def raw_body(values: Mapping[str, Any], accept: str | None, boundary: str) -> tuple[bytes, str]:
    """The raw answer for output id → value (as the results document shows it) and its
    Content-Type: one output as itself, several as a ``multipart/related`` body with one
    part per output (``Content-ID: <outputID>``), each in the type Accept prefers."""
    ranges = value_ranges(accept)
    if len(values) == 1:
        ((output_id, value),) = values.items()
        media_type = negotiate(output_id, offered_for_value(value), ranges, accept)
        return encode(value, media_type), CONTENT_TYPES[media_type]
    if not values:
        # Every requested output was null: JSON's null, or an empty text.
        media_type = best(ranges, SCALAR_TYPES) or JSON
        return (b"null" if media_type == JSON else b""), CONTENT_TYPES[media_type]
    body = b""
    for output_id, value in values.items():
        media_type = negotiate(output_id, offered_for_value(value), ranges, accept)
        head = (f"--{boundary}\r\nContent-ID: <{output_id}>\r\n"
                f"Content-Type: {CONTENT_TYPES[media_type]}\r\n\r\n")
        body += head.encode() + encode(value, media_type) + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f'{MULTIPART}; boundary="{boundary}"'
