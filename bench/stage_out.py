"""Stage-out against a bare boto3 managed upload: the server's stage-out (``stage_out``, the
code a job's end runs) and boto3's ``upload_file`` with its default TransferConfig, one file
after another, upload the same files to the same S3 (a SeaweedFS started here), each to a
fresh prefix, interleaved in one run (which goes first alternates). Two cases: one big file,
and many files of 16 MiB in one Directory output. Prints medians and their ratio (the
server's time / boto3's: below 1.0 the server is faster). The files are random bytes made
in a temporary folder, removed at the end with the S3 data.

Then the cost of the quicklooks: the stage-out of a Directory holding one 2000 x 2000 3-band
GeoTIFF (described by the server, as a package that writes no catalog gets), with and without
quicklooks, interleaved; once a plain tiled GeoTIFF (no overviews: the quicklook decimates the
full resolution) and once a COG (read from its overviews). Prints medians and their ratio
(with / without). ``--quicklook-only`` runs only these.

    .venv/bin/python bench/stage_out.py --big-mib 1024 --files 64 --runs 3
    .venv/bin/python bench/stage_out.py --quicklook-only --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import numpy as np
import rasterio
import requests
from affine import Affine
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from ades.objectstore.s3 import S3ObjectStore
from ades.objectstore.seaweedfs import EmbeddedSeaweedFS
from ades.staging.stage_out import stage_out

MIB = 1024 * 1024
BUCKET = "bench"


def random_file(path: Path, size: int) -> Path:
    with open(path, "wb") as out:
        for start in range(0, size, 16 * MIB):
            out.write(os.urandom(min(16 * MIB, size - start)))
    return path


def cwl(path: Path) -> dict:
    kind = "Directory" if path.is_dir() else "File"
    return {"class": kind, "location": path.as_uri(), "path": str(path), "basename": path.name}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-mib", type=int, default=1024, help="size of the one big file")
    parser.add_argument("--files", type=int, default=64, help="how many 16 MiB files")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quicklook-only", action="store_true",
                        help="only the cost of the quicklooks")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        s3 = EmbeddedSeaweedFS(root / "s3", "bench", "bench-secret")
        s3.start()
        try:
            store = S3ObjectStore(s3.endpoint, "bench", "bench-secret", BUCKET)
            store.wait_usable()
            if args.quicklook_only:
                quicklooks(store, root, args.runs)
                return
            # What talking to SeaweedFS needs (path-style, checksums only where required);
            # everything else as boto3 comes.
            client = boto3.client(
                "s3", endpoint_url=s3.endpoint, aws_access_key_id="bench",
                aws_secret_access_key="bench-secret", region_name="us-east-1",
                config=Config(s3={"addressing_style": "path"},
                              request_checksum_calculation="when_required",
                              response_checksum_validation="when_required"))
            default = TransferConfig()
            vacuum = f"http://127.0.0.1:{s3.ports[0]}/vol/vacuum?garbageThreshold=0.0001"

            big = random_file(root / "big.bin", args.big_mib * MIB)
            many = root / "many"
            many.mkdir()
            for i in range(args.files):
                random_file(many / f"part-{i:03d}.bin", 16 * MIB)
            cases = {
                f"1 file of {args.big_mib} MiB": {"out": cwl(big)},
                f"{args.files} files of 16 MiB": {"out": cwl(many)},
            }
            files = {name: _files(outputs["out"]) for name, outputs in cases.items()}

            def server(name: str, prefix: str) -> None:
                stage_out(cases[name], store, prefix)

            def bare(name: str, prefix: str) -> None:
                for path, rel in files[name]:
                    client.upload_file(str(path), BUCKET, f"{prefix}/{rel}", Config=default)

            sides: dict[str, Callable[[str, str], None]] = {
                "server stage_out": server, "boto3 upload_file": bare}
            # The bucket's first writes make its volumes: a warm-up, untimed, by both sides.
            warm = random_file(root / "warm.bin", 32 * MIB)
            stage_out({"out": cwl(warm)}, store, "warm")
            client.upload_file(str(warm), BUCKET, "warm/again", Config=default)
            store.delete_prefix("warm/")
            times: dict[tuple[str, str], list[float]] = {}
            count = 0
            for run in range(args.runs):
                for name in cases:
                    order = list(sides) if run % 2 == 0 else list(sides)[::-1]
                    for side in order:
                        count += 1
                        prefix = f"run{count}"
                        start = time.perf_counter()
                        sides[side](name, prefix)
                        times.setdefault((name, side), []).append(time.perf_counter() - start)
                        stored = store.sizes(prefix + "/")
                        expected = sum(p.stat().st_size for p, _ in files[name])
                        assert sum(stored.values()) == expected, (side, name, stored)
                        store.delete_prefix(prefix + "/")
                        requests.get(vacuum, timeout=600)  # keeps the disk used bounded

            print(f"stage-out to a local SeaweedFS, {args.runs} interleaved runs, medians")
            for name in cases:
                ours = statistics.median(times[(name, "server stage_out")])
                theirs = statistics.median(times[(name, "boto3 upload_file")])
                size = sum(p.stat().st_size for p, _ in files[name]) / MIB
                print(f"  {name:<20} server {ours:6.2f} s ({size / ours:6.0f} MiB/s)  "
                      f"boto3 {theirs:6.2f} s ({size / theirs:6.0f} MiB/s)  "
                      f"ratio {ours / theirs:.2f}", flush=True)
            quicklooks(store, root, args.runs)
        finally:
            s3.stop()


def geotiff(path: Path, cog: bool) -> Path:
    """A 2000 x 2000 3-band uint16 GeoTIFF of smooth fields with noise, deflated."""
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:2000, 0:2000]
    data = np.stack([(np.sin(x / (150 + 40 * b)) + np.cos(y / 210)) * 800 + 2000
                     + rng.normal(0, 60, (2000, 2000)) for b in range(3)]).astype(np.uint16)
    profile = {"driver": "COG" if cog else "GTiff", "width": 2000, "height": 2000, "count": 3,
               "dtype": "uint16", "crs": "EPSG:32631", "compress": "deflate",
               "transform": Affine(10, 0, 500_000, 0, -10, 5_700_000)}
    if not cog:
        profile.update(tiled=True, blockxsize=512, blockysize=512)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


def quicklooks(store: S3ObjectStore, root: Path, runs: int) -> None:
    """The stage-out of one raster with and without its quicklook, interleaved; medians."""
    print(f"quicklook cost: stage-out of a Directory with one 2000 x 2000 3-band GeoTIFF, "
          f"{runs} interleaved runs, medians", flush=True)
    for cog in (False, True):
        source = geotiff(root / f"source-{cog}.tif", cog)
        times: dict[bool, list[float]] = {True: [], False: []}
        for run in range(runs):
            for looks in (True, False) if run % 2 == 0 else (False, True):
                # A fresh folder (the raster linked in) each time: stage-out writes the
                # catalog it describes the raster with into the folder.
                folder = root / f"raster-{run}-{looks}-{cog}"
                folder.mkdir()
                os.link(source, folder / "scene.tif")
                prefix = f"looks{run}{looks}{cog}"
                start = time.perf_counter()
                stage_out({"out": cwl(folder)}, store, prefix, quicklooks=looks)
                times[looks].append(time.perf_counter() - start)
                names = {k.rsplit("/", 1)[-1] for k in store.list_keys(prefix + "/")}
                assert ("scene.thumbnail.png" in names) == looks, names
                store.delete_prefix(prefix + "/")
        with_, without = statistics.median(times[True]), statistics.median(times[False])
        name = "COG with overviews" if cog else "GeoTIFF, no overviews"
        size = source.stat().st_size / MIB
        print(f"  {name:<22} ({size:4.1f} MiB)  with quicklook {with_:6.3f} s  "
              f"without {without:6.3f} s  ratio {with_ / without:.2f}", flush=True)


def _files(value: dict) -> list[tuple[Path, str]]:
    """Each local file of a CWL File or Directory, with the key stage_out gives it under
    the output's prefix."""
    path = Path(value["path"])
    if path.is_file():
        return [(path, f"out/{path.name}")]
    return [(p, f"out/{path.name}/{p.relative_to(path).as_posix()}")
            for p in sorted(path.rglob("*")) if p.is_file()]


if __name__ == "__main__":
    sys.exit(main())
