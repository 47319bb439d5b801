"""The jobControlOptions a deploy request declared for its process (OGC API - Processes
Part 2 ``processDescription.jobControlOptions``), comma-separated; NULL: as the package says.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deployed_processes") as batch:
        batch.add_column(sa.Column("job_control", sa.String(128)))


def downgrade() -> None:
    with op.batch_alter_table("deployed_processes") as batch:
        batch.drop_column("job_control")
