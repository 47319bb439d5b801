"""The migrations on real databases (SQLite, and PostgreSQL in a schema of its own): an
empty database and those of earlier servers reach the schema of ``ades.db.schema``, rows
kept; a database behind or ahead of this version is refused with the command that helps."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ades.db import migrate
from ades.db.jobs import JobStore
from ades.db.logs import LogStore
from ades.db.processes import ProcessStore
from ades.db.schema import make_engine, metadata
from ades.errors import DatabaseNotCurrent
from ades.model import LogLevel

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def differences(engine: sa.Engine) -> list:
    """What Alembic's autogenerate finds between the database and ``metadata``: the
    migrations must leave nothing (so a change to schema.py without one fails here)."""
    with engine.begin() as conn:
        schema = conn.get_execution_options().get("schema_translate_map", {}).get(None)
        if schema:
            # Reflection reads the default schema: make it the test's.
            conn.exec_driver_sql(f"SET LOCAL search_path TO {schema}")
        context = MigrationContext.configure(conn, opts={"target_metadata": metadata})
        return compare_metadata(context, metadata)


def previous_release(late_parts: bool = True) -> sa.MetaData:
    """The tables as servers before migrations made them (their create_all). Without the
    late parts: the jobs table of a server older still, before the columns title, failure,
    size and runner and the listing indexes."""
    old = sa.MetaData()
    late = [
        sa.Column("title", sa.Text),
        sa.Column("failure", sa.JSON),
        sa.Column("size", sa.BigInteger),
        sa.Column("runner", sa.String(64)),
        sa.Index("ix_jobs_workspace_created", "workspace", "created", "id"),
        sa.Index("ix_jobs_workspace_process_created", "workspace", "process_id", "created", "id"),
        sa.Index("ix_jobs_workspace_status_created", "workspace", "status", "created", "id"),
        sa.Index("ix_jobs_status", "status"),
    ]
    sa.Table(
        "jobs",
        old,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("workspace", sa.String(128), nullable=False),
        sa.Column("process_id", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("progress", sa.Integer, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True)),
        sa.Column("finished", sa.DateTime(timezone=True)),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request", sa.JSON, nullable=False),
        sa.Column("results", sa.JSON, nullable=False),
        *(late if late_parts else []),
    )
    sa.Table(
        "job_logs",
        old,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Index("ix_job_logs_job_id_id", "job_id", "id"),
    )
    sa.Table(
        "deployed_processes",
        old,
        sa.Column("workspace", sa.String(128), primary_key=True),
        sa.Column("process_id", sa.String(256), primary_key=True),
        sa.Column("alias", sa.String(300)),
        sa.Column("package", sa.Text, nullable=False),
        sa.Column("workflow_id", sa.String(256)),
        sa.Column("source_name", sa.String(256), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("deployed", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
    )
    return old


def test_an_empty_database_is_upgraded_to_the_schema(empty_engine):
    assert migrate.current(empty_engine) is None
    assert migrate.upgrade(empty_engine) == (None, migrate.head())
    assert migrate.is_current(empty_engine)
    assert differences(empty_engine) == []
    # Nothing left to do the second time.
    assert migrate.upgrade(empty_engine) == (migrate.head(), migrate.head())


@pytest.mark.parametrize("late_parts", [True, False], ids=["previous", "older-still"])
def test_a_database_of_an_earlier_server_is_recognised_and_keeps_its_rows(
    empty_engine, late_parts
):
    old = previous_release(late_parts)
    old.create_all(empty_engine)
    job_id = str(uuid.uuid4())
    with empty_engine.begin() as conn:
        conn.execute(old.tables["jobs"].insert().values(
            id=job_id, workspace="ws", process_id="echo", status="successful", message="done",
            progress=100, created=NOW, updated=NOW, request={"inputs": {}}, results={"a": 1},
        ))
        conn.execute(old.tables["job_logs"].insert().values(
            job_id=job_id, level=int(LogLevel.INFO), time=NOW, message="kept",
        ))
        conn.execute(old.tables["deployed_processes"].insert().values(
            workspace="ws", process_id="echo", package="cwlVersion: v1.2", source_name="e.cwl",
            revision=3, deployed=NOW, updated=NOW,
        ))

    assert migrate.upgrade(empty_engine) == (None, migrate.head())

    assert differences(empty_engine) == []
    job = JobStore(empty_engine).get("ws", job_id)
    assert (job.status.value, job.results, job.title) == ("successful", {"a": 1}, None)
    assert [e.message for e in LogStore(empty_engine).page(job_id, None, LogLevel.DEBUG, 10)] == [
        "kept"
    ]
    assert ProcessStore(empty_engine).get("ws", "echo").revision == 3


def test_behind_names_the_command_and_ahead_says_a_newer_version_made_it(empty_engine):
    with pytest.raises(DatabaseNotCurrent, match=r"revision none .*run `ades db upgrade`"):
        migrate.check_current(empty_engine)
    migrate.upgrade(empty_engine, "0001")
    assert not migrate.is_current(empty_engine)
    # The comparison sees what the second revision adds (so its silence elsewhere counts).
    assert {d[0] for d in differences(empty_engine)} >= {"add_table", "add_column"}
    with pytest.raises(DatabaseNotCurrent) as behind:
        migrate.check_current(empty_engine)
    assert f"revision 0001; this version of ades needs {migrate.head()}" in str(behind.value)
    assert "run `ades db upgrade`" in str(behind.value)

    migrate.upgrade(empty_engine)
    migrate.check_current(empty_engine)
    version = sa.Table("alembic_version", sa.MetaData(), sa.Column("version_num", sa.String))
    with empty_engine.begin() as conn:
        conn.execute(version.update().values(version_num="f00d"))
    with pytest.raises(DatabaseNotCurrent, match="revision f00d, newer than this version"):
        migrate.check_current(empty_engine)


def test_at_start_sqlite_is_upgraded_and_other_databases_only_checked(empty_engine):
    if empty_engine.dialect.name == "sqlite":
        migrate.prepare_database(empty_engine)
        assert migrate.is_current(empty_engine)
        return
    with pytest.raises(DatabaseNotCurrent, match="ades db upgrade"):
        migrate.prepare_database(empty_engine)
    assert migrate.current(empty_engine) is None
    migrate.upgrade(empty_engine)
    migrate.prepare_database(empty_engine)


def test_the_migrations_go_down_to_nothing_and_up_again(empty_engine):
    migrate.upgrade(empty_engine)
    with empty_engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "base")
    assert migrate.current(empty_engine) is None
    schema = empty_engine.get_execution_options().get("schema_translate_map", {}).get(None)
    assert sa.inspect(empty_engine).get_table_names(schema=schema) == ["alembic_version"]
    migrate.upgrade(empty_engine)
    assert differences(empty_engine) == []


def test_servers_starting_together_on_one_sqlite_file_upgrade_it_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'ades.db'}"
    results: list[tuple[str | None, str | None]] = []
    threads = [
        threading.Thread(target=lambda: results.append(migrate.upgrade(make_engine(url))))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    head = migrate.head()
    assert sorted(results, key=str) == sorted(
        [(None, head), (head, head), (head, head)], key=str
    )
