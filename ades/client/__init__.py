"""The ``ades`` command-line client: OGC API - Processes (Parts 1 and 2) over HTTP, for any
server that speaks it (this one, pygeoapi, ...). It knows nothing of the server's code: only
the documents and links of the standard, and the server-sent events of a job when the server
offers them."""
