"""The media types a process's outputs come in, read from its CWL: what a client may ask
for when it wants one format (openEO's ``save_result``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cwltool.process import Process as CwlProcess

from ades.packages.formats import of_edam
from ades.packages.schema import short_name
from ades.staging.stage_out import media_type

JSON = "application/json"
# CWL ``format`` IRIs that name a media type (the OGC Best Practice for EO application
# packages declares output formats so: ``iana:image/tiff``).
IANA = (
    "https://www.iana.org/assignments/media-types/",
    "http://www.iana.org/assignments/media-types/",
)
_DATA = frozenset({"File", "Directory", "stdout", "stderr"})


def output_media_types(tool: CwlProcess) -> dict[str, tuple[str, ...] | None]:
    """For each output of a loaded process, the media types its values come in: JSON for
    literal values (they are returned as JSON); for a File, its CWL ``format`` when that is
    an IANA media type or an EDAM format term of ``formats.FORMATS``, else the types its
    globs' extensions name (the types stage-out stores them with). None when it cannot be
    told: a Directory, a file named by an expression."""
    return {
        short_name(port["id"]): _port_types(tool, port) for port in tool.tool["outputs"]
    }


def _port_types(tool: CwlProcess, port: Mapping[str, Any]) -> tuple[str, ...] | None:
    kinds = _kinds(port.get("type"))
    if not kinds & _DATA:
        return (JSON,)
    if kinds & {"Directory"}:
        return None
    source = port.get("outputSource")
    if source is not None:
        return _source_types(tool, source)
    declared = port.get("format")
    if isinstance(declared, str):
        for prefix in IANA:
            if declared.startswith(prefix):
                return (declared[len(prefix):],)
        edam = of_edam(declared.rsplit("/", 1)[-1].rsplit("#", 1)[-1])
        if edam is not None:
            return edam.media_types[:1]
    globs = (port.get("outputBinding") or {}).get("glob")
    found: list[str] = []
    for glob in globs if isinstance(globs, list) else [globs]:
        if not isinstance(glob, str) or "$(" in glob or "${" in glob or not Path(glob).suffix:
            return None
        if media_type(Path(glob)) not in found:
            found.append(media_type(Path(glob)))
    return tuple(found) or None


def _source_types(tool: CwlProcess, source: Any) -> tuple[str, ...] | None:
    """The media types of a Workflow output: those of the step output(s) it takes."""
    sources = source if isinstance(source, list) else [source]
    steps = {step.id: step for step in getattr(tool, "steps", [])}
    found: list[str] = []
    for one in sources:
        step_id, _, output = str(one).rpartition("/")
        step = steps.get(step_id)
        if step is None:  # a Workflow input passed through: nothing to tell
            return None
        inner = step.embedded_tool
        port = next((p for p in inner.tool["outputs"] if short_name(p["id"]) == output), None)
        types = _port_types(inner, port) if port is not None else None
        if types is None:
            return None
        found.extend(t for t in types if t not in found)
    return tuple(found)


def _kinds(cwl_type: Any) -> set[str]:
    """The type names a CWL type is made of (through unions and arrays)."""
    if isinstance(cwl_type, str):
        return {cwl_type}
    if isinstance(cwl_type, list):
        return set().union(*(_kinds(t) for t in cwl_type)) if cwl_type else set()
    if isinstance(cwl_type, Mapping):
        if cwl_type.get("type") == "array":
            return _kinds(cwl_type.get("items"))
        return {str(cwl_type.get("type"))}
    return set()
