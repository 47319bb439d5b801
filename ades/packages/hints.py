"""The server's own CWL hints (namespace ``https://ades.dev/cwl#``): schema-salad and cwltool
warn about every hint they do not know, and ours are read by the server, not by them, so
their warnings about ours are noise wherever cwltool runs — in the server and in each run."""

from __future__ import annotations

import logging

NAMESPACE = "https://ades.dev/cwl#"
JOB_CONTROL_HINT = NAMESPACE + "JobControl"
# How the results document shows the process's STAC catalog outputs: ``form: link`` (the
# default, a link to the walkable catalog) or ``form: feature-collection`` (a qualified
# value: the output's items as a GeoJSON FeatureCollection, with the OGC Features schema URL,
# each item linking to the output's STAC Collection; what the APEx dispatcher reads).
STAC_RESULTS_HINT = NAMESPACE + "StacResults"
STAC_RESULTS_FORMS = ("link", "feature-collection")
# ``enabled: false``: the jobs of the process always run, never reusing an earlier job's
# results (a process whose results differ from run to run, or that acts on the world).
CACHE_HINT = NAMESPACE + "Cache"


class _OurHintsAreKnown(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return NAMESPACE not in record.getMessage()


def quiet_about_our_hints() -> None:
    """Drop schema-salad's and cwltool's records about our hints (idempotent)."""
    for name in ("salad", "cwltool"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _OurHintsAreKnown) for f in logger.filters):
            logger.addFilter(_OurHintsAreKnown())
