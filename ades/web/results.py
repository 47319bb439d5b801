"""What the results page shows: the outputs of a results document (the OGC shape or the
EOEPCA ``outputs`` list), and the STAC items of each catalog output, read by walking the
catalog through the server's own result routes (``/jobs/{id}/results/{output}?path=…``,
whose links and asset hrefs already point where a browser can follow them)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ades.web.footprint import Footprint, footprint

# The most STAC documents one output's walk reads: a results page is for people, and a
# catalog of thousands of items is browsed through its JSON.
MAX_DOCUMENTS = 200

# Reads one JSON document of the server by its URL; None when it is not one.
Fetch = Callable[[str], Awaitable[Any]]


@dataclass(frozen=True)
class Asset:
    key: str
    href: str
    title: str
    type: str
    roles: tuple[str, ...]

    @property
    def is_thumbnail(self) -> bool:
        return "thumbnail" in self.roles or "overview" in self.roles


@dataclass(frozen=True)
class Item:
    id: str
    title: str
    href: str
    datetime: str
    footprint: Footprint | None
    assets: tuple[Asset, ...]

    @property
    def thumbnails(self) -> tuple[Asset, ...]:
        return tuple(a for a in self.assets if a.is_thumbnail)


@dataclass
class Output:
    """One output: a plain value, a link to a file, or a STAC catalog (with its items)."""

    id: str
    value: Any = None
    href: str | None = None
    type: str | None = None
    catalog: str | None = None
    items: list[Item] = field(default_factory=list)
    truncated: bool = False
    # A plain directory output (its route lists files, not STAC): each file's path, href
    # and media type.
    files: list[dict[str, str]] | None = None

    @property
    def shown_value(self) -> str:
        if isinstance(self.value, str):
            return self.value
        return json.dumps(self.value, indent=2)


def outputs_of(document: Any, results_url: str) -> list[Output]:
    """The outputs of a results document. ``results_url`` is the document's own URL: an
    output whose link is ``<results_url>/<output id>`` is one of the server's STAC catalog
    routes, as is (under wps3) a value naming a ``StacCatalogUri``."""
    if isinstance(document, Mapping) and isinstance(document.get("outputs"), list):
        pairs = [(o.get("id", ""), o.get("value")) for o in document["outputs"]
                 if isinstance(o, Mapping)]  # fmt: skip
    elif isinstance(document, Mapping):
        pairs = [(k, v) for k, v in document.items() if k != "links"]
    else:  # a raw single value
        pairs = [("result", document)]
    outputs = []
    for output_id, value in pairs:
        route = f"{results_url}/{output_id}"
        if isinstance(value, Mapping) and isinstance(value.get("inlineValue"), str):
            if "StacCatalogUri" in value["inlineValue"]:
                outputs.append(Output(output_id, catalog=route))
                continue
            value = value["inlineValue"]
        if isinstance(value, Mapping) and isinstance(value.get("href"), str):
            href = value["href"]
            if href.split("?", 1)[0] == route and "json" in str(value.get("type", "json")):
                outputs.append(Output(output_id, href=href, type=value.get("type"),
                                      catalog=href))  # fmt: skip
            else:
                outputs.append(Output(output_id, href=href, type=value.get("type")))
            continue
        output = Output(output_id, value=value)
        inner = value.get("value") if isinstance(value, Mapping) else None
        if isinstance(inner, Mapping) and inner.get("type") == "FeatureCollection":
            output.items = [i for f in inner.get("features", []) if (i := item_of(f, ""))]
        outputs.append(output)
    return outputs


def links_of(*documents: Any, rel: str) -> list[dict[str, str]]:
    """The links of relation ``rel`` in the documents' ``links`` (each href once)."""
    found, seen = [], set()
    for document in documents:
        links = document.get("links") if isinstance(document, Mapping) else None
        for entry in links if isinstance(links, list) else []:
            if isinstance(entry, Mapping) and entry.get("rel") == rel and entry.get("href"):
                if entry["href"] not in seen:
                    seen.add(entry["href"])
                    found.append(dict(entry))
    return found


def item_of(document: Any, href: str) -> Item | None:
    """A STAC Item (a GeoJSON Feature) as the page draws it; None for anything else."""
    if not isinstance(document, Mapping) or document.get("type") != "Feature":
        return None
    properties = document.get("properties") or {}
    assets = []
    for key, asset in (document.get("assets") or {}).items():
        if isinstance(asset, Mapping) and isinstance(asset.get("href"), str):
            assets.append(
                Asset(
                    key=str(key),
                    href=asset["href"],
                    title=str(asset.get("title") or key),
                    type=str(asset.get("type") or ""),
                    roles=tuple(str(r) for r in asset.get("roles") or ()),
                )
            )
    self_link = links_of(document, rel="self")
    return Item(
        id=str(document.get("id", "")),
        title=str(properties.get("title") or document.get("id", "")),
        href=self_link[0]["href"] if self_link else href,
        datetime=str(properties.get("datetime") or properties.get("start_datetime") or ""),
        footprint=footprint(document.get("geometry")),
        assets=tuple(assets),
    )


async def walk(output: Output, fetch: Fetch, within: str) -> None:
    """Fill ``output.items`` with the items of its catalog, following ``child`` and
    ``item`` links that stay under ``within`` (the job's results route), breadth first,
    each document once, at most MAX_DOCUMENTS of them."""
    if output.catalog is None:
        return
    queue, seen = [output.catalog], {output.catalog}
    read = 0
    while queue:
        if read >= MAX_DOCUMENTS:
            output.truncated = True
            return
        href = queue.pop(0)
        document = await fetch(href)
        read += 1
        if read == 1 and _is_listing(document):
            output.files = [dict(f) for f in document["files"] if isinstance(f, Mapping)]
            return
        item = item_of(document, href)
        if item is not None:
            output.items.append(item)
            continue
        for rel in ("item", "child"):
            for entry in links_of(document, rel=rel):
                target = entry["href"]
                if target.startswith(within) and target not in seen:
                    seen.add(target)
                    queue.append(target)


def _is_listing(document: Any) -> bool:
    """The file list the results route gives for a plain directory output."""
    return (isinstance(document, Mapping) and document.get("type") == "Directory"
            and isinstance(document.get("files"), list))  # fmt: skip
