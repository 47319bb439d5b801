"""Bounds on the YAML (or JSON) text of a CWL package, checked before the loader sees it.
The loader (ruamel.yaml, then schema-salad) walks what an alias names at every alias and
recurses into every level: an alias bomb (a few lines whose anchors expand to billions of
nodes) or a document nested thousands deep would hold a deploy for minutes or blow the
stack. The check reads parser events only: nothing is built, no alias is expanded."""

from __future__ import annotations

import yaml

from ades.errors import InvalidPackage

# Aliases (*name) a package may hold: CWL written by hand rarely uses any.
MAX_ALIASES = 100
# Nodes the document would have with every alias replaced by what it names: far above any
# real package (thousands), far below what slows the loader down.
MAX_NODES = 100_000
# Levels of nested mappings and sequences: real packages stay under twenty.
MAX_DEPTH = 64

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def check_bounds(text: str, name: str) -> None:
    """Raise InvalidPackage, naming ``name`` and the line, when ``text`` holds more than
    MAX_ALIASES aliases, would expand to more than MAX_NODES nodes, or nests deeper than
    MAX_DEPTH. Text that is not YAML is left to the loader, which says what is wrong."""
    # Per open collection: its node count so far, and its anchor.
    sizes: list[int] = []
    anchors_open: list[str | None] = []
    # Expanded node count of each anchored node read so far.
    anchored: dict[str, int] = {}
    aliases = 0

    def add(count: int, event: yaml.Event) -> None:
        if sizes:
            sizes[-1] += count
            if sizes[-1] > MAX_NODES:
                raise InvalidPackage(
                    f"{name}: line {event.start_mark.line + 1}: the document would expand to "
                    f"more than {MAX_NODES} nodes through its YAML aliases"
                )

    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, _OPEN):
                sizes.append(1)
                anchors_open.append(event.anchor)
                if len(sizes) > MAX_DEPTH:
                    raise InvalidPackage(
                        f"{name}: line {event.start_mark.line + 1}: nested deeper than "
                        f"{MAX_DEPTH} levels of mappings and sequences"
                    )
            elif isinstance(event, _CLOSE):
                size, anchor = sizes.pop(), anchors_open.pop()
                if anchor:
                    anchored[anchor] = size
                add(size, event)
            elif isinstance(event, yaml.ScalarEvent):
                if event.anchor:
                    anchored[event.anchor] = 1
                add(1, event)
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise InvalidPackage(
                        f"{name}: line {event.start_mark.line + 1}: more than {MAX_ALIASES} "
                        f"YAML aliases (*{event.anchor})"
                    )
                add(anchored.get(event.anchor or "", 1), event)
    except yaml.YAMLError:
        return  # not YAML: the loader says why, with its own message
