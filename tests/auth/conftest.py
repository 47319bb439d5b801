"""The token store's tests run on the databases of tests/db: SQLite, and PostgreSQL."""

from tests.db.conftest import empty_engine, engine  # noqa: F401
