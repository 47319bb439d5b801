"""API tokens: the api_tokens table of ADES_AUTH=token (a digest of each token's secret,
the workspace it may use, its name and expiry).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("workspace", sa.String(128), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_api_tokens_workspace", "api_tokens", ["workspace"])


def downgrade() -> None:
    op.drop_index("ix_api_tokens_workspace", table_name="api_tokens")
    op.drop_table("api_tokens")
