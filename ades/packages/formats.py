"""File formats in openEO's names (GTiff, netCDF, JSON, …): the one table of them, and
which of them a process's inputs take and its outputs can produce. What an output comes in
is read once, when its package is loaded (``Parameter.media_types``, see
``ades.packages.media``); a Directory output is staged out as a STAC catalog of its rasters
(GTiff, described in JSON). Framework-free."""

from __future__ import annotations

from dataclasses import dataclass

from ades.model import Process


@dataclass(frozen=True)
class FileFormat:
    name: str  # openEO's name of the format (GDAL's driver name where there is one)
    title: str
    # The media types such a file comes in, the one stage-out labels it with first.
    media_types: tuple[str, ...]
    gis_data_types: tuple[str, ...]
    edam: tuple[str, ...] = ()  # EDAM format terms (format_NNNN) a CWL `format` may name
    aliases: tuple[str, ...] = ()  # other names clients use for it


FORMATS: tuple[FileFormat, ...] = (
    FileFormat("GTiff", "GeoTIFF (Cloud-Optimized where the process writes COGs)",
               ("image/tiff; application=geotiff", "image/tiff"), ("raster",),
               ("format_3591",), ("GeoTIFF", "COG")),
    FileFormat("netCDF", "Network Common Data Form",
               ("application/x-netcdf", "application/netcdf"), ("raster",), ("format_3650",)),
    FileFormat("JSON", "JavaScript Object Notation (STAC catalogs among others)",
               ("application/json",), ("other",), ("format_3464",)),
    FileFormat("GeoJSON", "GeoJSON", ("application/geo+json",), ("vector",)),
    FileFormat("PNG", "Portable Network Graphics", ("image/png",), ("raster",),
               ("format_3603",)),
    FileFormat("JPEG", "JPEG", ("image/jpeg",), ("raster",), ("format_3579",), ("JPG",)),
    FileFormat("JP2", "JPEG 2000", ("image/jp2",), ("raster",)),
    FileFormat("CSV", "Comma-separated values", ("text/csv",), ("table",), ("format_3752",)),
    FileFormat("TXT", "Plain text", ("text/plain",), ("other",),
               ("format_1964", "format_2330"), ("TEXT",)),
    FileFormat("Parquet", "Apache Parquet", ("application/vnd.apache.parquet",), ("table",),
               (), ("GeoParquet",)),
    FileFormat("Zarr", "Zarr", ("application/vnd+zarr",), ("raster",)),
    FileFormat("HTML", "HyperText Markup Language", ("text/html",), ("other",)),
    FileFormat("XML", "Extensible Markup Language", ("application/xml", "text/xml"),
               ("other",)),
)
_BY_NAME = {n.upper(): f for f in FORMATS for n in (f.name, *f.aliases)}


def base_type(media: str) -> str:
    """A media type without its parameters, lower case: 'image/tiff; application=geotiff'
    → 'image/tiff'."""
    return media.split(";", 1)[0].strip().lower()


def by_name(name: str) -> FileFormat | None:
    """The format an openEO name (or an alias: GeoTIFF, JPG, …) stands for, in any case."""
    return _BY_NAME.get(name.strip().upper())


def of_media_type(media: str) -> FileFormat | None:
    base = base_type(media)
    return next((f for f in FORMATS if base in {base_type(m) for m in f.media_types}), None)


def of_edam(term: str) -> FileFormat | None:
    return next((f for f in FORMATS if term in f.edam), None)


def output_formats(process: Process) -> set[str]:
    """The formats (names of FORMATS) the process's outputs can produce."""
    found: set[str] = set()
    for output in process.outputs:
        if output.kind == "Directory":
            found |= {"GTiff", "JSON"}
        for media in output.media_types or ():
            known = of_media_type(media)
            if known is not None:
                found.add(known.name)
    return found


def input_formats(process: Process) -> set[str]:
    """The formats its inputs take: any file for a File input, a STAC catalog of rasters
    (JSON, GTiff) for a Directory input."""
    kinds = {p.kind for p in process.inputs}
    if "File" in kinds:
        return {f.name for f in FORMATS}
    if "Directory" in kinds:
        return {"GTiff", "JSON"}
    return set()
