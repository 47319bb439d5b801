"""Alembic's migrations of the database schema (``ades.db.schema``), run by ``ades db
upgrade`` and, for SQLite, at every start. ``ades.db.migrate`` configures Alembic in code:
no alembic.ini is read at run time."""
