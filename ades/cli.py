"""The ``ades`` command: ``ades serve`` starts the server with the workspaces in a folder;
``ades worker`` runs the jobs queued on the broker (ADES_EXECUTOR=celery); ``ades db
upgrade`` and ``ades db current`` migrate its database and say where it stands; ``ades
token create|list|revoke`` manage the API tokens of ADES_AUTH=token. ``ades processes``,
``describe``, ``deploy``, ``execute``, ``status``, ``watch``, ``logs``, ``results`` and
``dismiss`` are a client of any OGC API - Processes server (ades.client)."""

from __future__ import annotations

import argparse
import faulthandler
import logging
import os
import signal
import socket
import sys
from pathlib import Path

from sqlalchemy.exc import OperationalError

from ades import serve as serving
from ades.auth.tokens import TokenStore
from ades.client import arguments as client
from ades.db import migrate
from ades.db.schema import make_engine
from ades.errors import DatabaseNotCurrent
from ades.settings import Settings
from ades.workspaces import Workspaces


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ades", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the server")
    serve.add_argument("--host", help="address to bind (ADES_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (ADES_PORT, default 8000)")
    serve.add_argument("--data-dir", type=Path, help="jobs, database, embedded S3 (ADES_DATA_DIR)")
    serve.add_argument("--workspaces", type=Path, help="folder of workspaces (ADES_WORKSPACES)")
    serve.add_argument(
        "--workers", type=int, help="processes answering requests (ADES_WORKERS, default: cores)"
    )
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
    token = commands.add_parser(
        "token", help="API tokens of ADES_AUTH=token: create, list, revoke",
        description="API tokens in the database of ADES_DATABASE_URL (or the SQLite file in "
        "the data dir); they take effect at once, on running servers too.",
    )
    token.add_argument("--data-dir", type=Path, help="where the SQLite database is (ADES_DATA_DIR)")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser(
        "create", help="make a token of a workspace; it is printed once, on the last line"
    )
    create.add_argument("--workspace", required=True, help="the workspace the token may use")
    create.add_argument("--name", default="", help="what the token is for, shown by list")
    create.add_argument("--expires", type=float, metavar="DAYS", help="days until it expires")
    listing = token_commands.add_parser("list", help="the tokens (never their secrets)")
    listing.add_argument("--workspace", help="only this workspace's tokens")
    revoke = token_commands.add_parser("revoke", help="delete a token: it stops working at once")
    revoke.add_argument("id", help="the token's id, as list shows it")
    client.add_commands(commands)
    args = parser.parse_args(argv)
    if args.command in client.COMMANDS:
        sys.exit(client.run(args))

    try:
        if args.command == "db":
            database(args.db_command, Settings.from_env(data_dir=args.data_dir))
        elif args.command == "token":
            tokens(parser, args, Settings.from_env(data_dir=args.data_dir))
        elif args.command == "worker":
            run_worker(parser, args)
        else:
            logging.basicConfig(
                level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
            )
            serving.serve(
                Settings.from_env(
                    host=args.host, port=args.port, data_dir=args.data_dir,
                    workspaces=args.workspaces, workers=args.workers,
                )
            )
    except (DatabaseNotCurrent, ValueError, FileNotFoundError, OperationalError) as err:
        # The operator's next step, in one line: a traceback would bury it.
        # (The settings are read again only for a database that did not answer: a
        # ValueError may be theirs.)
        url = ""
        if isinstance(err, OperationalError):
            url = Settings.from_env(data_dir=getattr(args, "data_dir", None)).database
        sys.exit(f"ades: {serving.startup_failure(err, url)}")


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


def tokens(parser: argparse.ArgumentParser, args: argparse.Namespace, settings: Settings) -> None:
    """``ades token create|list|revoke`` against the database, which must be current."""
    if args.token_command == "create" and args.expires is not None and args.expires <= 0:
        parser.error(f"--expires {args.expires:g}: a token lasts more than 0 days")
    if settings.database.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database)
    where = engine.url.render_as_string(hide_password=True)
    try:
        migrate.prepare_database(engine)
        store = TokenStore(engine)
        if args.token_command == "create":
            if not Workspaces(settings.workspaces).has(args.workspace):
                parser.error(
                    f"--workspace {args.workspace}: no such workspace in {settings.workspaces}"
                )
            record, secret = store.create(args.workspace, args.name, args.expires)
            until = "no expiry"
            if record.expires:
                until = f"expires {record.expires:%Y-%m-%d %H:%M} UTC"
            print(f"token {record.id} of workspace {record.workspace} ({until}); it is shown "
                  "once, keep it now:")
            print(secret)
        elif args.token_command == "list":
            rows = store.list(args.workspace)
            print(f"{'ID':<16}  {'WORKSPACE':<16}  {'CREATED':<16}  {'EXPIRES':<16}  NAME")
            for r in rows:
                expires = f"{r.expires:%Y-%m-%d %H:%M}" if r.expires else "never"
                if r.expired:
                    expires += " (expired)"
                print(f"{r.id:<16}  {r.workspace:<16}  {r.created:%Y-%m-%d %H:%M}  "
                      f"{expires:<16}  {r.name}")
        else:
            record = store.revoke(args.id)
            if record is None:
                sys.exit(f"ades: no token {args.id} in {where}")
            print(f"revoked token {record.id} of workspace {record.workspace}")
    except OperationalError as err:
        sys.exit(f"ades: cannot use the database {where}: {str(err.orig).strip()}")
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
