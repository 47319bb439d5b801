"""The HTML pages: server-rendered views of the API's own JSON documents for people using a
browser (``HtmlPages`` in ``pages``), with their templates, stylesheet and scripts."""
