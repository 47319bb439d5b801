"""A database engine per test: SQLite always, PostgreSQL when the server is there (it is
expected on this kind of machine), each test in a schema of its own."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy

from ades.db.jobs import make_engine

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_reachable() -> bool:
    try:
        with sqlalchemy.create_engine(POSTGRES).connect():
            return True
    except sqlalchemy.exc.OperationalError:
        return False


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        yield make_engine(f"sqlite:///{tmp_path / 'ades.db'}")
        return
    if not _postgres_reachable():
        pytest.fail(f"PostgreSQL is expected at {POSTGRES} on this kind of machine")
    # A schema of its own per test keeps runs independent.
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = make_engine(POSTGRES)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine = engine.execution_options(schema_translate_map={None: schema})
    yield engine
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
