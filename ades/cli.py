"""The ``ades`` command: ``ades serve`` starts the server with the workspaces in a folder."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import uvicorn

from ades.app import create_app
from ades.settings import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ades", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the server")
    serve.add_argument("--host", help="address to bind (ADES_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (ADES_PORT, default 8000)")
    serve.add_argument("--data-dir", type=Path, help="jobs, database, embedded S3 (ADES_DATA_DIR)")
    serve.add_argument("--workspaces", type=Path, help="folder of workspaces (ADES_WORKSPACES)")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings.from_env(
        host=args.host, port=args.port, data_dir=args.data_dir, workspaces=args.workspaces
    )
    server = create_app(settings)
    base = f"http://{settings.host}:{settings.port}"
    objects = server.services.objects
    print(f"ADES serving workspaces {', '.join(server.services.processes.workspaces())}")
    for ws in server.services.processes.workspaces():
        print(f"  {base}/{ws}/ogc-api/   {base}/{ws}/wps3/")
    print(f"  API docs: {base}/ui/")
    print(
        f"  S3: {objects.endpoint} bucket={objects.bucket} "
        f"access_key={settings.s3_access_key} secret_key={settings.s3_secret_key}"
    )
    try:
        uvicorn.run(server.app, host=settings.host, port=settings.port, log_level="info")
    finally:
        server.close()


if __name__ == "__main__":
    main()
