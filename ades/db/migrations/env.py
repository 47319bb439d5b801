"""Alembic's environment: runs the migrations on the connection ``ades.db.migrate`` hands
over in ``config.attributes["connection"]``. Online only: the baseline inspects the
database (see its docstring), which SQL written ahead of time could not."""

from __future__ import annotations

from alembic import context

from ades.db.migrate import context_options

connection = context.config.attributes["connection"]
options = context_options(connection)
schema = options.get("version_table_schema")
if schema and connection.dialect.name == "postgresql":
    # Tests, and deployments sharing a database, keep the tables in a schema of their own
    # (schema_translate_map). Alembic's ALTER statements name tables without a schema, so
    # that schema goes first on the search path, for this transaction only.
    quoted = connection.dialect.identifier_preparer.quote(schema)
    connection.exec_driver_sql(f"SET LOCAL search_path TO {quoted}")
context.configure(connection=connection, **options)
with context.begin_transaction():
    context.run_migrations()
