"""The client's subcommands of ``ades`` (argparse), and running one: ades/cli.py adds
them next to ``serve``, ``worker``, ``db`` and ``token`` and hands their arguments here."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ades.client import commands
from ades.client.commands import LEVELS, Context
from ades.client.http import EXIT_OK, EXIT_USAGE, Api, ClientError, UsageError
from ades.client.view import console

COMMANDS = ("processes", "describe", "deploy", "execute", "status", "watch", "logs",
            "results", "dismiss")

EPILOG = """\
exit codes: 0 done (a job: successful), 1 the job failed, 2 usage error, 3 the job was
dismissed, 4 the job has not ended (accepted or running), 5 the server refused the request
(an HTTP error: its problem title and detail are printed), 6 the server could not be
reached."""


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """The client subcommands, each with the common options --url, --token, --json."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url", default=os.environ.get("ADES_URL"),
        help="the OGC API - Processes root, e.g. http://127.0.0.1:8000/demo/ogc-api "
             "(ADES_URL)",
    )
    common.add_argument("--token", default=os.environ.get("ADES_TOKEN"),
                        help="a bearer token, sent to that server only (ADES_TOKEN)")
    common.add_argument("--json", action="store_true", dest="as_json",
                        help="print the server's JSON documents instead of text")

    def add(name: str, help: str) -> argparse.ArgumentParser:
        return subparsers.add_parser(name, help=help, description=help[0].upper() + help[1:]
                                     + ".", parents=[common], epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)

    add("processes", "list the processes of the API")
    add("describe", "describe a process: its inputs and outputs").add_argument(
        "process", help="the process id")
    deploy = add("deploy", "deploy a CWL application package (OGC API - Processes Part 2)")
    deploy.add_argument("file", type=Path, help="the CWL file (.cwl/.yaml, or .json)")
    deploy.add_argument("--replace", action="store_true",
                        help="replace the deployed process of the same id (PUT)")
    deploy.add_argument("--id", dest="process_id",
                        help="the id to replace, when the package does not say it plainly")
    execute = add("execute", "run a process: asynchronously (prints the job URL), or --sync")
    execute.add_argument("process", help="the process id")
    execute.add_argument(
        "-i", "--input", action="append", default=[], metavar="NAME=VALUE", dest="inputs",
        help="an input; VALUE is JSON when it parses as a number, boolean, array or object, "
             "else text; NAME=@URL is a link ({\"href\": URL}), NAME=@FILE.json a local JSON "
             "value; a NAME given again makes an array",
    )
    how = execute.add_mutually_exclusive_group()
    how.add_argument("--sync", action="store_true",
                     help="wait for the results (Prefer: wait) and print them")
    how.add_argument("--watch", action="store_true",
                     help="follow the job to its end (as ades watch), then print its results")
    add("status", "a job's status; the exit code says it").add_argument(
        "job", help="the job id, or its URL")
    add("watch", "follow a job to its end: progress, current step, logs").add_argument(
        "job", help="the job id, or its URL")
    logs = add("logs", "a job's log entries")
    logs.add_argument("job", help="the job id, or its URL")
    logs.add_argument("--follow", "-f", action="store_true",
                      help="keep printing new entries until the job ends")
    logs.add_argument("--level", choices=LEVELS, help="only entries of this level and above")
    results = add("results", "a job's results, or --download every file they reference")
    results.add_argument("job", help="the job id, or its URL")
    results.add_argument("--download", type=Path, metavar="DIR",
                         help="fetch every result file into DIR (resumes what is there)")
    results.add_argument("--parallel", type=int, default=4, metavar="N",
                         help="files fetched at once (default 4)")
    add("dismiss", "dismiss a job: stop it, or delete its results").add_argument(
        "job", help="the job id, or its URL")


def run(args: argparse.Namespace) -> int:
    """The exit code of the client command ``args`` asks for; errors as one line on
    stderr (``ades: ...``), never a traceback."""
    try:
        inputs = commands.parse_inputs(args.inputs) if args.command == "execute" else {}
        if args.command == "results" and args.parallel < 1:
            raise UsageError(f"--parallel {args.parallel}: at least 1")
        ctx = Context(Api(args.url, args.token), args.as_json, console().is_terminal)
        if args.command == "processes":
            return commands.processes(ctx)
        if args.command == "describe":
            return commands.describe(ctx, args.process)
        if args.command == "deploy":
            return commands.deploy(ctx, args.file, args.replace, args.process_id)
        if args.command == "execute":
            return commands.execute(ctx, args.process, inputs, args.sync, args.watch)
        if args.command == "status":
            return commands.status(ctx, args.job)
        if args.command == "watch":
            return commands.watch(ctx, args.job)
        if args.command == "logs":
            return commands.logs(ctx, args.job, args.follow, args.level)
        if args.command == "results":
            return commands.results(ctx, args.job, args.download, args.parallel)
        return commands.dismiss(ctx, args.job)
    except ClientError as err:
        where = f"ades {args.command}: error" if err.code == EXIT_USAGE else "ades"
        print(f"{where}: {err}", file=sys.stderr)
        return err.code
    except KeyboardInterrupt:
        print("ades: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`ades watch JOB | head`): no traceback, and no second
        # error when Python flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
