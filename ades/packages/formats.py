"""File formats in openEO's names (GTiff, netCDF, JSON, …) and which of them a process's
inputs take and its outputs can produce, read off its CWL package: a literal output is
JSON; a Directory output is staged out as a STAC catalog of its rasters (GTiff, described
in JSON); a File output is what its CWL ``format`` (an EDAM or IANA IRI) or the suffix of
its ``glob`` (or ``stdout`` name) says, and unknown when neither says. Framework-free."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from ades.model import Process


@dataclass(frozen=True)
class FileFormat:
    name: str  # openEO's name of the format (GDAL's driver name where there is one)
    title: str
    media_type: str  # as stage-out labels such a file
    suffixes: tuple[str, ...]
    gis_data_types: tuple[str, ...]
    edam: tuple[str, ...] = ()  # EDAM format terms (format_NNNN)


FORMATS: tuple[FileFormat, ...] = (
    FileFormat("GTiff", "GeoTIFF (Cloud-Optimized where the process writes COGs)",
               "image/tiff; application=geotiff", (".tif", ".tiff"), ("raster",),
               ("format_3591",)),
    FileFormat("netCDF", "Network Common Data Form", "application/x-netcdf", (".nc",),
               ("raster",), ("format_3650",)),
    FileFormat("JSON", "JavaScript Object Notation (STAC catalogs among others)",
               "application/json", (".json",), ("other",), ("format_3464",)),
    FileFormat("GeoJSON", "GeoJSON", "application/geo+json", (".geojson",), ("vector",)),
    FileFormat("PNG", "Portable Network Graphics", "image/png", (".png",), ("raster",),
               ("format_3603",)),
    FileFormat("JPEG", "JPEG", "image/jpeg", (".jpg", ".jpeg"), ("raster",),
               ("format_3579",)),
    FileFormat("JP2", "JPEG 2000", "image/jp2", (".jp2",), ("raster",)),
    FileFormat("CSV", "Comma-separated values", "text/csv", (".csv",), ("table",),
               ("format_3752",)),
    FileFormat("TXT", "Plain text", "text/plain", (".txt", ".log"), ("other",),
               ("format_1964", "format_2330")),
)
BY_NAME = {f.name: f for f in FORMATS}
_BY_MEDIA_TYPE = {f.media_type.split(";")[0]: f for f in FORMATS}
_EDAM = re.compile(r"format_\d{4}")
_IANA = "iana.org/assignments/media-types/"
# How deep a Workflow's outputSource is followed into the steps it runs.
_DEPTH = 5


def output_formats(process: Process) -> set[str]:
    """The formats (names of FORMATS) the process's outputs can produce."""
    return set(_output_formats(process.package, process.entry))


def input_formats(process: Process) -> set[str]:
    """The formats its inputs take: any file for a File input, a STAC catalog of rasters
    (JSON, GTiff) for a Directory input."""
    kinds = {p.kind for p in process.inputs}
    if "File" in kinds:
        return set(BY_NAME)
    if "Directory" in kinds:
        return {"GTiff", "JSON"}
    return set()


@functools.lru_cache(maxsize=256)
def _output_formats(package: str, entry: str | None) -> frozenset[str]:
    try:
        # The YAML reader cwltool's loader uses: PyYAML reads some CWL (``{type: File?}``)
        # otherwise, or not at all.
        document = YAML(typ="safe", pure=True).load(package)
    except YAMLError:
        return frozenset()
    if not isinstance(document, Mapping):
        return frozenset()
    graph = document.get("$graph")
    if isinstance(graph, list):
        tool = _by_id(graph, entry or "main")
    else:
        graph, tool = [], document
    if not isinstance(tool, Mapping):
        return frozenset()
    found: set[str] = set()
    for output in _entries(tool.get("outputs")):
        found |= _formats_of(output, tool, graph, _DEPTH)
    return frozenset(found)


def _by_id(graph: list[Any], ref: str) -> Mapping[str, Any] | None:
    wanted = ref.lstrip("#")
    for item in graph:
        if isinstance(item, Mapping) and str(item.get("id", "")).lstrip("#") == wanted:
            return item
    return None


def _entries(items: Any) -> Iterable[Mapping[str, Any]]:
    """A CWL list-or-map of parameters (or steps) as mappings with an ``id``."""
    if isinstance(items, Mapping):
        for key, value in items.items():
            yield {"id": key, **value} if isinstance(value, Mapping) else {"id": key, "type": value}
    elif isinstance(items, list):
        yield from (item for item in items if isinstance(item, Mapping))


def _type_names(cwl_type: Any) -> set[str]:
    if isinstance(cwl_type, str):
        return {cwl_type.rstrip("?").removesuffix("[]")}
    if isinstance(cwl_type, list):
        return set().union(*(_type_names(t) for t in cwl_type)) if cwl_type else set()
    if isinstance(cwl_type, Mapping):
        if cwl_type.get("type") == "array":
            return _type_names(cwl_type.get("items"))
        if cwl_type.get("type") == "record":
            return {"record"}
    return set()


def _formats_of(
    output: Mapping[str, Any], tool: Mapping[str, Any], graph: list[Any], depth: int
) -> set[str]:
    types = _type_names(output.get("type")) - {"null"}
    found: set[str] = set()
    if types & {"Directory"}:
        found |= {"GTiff", "JSON"}
    if types - {"File", "Directory", "stdout", "stderr", "record"}:
        found.add("JSON")  # a literal is answered as JSON
    if not types & {"File", "stdout", "stderr"}:
        return found
    named = _from_format(output.get("format"))
    if named:
        return found | {named}
    if tool.get("class") == "Workflow":
        return found | _from_source(output.get("outputSource"), tool, graph, depth)
    names = []
    if "stdout" in types:
        names.append(tool.get("stdout"))
    if "stderr" in types:
        names.append(tool.get("stderr"))
    binding = output.get("outputBinding")
    if isinstance(binding, Mapping):
        globs = binding.get("glob")
        names += globs if isinstance(globs, list) else [globs]
    for name in names:
        if isinstance(name, str):
            found |= {f.name for f in FORMATS if name.lower().endswith(f.suffixes)}
    return found


def _from_format(iri: Any) -> str | None:
    if not isinstance(iri, str):
        return None
    edam = _EDAM.search(iri)
    if edam:
        return next((f.name for f in FORMATS if edam.group(0) in f.edam), None)
    if _IANA in iri:
        known = _BY_MEDIA_TYPE.get(iri.split(_IANA, 1)[1])
        return known.name if known else None
    return None


def _from_source(
    source: Any, workflow: Mapping[str, Any], graph: list[Any], depth: int
) -> set[str]:
    if depth <= 0:
        return set()
    found: set[str] = set()
    for ref in source if isinstance(source, list) else [source]:
        if not isinstance(ref, str) or "/" not in ref:
            continue
        step_id, out_id = ref.lstrip("#").split("/", 1)
        step = next((s for s in _entries(workflow.get("steps")) if s.get("id") == step_id), None)
        run = step.get("run") if step else None
        if isinstance(run, str):
            run = _by_id(graph, run)
        if not isinstance(run, Mapping):
            continue
        for output in _entries(run.get("outputs")):
            if output.get("id") == out_id:
                found |= _formats_of(output, run, graph, depth - 1)
    return found
