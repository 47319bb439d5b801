"""A database engine per test: SQLite always, PostgreSQL when a server answers at
``ADES_TEST_POSTGRES_URL`` (default: the trust-auth server of CI and the project's
machines), each test in a schema of its own. Without one the PostgreSQL cases are skipped,
except on CI (``CI`` set), where a missing server is a failure, not a quiet skip."""

from __future__ import annotations

import functools
import os
import uuid

import pytest
import sqlalchemy

from ades.db.migrate import upgrade
from ades.db.schema import make_engine

POSTGRES = os.environ.get(
    "ADES_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@functools.cache
def _postgres_reachable() -> bool:
    try:
        with sqlalchemy.create_engine(POSTGRES).connect():
            return True
    except sqlalchemy.exc.OperationalError:
        return False


def skip_or_fail(reason: str) -> None:
    """Skip the calling test for lack of a service or tool, except on CI (``CI`` set), which
    has them all: there the lack is a failure, not a quiet skip."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI has one, so this is a failure")
    pytest.skip(reason)


def require_postgres() -> None:
    """Skip the calling test where no PostgreSQL server answers; fail it under CI."""
    if not _postgres_reachable():
        skip_or_fail(f"no PostgreSQL server answers at {POSTGRES} (set ADES_TEST_POSTGRES_URL)")


def ready_engine(url: str) -> sqlalchemy.Engine:
    """An engine on a database brought to the current schema."""
    engine = make_engine(url)
    upgrade(engine)
    return engine


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request, tmp_path):
    """An engine on an empty database: a SQLite file, or a PostgreSQL schema of its own
    (schema_translate_map), which keeps runs independent."""
    if request.param == "sqlite":
        yield make_engine(f"sqlite:///{tmp_path / 'ades.db'}")
        return
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = make_engine(POSTGRES)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    yield engine.execution_options(schema_translate_map={None: schema})
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    engine.dispose()


@pytest.fixture
def engine(empty_engine):
    """An engine on a database brought to the current schema."""
    upgrade(empty_engine)
    return empty_engine
