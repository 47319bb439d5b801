"""Bringing a database to the schema of ``ades.db.schema`` with Alembic's migrations
(``ades/db/migrations``), and telling whether it is there. Alembic is configured here, in
code, so an installed server needs no alembic.ini.

At start (``prepare_database``) a SQLite database is upgraded on the spot: it belongs to
the one server whose data dir holds it. Any other database is shared by replicas and
workers of possibly different versions, so it is upgraded only on purpose, by ``ades db
upgrade`` (the Helm chart's pre-upgrade hook), and a server finding it behind refuses to
start rather than guess."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from ades.db.schema import metadata
from ades.errors import DatabaseNotCurrent

MIGRATIONS = Path(__file__).with_name("migrations")

log = logging.getLogger(__name__)
# Alembic tells at INFO which dialect it found, each time it reads a revision: every start
# would say it twice. Upgrades are logged here instead, once, from which revision to which.
logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)

# Any constant: the key of the PostgreSQL advisory lock that lets one upgrade run at a time.
_UPGRADE_LOCK = 0x61646573


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, for its commands (``alembic.command``) on ``connection``."""
    config = Config()
    # ConfigParser reads % as interpolation.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The revision this version of the server needs."""
    revision = _scripts().get_current_head()
    assert revision is not None  # there are migrations, in one line
    return revision


def _schema(connection: Connection) -> str | None:
    # Tests, and deployments sharing a database, map the tables to a schema of their own.
    return connection.get_execution_options().get("schema_translate_map", {}).get(None)


def context_options(connection: Connection) -> dict[str, Any]:
    """Alembic's options for this connection, the same for migrating and for reading the
    revision: the version table lives in the tables' schema."""
    return {
        "target_metadata": metadata,
        "version_table_schema": _schema(connection),
        # SQLite alters most things only by copying the table: write migrations that way.
        "render_as_batch": connection.dialect.name == "sqlite",
    }


def _current(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts=context_options(connection))
    return context.get_current_revision()


def current(engine: Engine) -> str | None:
    """The database's revision; None for an empty database or one made by a server before
    migrations (it reaches the first revision by ``upgrade``)."""
    with engine.connect() as connection:
        return _current(connection)


def is_current(engine: Engine) -> bool:
    return current(engine) == head()


def upgrade(engine: Engine, to: str = "head") -> tuple[str | None, str | None]:
    """Apply the migrations the database lacks (up to revision ``to``); the revisions
    before and after. One upgrade at a time: a second waits, then finds nothing to do."""
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            # Take the write lock now (the driver would begin only at the first write), so
            # the whole upgrade is one transaction: SQLite's DDL is transactional.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_UPGRADE_LOCK})")
        before = _current(connection)
        command.upgrade(alembic_config(connection), to)
        after = _current(connection)
    if after != before:
        where = engine.url.render_as_string(hide_password=True)
        log.info("database %s upgraded from revision %s to %s", where, before or "none", after)
    return before, after


def check_current(engine: Engine) -> None:
    """DatabaseNotCurrent unless the database is at this server's revision, saying what
    to do: ``ades db upgrade`` when it is behind, a newer server when it is ahead."""
    revision, needed = current(engine), head()
    if revision == needed:
        return
    where = engine.url.render_as_string(hide_password=True)
    schema = engine.get_execution_options().get("schema_translate_map", {}).get(None)
    if schema:
        where += f" (schema {schema})"
    known = {script.revision for script in _scripts().walk_revisions()}
    if revision is not None and revision not in known:
        raise DatabaseNotCurrent(
            f"the database {where} has schema revision {revision}, newer than this version"
            f" of ades knows (it needs {needed}): run the version of ades that upgraded it"
        )
    have = revision or "none (empty, or made before migrations)"
    raise DatabaseNotCurrent(
        f"the database {where} has schema revision {have}; this version of ades needs"
        f" {needed}: run `ades db upgrade`"
    )


def prepare_database(engine: Engine) -> None:
    """What a server or worker does with its database at start: upgrade a SQLite file,
    which is its own; check any other database, which only ``ades db upgrade`` changes
    (DatabaseNotCurrent when it is behind or ahead)."""
    if engine.dialect.name == "sqlite":
        upgrade(engine)
    else:
        check_current(engine)
