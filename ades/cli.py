"""The ``ades`` command: ``ades serve`` starts the server with the workspaces in a folder;
``ades worker`` runs the jobs queued on the broker (ADES_EXECUTOR=celery); ``ades db
upgrade`` and ``ades db current`` migrate its database and say where it stands."""

from __future__ import annotations

import argparse
import faulthandler
import logging
import os
import signal
import socket
import sys
from pathlib import Path

import uvicorn
from sqlalchemy.exc import OperationalError

from ades.app import Server, create_app
from ades.db import migrate
from ades.db.schema import make_engine
from ades.errors import DatabaseNotCurrent
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
    db = commands.add_parser(
        "db", help="the database schema: upgrade it, or show its revision",
        description="The database of ADES_DATABASE_URL, or the SQLite file in the data dir.",
    )
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply the migrations the database lacks")
    db_commands.add_parser(
        "current", help="print the database's revision; exit 1 unless it is this version's"
    )
    db.add_argument("--data-dir", type=Path, help="where the SQLite database is (ADES_DATA_DIR)")
    args = parser.parse_args(argv)

    try:
        if args.command == "db":
            database(args.db_command, Settings.from_env(data_dir=args.data_dir))
        elif args.command == "worker":
            run_worker(parser, args)
        else:
            logging.basicConfig(
                level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
            )
            serve_until_stopped(
                Settings.from_env(
                    host=args.host, port=args.port, data_dir=args.data_dir,
                    workspaces=args.workspaces,
                )
            )
    except DatabaseNotCurrent as err:
        # The operator's next step, in one line: a traceback would bury it.
        sys.exit(f"ades: {err}")


def serve_until_stopped(settings: Settings) -> None:
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
    from ades.metrics import start_worker_metrics
    from ades.services import build_services

    try:
        celery_app(settings)  # a wrong broker URL stops the start before anything starts
    except ValueError as err:
        parser.error(str(err))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Named for its host and process, not kept in the data dir as a server's id is: workers
    # may share a data dir, and a restarted worker's jobs come back through their leases.
    services = build_services(settings, runner_id=f"worker-{socket.gethostname()}-{os.getpid()}")
    metrics = start_worker_metrics(settings.metrics_port)
    # `kill -USR1 <pid>` prints every thread's stack: a job that seems stuck can be seen.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        consume_jobs(services, concurrency)
    finally:
        if metrics is not None:
            metrics.shutdown()
        services.close()


def database(command: str, settings: Settings) -> None:
    """``ades db upgrade``: migrate the database to this version's schema, saying from which
    revision to which. ``ades db current``: its revision, and whether it is this version's
    (exit status 1 when not, so scripts can test it)."""
    if settings.database.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database)
    where = engine.url.render_as_string(hide_password=True)
    try:
        if command == "upgrade":
            before, after = migrate.upgrade(engine)
            done = f"upgraded from {before or 'none'} to {after}"
            if before == after:
                done = f"at {after} already"
            print(f"database {where}: {done}")
            return
        revision = migrate.current(engine)
        print(f"database {where}: revision {revision or 'none'}", end="")
        if revision == migrate.head():
            print(" (head)")
            return
        print()
        migrate.check_current(engine)
    except OperationalError as err:
        sys.exit(f"ades: cannot use the database {where}: {str(err.orig).strip()}")
    finally:
        engine.dispose()


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
