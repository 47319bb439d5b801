"""Footprints of STAC items as SVG paths (ades/web/footprint.py)."""

from ades.web.footprint import SIZE, footprint


def test_a_polygon_fills_the_box_keeping_its_shape():
    square = {"type": "Polygon",
              "coordinates": [[[0, 0], [2, 0], [2, 1], [0, 1], [0, 0]]]}  # fmt: skip
    drawn = footprint(square)
    assert (drawn.west, drawn.south, drawn.east, drawn.north) == (0, 0, 2, 1)
    assert drawn.path.startswith("M10.0,") and drawn.path.endswith(" Z")
    xs = [float(p.split(",")[0].lstrip("ML ")) for p in drawn.path.rstrip(" Z").split(" L")]
    assert min(xs) == 10.0 and max(xs) == SIZE - 10.0  # the longer side spans the box


def test_points_are_dots_and_nonsense_is_none():
    assert footprint({"type": "Point", "coordinates": [5, 50]}).dots == ((100.0, 100.0),)
    multi = footprint({"type": "MultiPolygon", "coordinates": [
        [[[0, 0], [1, 0], [1, 1], [0, 0]]], [[[2, 2], [3, 2], [3, 3], [2, 2]]]]})
    assert multi.path.count("M") == 2
    assert footprint(None) is None
    assert footprint({"type": "Polygon", "coordinates": []}) is None
    assert footprint({"type": "Polygon", "coordinates": [[["a", "b"]]]}) is None
