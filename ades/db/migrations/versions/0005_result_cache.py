"""The result cache: jobs.cache_key (the digest of a job's package and inputs),
jobs.cache_time (when its results were made by a run), jobs.reused_from (the job whose
results it copied), and the index a cache lookup reads.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("cache_key", sa.String(64)))
    op.add_column("jobs", sa.Column("cache_time", sa.DateTime(timezone=True)))
    op.add_column("jobs", sa.Column("reused_from", sa.String(64)))
    op.create_index(
        "ix_jobs_workspace_cache_key", "jobs", ["workspace", "cache_key", "cache_time"]
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_workspace_cache_key", table_name="jobs")
    # SQLite drops a column by copying the table (batch mode); PostgreSQL alters it.
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("reused_from")
        batch.drop_column("cache_time")
        batch.drop_column("cache_key")
