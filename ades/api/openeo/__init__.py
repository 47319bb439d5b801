"""The openEO API 1.2 of a workspace (``openapi/openeo.yaml``): its own handlers and
renderers over the same services as the OGC roots."""
