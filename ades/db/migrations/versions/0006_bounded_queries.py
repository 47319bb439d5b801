"""Indexes that keep every query of a request, a submit and the housekeeping bounded as the
job store grows: jobs of one process and status (the count of a list filtered by both),
jobs of one status oldest first (ix_jobs_status_created replaces
ix_jobs_status, which left a sort), job events by time (what the housekeeping prunes; the
index on their job id served no query) and deployed processes by alias.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_jobs_workspace_process_status_created",
        "jobs",
        ["workspace", "process_id", "status", "created", "id"],
    )
    op.create_index("ix_jobs_status_created", "jobs", ["status", "created", "id"])
    op.drop_index("ix_jobs_status", table_name="jobs")
    op.create_index("ix_job_events_time", "job_events", ["time"])
    op.drop_index("ix_job_events_job_id", table_name="job_events")
    op.create_index(
        "ix_deployed_processes_workspace_alias", "deployed_processes", ["workspace", "alias"]
    )


def downgrade() -> None:
    op.drop_index("ix_deployed_processes_workspace_alias", table_name="deployed_processes")
    op.create_index("ix_job_events_job_id", "job_events", ["job_id"])
    op.drop_index("ix_job_events_time", table_name="job_events")
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.drop_index("ix_jobs_status_created", table_name="jobs")
    op.drop_index("ix_jobs_workspace_process_status_created", table_name="jobs")
