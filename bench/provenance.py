"""What keeping a job's provenance costs: the same synchronous jobs through one server in a
workspace that keeps provenance (the default) and in one that opts out
(``provenance: false``), interleaved; the demo ``echo`` and a three-step workflow with a
scatter whose outputs are files. Prints the medians, their ratio, and the bytes stored per
job (the results, and the provenance zip beside them).

    .venv/bin/python bench/provenance.py            # --runs N
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import requests
from live_server import running

from ades.settings import Settings

REPO = Path(__file__).resolve().parents[1]
ECHO = REPO / "workspaces" / "demo" / "processes" / "echo.cwl"
THREE_STEPS = Path(__file__).resolve().parent / "packages" / "three_steps.cwl"
_jobs = itertools.count()


def job(base: str, workspace: str, process: str) -> tuple[float, str]:
    """Seconds a synchronous execute took, and the job's id."""
    n = next(_jobs)
    inputs = ({"stringInput": f"hello provenance {n}"} if process == "echo"
              else {"words": ["alpha", "beta", "gamma", f"job{n}"]})  # fmt: skip
    start = time.perf_counter()
    r = requests.post(f"{base}/{workspace}/ogc-api/processes/{process}/execution",
                      json={"inputs": inputs, "response": "document"}, timeout=120)
    elapsed = time.perf_counter() - start
    assert r.status_code == 200, r.text
    jobs = requests.get(f"{base}/{workspace}/ogc-api/jobs", params={"limit": 1}, timeout=30)
    return elapsed, jobs.json()["jobs"][0]["jobID"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for workspace in ("kept", "off"):
            processes = root / "workspaces" / workspace / "processes"
            processes.mkdir(parents=True)
            shutil.copy(ECHO, processes)
            shutil.copy(THREE_STEPS, processes)
        (root / "workspaces" / "off" / "settings.yaml").write_text("provenance: false\n")
        settings = Settings(data_dir=root / "data", workspaces=root / "workspaces", cache=False)
        with running(settings) as (server, base):
            objects = server.services.objects
            for workspace in ("kept", "off"):  # warm-up
                job(base, workspace, "echo")
                job(base, workspace, "three_steps")
            for process in ("echo", "three_steps"):
                times: dict[str, list[float]] = {"kept": [], "off": []}
                stored: dict[str, list[int]] = {"results": [], "provenance": []}
                for _ in range(args.runs):
                    for workspace in ("kept", "off"):
                        elapsed, job_id = job(base, workspace, process)
                        times[workspace].append(elapsed)
                        if workspace == "kept":
                            sizes = objects.sizes(f"kept/jobs/{job_id}/")
                            zipped = f"kept/jobs/{job_id}/provenance/ro-crate.zip"
                            stored["provenance"].append(sizes.pop(zipped, 0))
                            stored["results"].append(sum(sizes.values()))
                kept, off = statistics.median(times["kept"]), statistics.median(times["off"])
                print(f"{process}, {args.runs} synchronous jobs each, interleaved")
                for name, median in (("provenance kept", kept), ("provenance off ", off)):
                    all_ = ", ".join(f"{t:.3f}" for t in times[name.split()[1]])
                    print(f"  {name}: median {median:.3f} s  (all: {all_})")
                print(f"  ratio kept/off: {kept / off:.2f}  (+{(kept - off) * 1000:.0f} ms a job)")
                print(f"  stored per job: results {statistics.median(stored['results']):.0f} B,"
                      f" provenance zip {statistics.median(stored['provenance']):.0f} B")


if __name__ == "__main__":
    main()
