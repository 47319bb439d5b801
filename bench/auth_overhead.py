"""What authentication costs a request: the same reads (a job's status document, the process
list) from a server without authentication and from one with ADES_AUTH=token (an API token
looked up in the database on each request), interleaved in one run. Prints requests per
second of each and the ratio token/none (1.0: free).

    make bench            # or: .venv/bin/python bench/auth_overhead.py --requests 2000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import requests
from live_server import running

from ades.auth.tokens import TokenStore
from ades.objectstore.seaweedfs import EmbeddedSeaweedFS
from ades.settings import Settings

REPO = Path(__file__).resolve().parents[1]
CLIENTS = 8


def rate(base: str, path: str, headers: dict[str, str], count: int) -> float:
    """Requests per second for ``count`` GETs of ``path`` over CLIENTS connections."""

    def client(n: int) -> None:
        with requests.Session() as http:
            http.headers.update(headers)
            for _ in range(n):
                r = http.get(base + path)
                assert r.status_code == 200, r.text

    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, [count // CLIENTS] * CLIENTS))
    return (count // CLIENTS * CLIENTS) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1600, help="GETs per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        s3 = EmbeddedSeaweedFS(root / "s3", "bench", "bench-secret")
        s3.start()
        try:
            base = Settings(
                workspaces=REPO / "workspaces", s3_endpoint=s3.endpoint,
                s3_access_key="bench", s3_secret_key="bench-secret", max_jobs=2,
            )
            none = replace(base, data_dir=root / "none")
            token = replace(base, data_dir=root / "token", auth="token", allow_uncontained=True)
            with running(none) as (_, open_url), running(token) as (server, token_url):
                secret = TokenStore(server.services.database).create("demo", "bench")[1]
                auth = {"Authorization": f"Bearer {secret}"}
                jobs = {}
                for url, headers in ((open_url, {}), (token_url, auth)):
                    r = requests.post(
                        url + "/demo/ogc-api/processes/echo/execution",
                        json={"inputs": {"stringInput": "x"}},
                        headers={**headers, "Prefer": "respond-async"},
                    )
                    jobs[url] = r.headers["Location"].split("/ogc-api", 1)[1]
                for what, path_of in (
                    ("GET /jobs/{id}", lambda url: "/demo/ogc-api" + jobs[url]),
                    ("GET /processes", lambda url: "/demo/ogc-api/processes"),
                ):
                    rates: dict[str, list[float]] = {"none": [], "token": []}
                    for _ in range(args.rounds):
                        rates["none"].append(rate(open_url, path_of(open_url), {}, args.requests))
                        rates["token"].append(
                            rate(token_url, path_of(token_url), auth, args.requests)
                        )
                    best = {k: max(v) for k, v in rates.items()}
                    print(
                        f"auth {what}: none {best['none']:.0f} req/s, token "
                        f"{best['token']:.0f} req/s, ratio token/none "
                        f"{best['token'] / best['none']:.2f} ({CLIENTS} clients, best of "
                        f"{args.rounds} interleaved rounds of {args.requests})"
                    )
        finally:
            s3.stop()


if __name__ == "__main__":
    main()
