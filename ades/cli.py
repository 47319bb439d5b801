"""The ``ades`` command: ``ades serve`` starts the server with the workspaces in a folder;
``ades worker`` runs the jobs queued on the broker (ADES_EXECUTOR=celery)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import uvicorn

from ades.app import Server, create_app
from ades.settings import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ades", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the server")
    serve.add_argument("--host", help="address to bind (ADES_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (ADES_PORT, default 8000)")
    serve.add_argument("--data-dir", type=Path, help="jobs, database, embedded S3 (ADES_DATA_DIR)")
    serve.add_argument("--workspaces", type=Path, help="folder of workspaces (ADES_WORKSPACES)")
    worker = commands.add_parser(
        "worker", help="run the jobs queued on the broker (needs ADES_EXECUTOR=celery)"
    )
    worker.add_argument(
        "--concurrency", type=int, help="jobs run at once (default: ADES_MAX_JOBS)"
    )
    worker.add_argument("--data-dir", type=Path, help="job working dirs (ADES_DATA_DIR)")
    worker.add_argument("--workspaces", type=Path, help="folder of workspaces (ADES_WORKSPACES)")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command == "worker":
        run_worker(parser, args)
        return
    settings = Settings.from_env(
        host=args.host, port=args.port, data_dir=args.data_dir, workspaces=args.workspaces
    )
    server = create_app(settings)
    print(banner(settings, server), flush=True)
    try:
        uvicorn.run(server.app, host=settings.host, port=settings.port, log_level="info")
    finally:
        server.close()


def run_worker(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """`ades worker`: the services without HTTP, and a Celery worker feeding them jobs."""
    settings = Settings.from_env(data_dir=args.data_dir, workspaces=args.workspaces)
    if settings.executor != "celery":
        parser.error(
            f"ades worker runs jobs queued on a broker: set ADES_EXECUTOR=celery "
            f"(it is {settings.executor!r}) and ADES_BROKER_URL"
        )
    concurrency = settings.max_jobs if args.concurrency is None else args.concurrency
    if concurrency < 1:
        parser.error(f"--concurrency {concurrency}: a worker runs at least 1 job at once")
    # Imported here: `ades serve` with the local executor needs no Celery.
    from ades.execution.celery_executor import celery_app, consume_jobs
    from ades.services import build_services

    try:
        celery_app(settings)  # a wrong broker URL stops the start before anything starts
    except ValueError as err:
        parser.error(str(err))
    services = build_services(settings)
    try:
        consume_jobs(services, concurrency)
    finally:
        services.close()


def banner(settings: Settings, server: Server) -> str:
    """What `ades serve` prints at start: where to go. The credentials of the S3 only when
    it is the embedded one, which the server made with them; an external S3's secret is
    its operator's, and a terminal or a log is no place for it."""
    base = f"http://{settings.host}:{settings.port}"
    objects = server.services.objects
    workspaces = server.services.processes.workspaces()
    lines = [f"ADES serving workspaces {', '.join(workspaces)} (list: {base}/)"]
    lines += [f"  {base}/{ws}/ogc-api/   {base}/{ws}/wps3/" for ws in workspaces]
    lines.append(f"  API docs: {base}/ui/")
    if settings.s3_endpoint:
        lines.append(f"  S3: {objects.endpoint} bucket={objects.bucket}")
    else:
        lines.append(
            f"  S3 (embedded): {objects.endpoint} bucket={objects.bucket} "
            f"access_key={settings.s3_access_key} secret_key={settings.s3_secret_key}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
