"""A database engine per test: SQLite always, PostgreSQL when a server answers at
``ADES_TEST_POSTGRES_URL`` (default: the trust-auth server of CI and the project's
machines), each test in a schema of its own. Without one the PostgreSQL cases are skipped,
except on CI (``CI`` set), where a missing server is a failure, not a quiet skip."""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

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


@contextlib.contextmanager
def statements(engine: sqlalchemy.Engine) -> Iterator[list[tuple[str, Any]]]:
    """The reads, updates and deletes run on ``engine`` meanwhile, as (SQL, parameters)."""
    seen: list[tuple[str, Any]] = []

    def record(_conn, _cursor, statement, parameters, _context, executemany) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb in ("SELECT", "UPDATE", "DELETE") and not executemany:
            seen.append((statement, parameters))

    sqlalchemy.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sqlalchemy.event.remove(engine, "before_cursor_execute", record)


_TABLES = ("jobs", "other", "job_events", "job_logs", "deployed_processes", "api_tokens")


def unbounded(engine: sqlalchemy.Engine, statement: str, parameters: Any) -> list[str]:
    """What in the plan of ``statement`` reads a whole table or index, or sorts: nothing
    when its rows are found (and ordered) by an index. SQLite: EXPLAIN QUERY PLAN.
    PostgreSQL: EXPLAIN with sequential scans and sorts priced out, so that one left is one
    no index can spare (an empty table would otherwise be scanned, the cheapest way)."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            steps = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                             parameters)]  # fmt: skip
            # SCAN CONSTANT ROW and SCAN anon_1 (a subquery's rows) read no table.
            whole = [s for s in steps if s.startswith("SCAN ") and s.split()[1] in _TABLES]
            return whole + [s for s in steps if "TEMP B-TREE" in s]
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        conn.exec_driver_sql("SET LOCAL enable_sort = off")
        plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar()
    found: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        kind = node["Node Type"]
        if kind in ("Seq Scan", "Sort", "Incremental Sort") or (
            kind in ("Index Scan", "Index Only Scan") and "Index Cond" not in node
        ):
            found.append(f"{kind} on {node.get('Relation Name', '?')}")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def plans_left_unbounded(engine: sqlalchemy.Engine, calls: list[Callable[[], Any]]) -> dict:
    """Each statement ``calls`` run whose plan is not bounded by an index: what is not."""
    with statements(engine) as seen:
        for call in calls:
            call()
    return {sql: problems for sql, params in seen if (problems := unbounded(engine, sql, params))}
