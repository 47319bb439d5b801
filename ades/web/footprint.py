"""The footprint of a STAC item as the path of an inline SVG: its GeoJSON geometry drawn
in longitude/latitude (latitude scaled by the cosine of the middle latitude, so a square
scene looks square), fitted into a fixed box. No tiles, no map library: enough to see a
result's shape and where its corners are."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

SIZE = 200.0
MARGIN = 10.0


@dataclass(frozen=True)
class Footprint:
    """An SVG path (``d``) in a SIZE × SIZE box, and the bounds it was drawn from."""

    path: str
    west: float
    south: float
    east: float
    north: float
    # A Point or MultiPoint has no outline: its positions are drawn as dots.
    dots: tuple[tuple[float, float], ...] = ()


def _rings(geometry: Mapping[str, Any]) -> Iterator[list[list[float]]]:
    """Every ring or line of a geometry; a point is a ring of one position."""
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Point":
        yield [coords]
    elif kind in ("MultiPoint", "LineString"):
        yield list(coords)
    elif kind in ("Polygon", "MultiLineString"):
        yield from coords
    elif kind == "MultiPolygon":
        for polygon in coords:
            yield from polygon
    elif kind == "GeometryCollection":
        for member in geometry.get("geometries", []):
            yield from _rings(member)


def footprint(geometry: Any) -> Footprint | None:
    """The footprint of a GeoJSON geometry, or None when it has no usable coordinates."""
    if not isinstance(geometry, Mapping):
        return None
    try:
        rings = [[(float(p[0]), float(p[1])) for p in ring] for ring in _rings(geometry)]
    except (TypeError, ValueError, IndexError):
        return None
    points = [p for ring in rings for p in ring]
    if not points:
        return None
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    south, north = min(p[1] for p in points), max(p[1] for p in points)
    squeeze = max(math.cos(math.radians((south + north) / 2)), 0.01)
    width, height = (east - west) * squeeze, north - south
    scale = (SIZE - 2 * MARGIN) / max(width, height, 1e-12)
    # Centred in the box whichever side is the longer one.
    left = (SIZE - width * scale) / 2
    top = (SIZE - height * scale) / 2

    def xy(p: tuple[float, float]) -> tuple[float, float]:
        return (round(left + (p[0] - west) * squeeze * scale, 2),
                round(top + (north - p[1]) * scale, 2))

    closed = geometry.get("type") in ("Polygon", "MultiPolygon")
    parts = []
    for ring in rings:
        if not ring:
            continue
        line = " L".join(f"{x},{y}" for x, y in map(xy, ring))
        parts.append("M" + line + (" Z" if closed else ""))
    dots = tuple(map(xy, points)) if geometry.get("type") in ("Point", "MultiPoint") else ()
    return Footprint(" ".join(parts), west, south, east, north, dots)
