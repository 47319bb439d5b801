"""The outputs and STAC items of the results page (ades/web/results.py)."""

import asyncio

from ades.web.results import item_of, links_of, outputs_of, walk

RESULTS = "http://h/demo/ogc-api/jobs/j/results"
ITEM = {
    "type": "Feature", "id": "scene",
    "geometry": {"type": "Point", "coordinates": [1, 2]},
    "properties": {"datetime": "2024-01-01T00:00:00Z"},
    "links": [{"rel": "self", "href": RESULTS + "/cat?path=scene/scene.json"}],
    "assets": {
        "data": {"href": RESULTS[:-8] + "/download/cat/scene/a.tif", "roles": ["data"]},
        "thumbnail": {"href": RESULTS[:-8] + "/download/cat/scene/a.png",
                      "type": "image/png", "roles": ["thumbnail"]},
    },
}  # fmt: skip


def test_outputs_of_both_document_shapes():
    ogc = outputs_of({"cat": {"href": RESULTS + "/cat", "type": "application/json"},
                      "file": {"href": "http://h/x.tif", "type": "image/tiff"},
                      "n": 3, "links": [{"rel": "provenance", "href": "http://h/p"}]},
                     RESULTS)  # fmt: skip
    assert [(o.id, o.catalog, o.href, o.value) for o in ogc] == [
        ("cat", RESULTS + "/cat", RESULTS + "/cat", None),
        ("file", None, "http://h/x.tif", None),
        ("n", None, None, 3),
    ]
    wps3 = outputs_of({"outputs": [
        {"id": "cat", "value": {"inlineValue": '{"StacCatalogUri": "s3://b/c.json"}'}},
        {"id": "s", "value": {"inlineValue": "hello"}}]}, RESULTS)  # fmt: skip
    assert [(o.id, o.catalog, o.value) for o in wps3] == [
        ("cat", RESULTS + "/cat", None), ("s", None, "hello")]
    features = outputs_of({"fc": {"mediaType": "application/geo+json",
                                  "value": {"type": "FeatureCollection",
                                            "features": [ITEM]}}}, RESULTS)  # fmt: skip
    assert [i.id for i in features[0].items] == ["scene"]


def test_items_keep_their_assets_and_thumbnails():
    item = item_of(ITEM, "fallback")
    assert item.href == RESULTS + "/cat?path=scene/scene.json"
    assert [a.key for a in item.thumbnails] == ["thumbnail"]
    assert item.footprint.dots
    assert item_of({"type": "Catalog"}, "x") is None
    assert links_of({"links": [{"rel": "provenance", "href": "p"}]}, {"links": "no"},
                    rel="provenance") == [{"rel": "provenance", "href": "p"}]  # fmt: skip


def test_walk_follows_children_and_items_under_the_results_only():
    documents = {
        RESULTS + "/cat": {"type": "Catalog", "links": [
            {"rel": "child", "href": RESULTS + "/cat?path=sub/catalog.json"},
            {"rel": "item", "href": "http://elsewhere/item.json"},
            {"rel": "self", "href": RESULTS + "/cat"}]},
        RESULTS + "/cat?path=sub/catalog.json": {"type": "Catalog", "links": [
            {"rel": "item", "href": RESULTS + "/cat?path=scene/scene.json"},
            {"rel": "parent", "href": RESULTS + "/cat"}]},
        RESULTS + "/cat?path=scene/scene.json": ITEM,
    }  # fmt: skip
    asked = []

    async def fetch(url):
        asked.append(url)
        return documents.get(url)

    (output,) = outputs_of({"cat": {"href": RESULTS + "/cat"}}, RESULTS)
    asyncio.run(walk(output, fetch, RESULTS))
    assert [i.id for i in output.items] == ["scene"]
    assert "http://elsewhere/item.json" not in asked and len(asked) == 3


def test_a_plain_directory_is_its_file_list():
    listing = {"type": "Directory", "name": "out",
               "files": [{"path": "a.txt", "href": "http://h/d/a.txt", "type": "text/plain"}]}

    async def fetch(url):
        return listing

    (output,) = outputs_of({"out": {"href": RESULTS + "/out", "type": "application/json"}},
                           RESULTS)  # fmt: skip
    asyncio.run(walk(output, fetch, RESULTS))
    assert output.files == listing["files"] and output.items == []
