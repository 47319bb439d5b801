"""What the result cache saves: a job end to end through HTTP (synchronous execute to the
results document) when an identical earlier job's results are reused, against the same job
run afresh (``Cache-Control: no-cache``: its inputs are fingerprinted all the same),
interleaved in one run on this machine. Two processes of the demo workspace: `echo` (the
server's own overhead, nothing to compute) and `ndvi` (two bands from S3, a COG and its
STAC catalog out). Prints medians and their ratio.

    make bench            # or: .venv/bin/python bench/cache.py --runs 7
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import requests
from live_server import running

from ades.settings import Settings

REPO = Path(__file__).resolve().parents[1]
REQUESTS = {
    "echo": {"inputs": {"stringInput": "hello bench"}},
    "ndvi": {"inputs": {"red": {"href": "s3://ades/demo/data/B04.tif"},
                        "nir": {"href": "s3://ades/demo/data/B08.tif"}}},
}


def execute(base: str, process: str, fresh: bool) -> tuple[float, dict]:
    """Seconds from the execute request to the results document, and the document."""
    headers = {"Cache-Control": "no-cache"} if fresh else {}
    start = time.perf_counter()
    r = requests.post(f"{base}/demo/ogc-api/processes/{process}/execution",
                      json={**REQUESTS[process], "response": "document"},
                      headers=headers, timeout=300)
    elapsed = time.perf_counter() - start
    assert r.status_code == 200, r.text
    return elapsed, r.json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = max(parser.parse_args().runs, 3)
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", workspaces=REPO / "workspaces")
        with running(settings) as (_, base):
            for process in REQUESTS:
                _, first = execute(base, process, fresh=True)  # warm-up, and the source
                for _ in range(runs):
                    for kind, fresh in (("fresh", True), ("cached", False)):
                        elapsed, results = execute(base, process, fresh)
                        assert results.keys() == first.keys(), results
                        times.setdefault((process, kind), []).append(elapsed)
    print(f"sync execute to results document, {runs} runs each, interleaved")
    for process in REQUESTS:
        fresh = statistics.median(times[(process, "fresh")])
        cached = statistics.median(times[(process, "cached")])
        for kind, median in (("fresh ", fresh), ("cached", cached)):
            every = ", ".join(f"{t:.2f}" for t in times[(process, kind.strip())])
            print(f"  {process} {kind}: median {median:.2f} s  (all: {every})")
        print(f"  {process} ratio fresh/cached: {fresh / cached:.1f}")


if __name__ == "__main__":
    main()
