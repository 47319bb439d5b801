"""`ades serve` as a person starts it, through `make run`: it listens where PORT and HOST
say, starts without warnings, and prints the S3 secret only for the embedded S3. `ades db
upgrade` and `ades db current`, and `ades serve` refusing a PostgreSQL schema behind it.
`ades token create|list|revoke` against a running server sharing its database, and `ades
serve` refusing an address other hosts reach without ADES_AUTH."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from ades.auth.tokens import TokenStore
from ades.cli import main
from ades.db import migrate
from ades.db.schema import make_engine
from tests.api.conftest import Live, free_port, poll, serve, server_settings
from tests.db.conftest import POSTGRES, require_postgres

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Started:
    base: str
    stdout: str = ""
    stderr: str = ""


@contextmanager
def make_run(data_dir: Path, env: dict[str, str]) -> Iterator[Started]:
    """`make run PORT=… HOST=…` with this interpreter's `ades` (its venv is already made:
    `-o` keeps make from reinstalling it), stopped with SIGTERM as Ctrl-C would."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ADES_")}
    process = subprocess.Popen(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "run",
         f"BIN={Path(sys.executable).parent}", f"PORT={port}", "HOST=127.0.0.1"],
        cwd=REPO,
        env={**clean, "ADES_DATA_DIR": str(data_dir), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    started = Started(f"http://127.0.0.1:{port}")

    def answers() -> bool:
        assert process.poll() is None, process.communicate()
        try:
            return requests.get(started.base + "/", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        poll(answers, bool, deadline=120)
        yield started
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        started.stdout, started.stderr = process.communicate(timeout=60)


def test_make_run_takes_a_port_and_keeps_an_external_s3_secret(seaweedfs, tmp_path):
    external = {
        "ADES_S3_ENDPOINT": seaweedfs.endpoint,
        "ADES_S3_ACCESS_KEY": seaweedfs.access_key,
        "ADES_S3_SECRET_KEY": seaweedfs.secret_key,
        "ADES_S3_BUCKET": "test-cli",
    }
    with make_run(tmp_path, external) as server:
        root = requests.get(server.base + "/").json()
        assert [ws["id"] for ws in root["workspaces"]] == ["demo"]
    assert f"{server.base}/demo/ogc-api/" in server.stdout
    assert f"S3: {seaweedfs.endpoint} bucket=test-cli" in server.stdout
    assert seaweedfs.secret_key not in server.stdout + server.stderr
    # Connexion's import of starlette's test client warned at every start.
    assert "Warning" not in server.stderr, server.stderr


def test_the_embedded_s3_credentials_are_printed(tmp_path):
    with make_run(tmp_path, {"ADES_S3_SECRET_KEY": "shown-secret"}) as server:
        pass
    assert "S3 (embedded): http://127.0.0.1:" in server.stdout
    assert "access_key=ades secret_key=shown-secret" in server.stdout
    assert "Warning" not in server.stderr, server.stderr


def ades(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The `ades` command of this interpreter's venv, with only the given ADES_* settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ADES_")}
    return subprocess.run(
        [str(Path(sys.executable).parent / "ades"), *args],
        env={**clean, **env}, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture
def no_settings(monkeypatch):
    """main() in this process, reading no ADES_* variable of the environment."""
    for name in [n for n in os.environ if n.startswith("ADES_")]:
        monkeypatch.delenv(name)


def test_db_upgrade_says_from_which_revision_to_which_and_current_says_head(
    tmp_path, capsys, no_settings
):
    head = migrate.head()
    data_dir = tmp_path / "data"  # made by the command
    database = f"sqlite:///{data_dir / 'ades.db'}"
    main(["db", "--data-dir", str(data_dir), "upgrade"])
    assert capsys.readouterr().out == f"database {database}: upgraded from none to {head}\n"
    main(["db", "--data-dir", str(data_dir), "upgrade"])
    assert capsys.readouterr().out == f"database {database}: at {head} already\n"
    main(["db", "--data-dir", str(data_dir), "current"])
    assert capsys.readouterr().out == f"database {database}: revision {head} (head)\n"


def test_db_current_of_a_database_behind_exits_1_naming_the_upgrade(
    tmp_path, capsys, no_settings
):
    migrate.upgrade(make_engine(f"sqlite:///{tmp_path / 'ades.db'}"), "0001")
    with pytest.raises(SystemExit) as exited:
        main(["db", "--data-dir", str(tmp_path), "current"])
    assert capsys.readouterr().out.endswith(": revision 0001\n")
    assert "this version of ades needs" in str(exited.value.code)
    assert "run `ades db upgrade`" in str(exited.value.code)


def test_db_upgrade_of_a_database_it_cannot_reach_names_it(monkeypatch, no_settings):
    unreachable = "postgresql+psycopg://ades:secret@127.0.0.1:1/ades"
    monkeypatch.setenv("ADES_DATABASE_URL", unreachable)
    with pytest.raises(SystemExit) as exited:
        main(["db", "upgrade"])
    message = str(exited.value.code)
    assert message.startswith("ades: cannot use the database postgresql+psycopg://ades:***@")
    assert "secret" not in message


def test_serve_refuses_a_postgresql_schema_behind_until_db_upgrade(seaweedfs, tmp_path):
    require_postgres()
    # A schema of its own, chosen the way a deployment sharing a database would: by the
    # search path in the URL.
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = sa.make_url(POSTGRES).update_query_dict({"options": f"-csearch_path={schema}"})
    port = free_port()
    env = {
        "ADES_DATABASE_URL": url.render_as_string(hide_password=False),
        "ADES_DATA_DIR": str(tmp_path),
        "ADES_WORKSPACES": str(REPO / "workspaces"),
        "ADES_PORT": str(port),
        "ADES_S3_ENDPOINT": seaweedfs.endpoint,
        "ADES_S3_ACCESS_KEY": seaweedfs.access_key,
        "ADES_S3_SECRET_KEY": seaweedfs.secret_key,
        "ADES_S3_BUCKET": "test-cli-migrate",
    }
    try:
        refused = ades("serve", env=env)
        assert refused.returncode != 0
        last = refused.stderr.strip().splitlines()
        assert len(last) == 1 and "Traceback" not in refused.stderr, refused.stderr
        assert last[0].startswith("ades: the database postgresql+psycopg://postgres@")
        assert last[0].endswith("revision none (empty, or made before migrations); this"
                                f" version of ades needs {migrate.head()}: run `ades db upgrade`")

        upgraded = ades("db", "upgrade", env=env)
        assert upgraded.returncode == 0, upgraded.stderr
        assert f"upgraded from none to {migrate.head()}" in upgraded.stdout

        clean = {k: v for k, v in os.environ.items() if not k.startswith("ADES_")}
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "ades"), "serve"], env={**clean, **env},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            def healthy() -> bool:
                assert server.poll() is None, server.communicate()
                try:
                    return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok
                except requests.ConnectionError:
                    return False

            poll(healthy, bool, deadline=120)
        finally:
            server.terminate()
            server.communicate(timeout=60)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.mark.parametrize(
    ("env", "args", "says"),
    [
        ({}, [], "set ADES_EXECUTOR=celery (it is 'local')"),
        ({"ADES_EXECUTOR": "celery"}, [], "ADES_BROKER_URL=''"),
        ({"ADES_EXECUTOR": "celery", "ADES_BROKER_URL": "http://broker"}, [],
         "ADES_BROKER_URL='http://broker'"),
        ({"ADES_EXECUTOR": "celery", "ADES_BROKER_URL": "redis://127.0.0.1:6379/0"},
         ["--concurrency", "0"], "--concurrency 0"),
    ],
)
def test_ades_worker_refuses_what_cannot_run_jobs(
    no_settings, monkeypatch, capsys, tmp_path, env, args, says
):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        main(["worker", "--data-dir", str(tmp_path), *args])
    assert exited.value.code == 2
    assert says in capsys.readouterr().err


@dataclass
class TokenServer:
    """A server with ADES_AUTH=token, and the settings `ades token` needs to share its
    database (the SQLite file of its data dir)."""

    live: Live
    env: dict[str, str]

    def get(self, path: str, token: str) -> requests.Response:
        return requests.get(self.live.url(path), headers={"Authorization": f"Bearer {token}"},
                            timeout=30)


@pytest.fixture(scope="module")
def token_server(seaweedfs, tmp_path_factory) -> Iterator[TokenServer]:
    settings = server_settings(tmp_path_factory.mktemp("tokens"), seaweedfs, bucket="test-cli")
    settings = dataclasses.replace(settings, auth="token", allow_uncontained=True)
    env = {"ADES_DATA_DIR": str(settings.data_dir), "ADES_WORKSPACES": str(settings.workspaces)}
    with serve(settings) as live:
        yield TokenServer(live, env)


def _created(token_server: TokenServer, *args: str) -> tuple[str, str]:
    """`ades token create …`: (the token's id, the token, alone on the last line)."""
    made = ades("token", "create", *args, env=token_server.env)
    assert made.returncode == 0, made.stderr
    *said, token = made.stdout.strip().splitlines()
    assert token.startswith("ades_") and " " not in token, made.stdout
    token_id = token.split("_")[1]
    assert said == [f"token {token_id} of workspace demo (no expiry); it is shown once, keep "
                    "it now:"], said
    return token_id, token


def test_a_created_token_opens_its_workspace_on_a_running_server(token_server):
    token_id, token = _created(token_server, "--workspace", "demo", "--name", "ci")
    assert token_server.get("/demo/ogc-api/jobs", token).status_code == 200
    assert token_server.get("/lab/ogc-api/jobs", token).status_code == 403

    listed = ades("token", "list", env=token_server.env)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.strip().splitlines()
    assert header.split() == ["ID", "WORKSPACE", "CREATED", "EXPIRES", "NAME"]
    (row,) = [r for r in rows if r.startswith(token_id)]
    assert row.split()[1] == "demo" and row.split()[-1] == "ci" and "never" in row
    assert token.split("_", 2)[2] not in listed.stdout
    other = ades("token", "list", "--workspace", "lab", env=token_server.env)
    assert token_id not in other.stdout

    revoked = ades("token", "revoke", token_id, env=token_server.env)
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip() == f"revoked token {token_id} of workspace demo"
    refused = token_server.get("/demo/ogc-api/jobs", token)
    assert refused.status_code == 401
    assert f"API token {token_id} is unknown or revoked" in refused.json()["detail"]
    assert token_id not in ades("token", "list", env=token_server.env).stdout


def test_a_token_with_an_expiry_says_until_when(token_server):
    made = ades("token", "create", "--workspace", "demo", "--expires", "1.5",
                env=token_server.env)
    assert made.returncode == 0, made.stderr
    first, token = made.stdout.strip().splitlines()
    assert re.search(r"\(expires \d{4}-\d\d-\d\d \d\d:\d\d UTC\)", first), first
    assert token_server.get("/demo/ogc-api/jobs", token).status_code == 200


@pytest.mark.parametrize(
    ("args", "status", "says"),
    [
        (["revoke", "0123456789abcdef"], 1, "ades: no token 0123456789abcdef in sqlite:///"),
        (["create", "--workspace", "nowhere"], 2, "--workspace nowhere: no such workspace in "),
        (["create", "--workspace", "demo", "--expires", "0"], 2,
         "--expires 0: a token lasts more than 0 days"),
        (["create", "--workspace", "demo", "--expires", "-3"], 2,
         "--expires -3: a token lasts more than 0 days"),
    ],
)
def test_token_commands_refuse_what_they_cannot_do(token_server, args, status, says):
    store = TokenStore(token_server.live.server.services.database)
    before = store.list()
    done = ades("token", *args, env=token_server.env)
    assert done.returncode == status, (done.stdout, done.stderr)
    assert says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert store.list() == before


def test_serve_on_an_address_others_reach_needs_ades_auth(tmp_path):
    refused = ades("serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path),
                   env={"ADES_WORKSPACES": str(REPO / "workspaces")})
    assert refused.returncode == 1, (refused.stdout, refused.stderr)
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert lines[0].startswith("ades: binding 0.0.0.0 lets other hosts call this server, and "
                               "ADES_AUTH is not set: set ADES_AUTH=token or oidc")
    # Refused before anything started: no database, no embedded S3.
    assert list(tmp_path.iterdir()) == []


def test_serve_with_a_database_that_does_not_answer_says_so_in_one_line(tmp_path):
    refused = ades("serve", "--data-dir", str(tmp_path), "--workspaces", str(tmp_path),
                   env={"ADES_DATABASE_URL": "postgresql://someone:pw@127.0.0.1:1/ades"})
    assert refused.returncode == 1, (refused.stdout, refused.stderr)
    assert "Traceback" not in refused.stderr, refused.stderr
    assert refused.stderr.startswith(
        "ades: cannot use the database postgresql://someone:***@127.0.0.1:1/ades: "
    ), refused.stderr
    assert "pw" not in refused.stderr.split("@", 1)[0]


def test_serve_without_its_workspaces_folder_names_it(tmp_path):
    refused = ades("serve", "--data-dir", str(tmp_path / "data"),
                   "--workspaces", str(tmp_path / "nowhere"), env={})
    assert refused.returncode == 1, (refused.stdout, refused.stderr)
    assert "Traceback" not in refused.stderr, refused.stderr
    assert refused.stderr.strip().splitlines()[-1] == (
        f"ades: workspaces directory '{tmp_path / 'nowhere'}' does not exist"
    )
