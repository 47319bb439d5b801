"""The CWL package of a process page, highlighted on the server with Pygments (its YAML or
JSON lexer): the page needs no script for it, and the colours are the stylesheet's
``.code .k``, ``.code .s``… rules, not inline styles (the pages' CSP forbids those)."""

from __future__ import annotations

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import JsonLexer, YamlLexer

# Past this size a package is shown as plain text: lexing a huge document would hold the
# page for nothing anyone reads.
LARGEST = 512 * 1024


def highlighted(text: str, media_type: str) -> Markup:
    """``text`` (a CWL document of ``media_type``) as escaped HTML with token spans."""
    if len(text) > LARGEST:
        return Markup.escape(text)
    lexer = JsonLexer() if "json" in media_type else YamlLexer()
    return Markup(highlight(text, lexer, HtmlFormatter(nowrap=True)))
