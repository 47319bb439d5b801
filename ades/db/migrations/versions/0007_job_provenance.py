"""jobs.provenance: where a successful job's provenance (its run's RO-Crate, a zip beside
its results) lies, with its size and digest; NULL for a job that has none.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("provenance", sa.JSON()))


def downgrade() -> None:
    # SQLite drops a column by copying the table (batch mode); PostgreSQL alters it.
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("provenance")
