"""What parallel stage-in buys: one STAC item with many assets staged in from a local HTTP
server that answers each request after a fixed latency (standing in for a remote archive),
once with one download at a time and once with the default bound, interleaved in one run on
this machine. Prints medians and their ratio.

    .venv/bin/python bench/stage_in.py --assets 24 --latency 0.05 --runs 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ades.objectstore.s3 import S3ObjectStore
from ades.staging.stage_in import StageIn

PAYLOAD = bytes(range(256)) * 256  # 64 KiB per asset


def serve(latency: float, assets: int) -> tuple[ThreadingHTTPServer, str]:
    class Archive(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            time.sleep(latency)  # the simulated archive's latency, not a synchronisation
            if self.path == "/item.json":
                body = json.dumps(item(base, assets)).encode()
            else:
                body = PAYLOAD
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Archive)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    return httpd, base


def item(base: str, assets: int) -> dict:
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "bench",
        "geometry": None,
        "properties": {"datetime": "2024-01-01T00:00:00Z"},
        "links": [],
        "assets": {f"A{i:02d}": {"href": f"{base}/A{i:02d}.bin"} for i in range(assets)},
    }


def timed(stage_in: StageIn, href: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        stage_in({"scene": {"class": "Directory", "location": href}}, Path(tmp))
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", type=int, default=24)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    # Only http inputs are read: the store is never contacted.
    objects = S3ObjectStore("http://127.0.0.1:1", "unused", "unused", "unused")
    httpd, base = serve(args.latency, args.assets)
    one, bounded = StageIn(objects, concurrency=1), StageIn(objects)
    try:
        serial, parallel = [], []
        for _ in range(args.runs):
            serial.append(timed(one, f"{base}/item.json"))
            parallel.append(timed(bounded, f"{base}/item.json"))
    finally:
        httpd.shutdown()
    s, p = statistics.median(serial), statistics.median(parallel)
    print(f"{args.assets} assets, {args.latency * 1000:.0f} ms latency each, {args.runs} runs")
    print(f"{'1 download at a time:':<24} {s:.3f} s (median)")
    print(f"{f'{bounded.concurrency} downloads at a time:':<24} {p:.3f} s (median)")
    print(f"speed-up: {s / p:.1f}x")


if __name__ == "__main__":
    main()
