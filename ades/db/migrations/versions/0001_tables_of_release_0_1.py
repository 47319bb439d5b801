"""The tables as the last release before migrations left them: jobs (without the lease
columns), job_logs and deployed_processes, with their indexes.

Revision ID: 0001
Revises:
Create Date: 2026-12-03

Servers before migrations created their tables themselves and have no alembic_version
table, so every database of theirs reaches this revision by running it. That is why it
creates only what is missing, table by table, column by column, index by index: on an
empty database it creates everything; on an earlier server's database it adds what that
server lacked (the jobs columns title, failure, size and runner came late, and so did the
listing indexes) and keeps the rows. One definition serves both, so a recognised old
database and a new one end alike. (Stamping old databases instead would need a second copy
of this schema, in the detection code, to add the missing parts.)"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _jobs() -> list[sa.Column]:
    return [
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
        sa.Column("title", sa.Text),
        sa.Column("failure", sa.JSON),
        sa.Column("size", sa.BigInteger),
        sa.Column("runner", sa.String(64)),
    ]


def _job_logs() -> list[sa.Column]:
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    ]


def _deployed_processes() -> list[sa.Column]:
    return [
        sa.Column("workspace", sa.String(128), primary_key=True),
        sa.Column("process_id", sa.String(256), primary_key=True),
        sa.Column("alias", sa.String(300)),
        sa.Column("package", sa.Text, nullable=False),
        sa.Column("workflow_id", sa.String(256)),
        sa.Column("source_name", sa.String(256), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("deployed", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
    ]


# Table → its columns, and its indexes by name → indexed columns.
TABLES: dict[str, tuple[Callable[[], list[sa.Column]], dict[str, list[str]]]] = {
    "jobs": (
        _jobs,
        {
            "ix_jobs_workspace_created": ["workspace", "created", "id"],
            "ix_jobs_workspace_process_created": ["workspace", "process_id", "created", "id"],
            "ix_jobs_workspace_status_created": ["workspace", "status", "created", "id"],
            "ix_jobs_status": ["status"],
        },
    ),
    "job_logs": (_job_logs, {"ix_job_logs_job_id_id": ["job_id", "id"]}),
    "deployed_processes": (_deployed_processes, {}),
}


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    schema = op.get_context().version_table_schema
    present = set(inspector.get_table_names(schema=schema))
    for name, (columns, indexes) in TABLES.items():
        have_indexes: set[str] = set()
        if name not in present:
            op.create_table(name, *columns())
        else:
            have = {c["name"] for c in inspector.get_columns(name, schema=schema)}
            for column in columns():
                if column.name not in have:
                    # Only nullable columns ever came late: old rows need no value.
                    op.add_column(name, column)
            have_indexes = {i["name"] for i in inspector.get_indexes(name, schema=schema)}
        for index, indexed in indexes.items():
            if index not in have_indexes:
                op.create_index(index, name, indexed)


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
