"""Initial schema: job, task, task_attempt.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Types are spelled out (not imported from podherd.standalone.db.models) so this migration
# keeps meaning the same thing when the models change later.
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("job_type", sa.String(30), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("start_date", TS, nullable=False),
        sa.Column("end_date", TS, nullable=True),
        sa.Column("latest_heartbeat", TS, nullable=False),
    )
    op.create_index("idx_job_type_heartbeat", "job", ["job_type", "latest_heartbeat"])

    op.create_table(
        "task",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("image", sa.String(1000), nullable=False),
        sa.Column("command", sa.JSON(), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("env", sa.JSON(), nullable=False),
        sa.Column("resources", sa.JSON(), nullable=False),
        sa.Column("namespace", sa.String(63), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("pod_overrides", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("max_tries", sa.Integer(), nullable=False),
        sa.Column("timeout_seconds", sa.Float(), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("try_number", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("queued_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("idx_task_state_priority", "task", ["state", "priority"])
    op.create_index("ix_task_owner_id", "task", ["owner_id"])

    op.create_table(
        "task_attempt",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.Integer(), sa.ForeignKey("task.id", ondelete="CASCADE"), nullable=False),
        sa.Column("try_number", sa.Integer(), nullable=False),
        sa.Column("pod_name", sa.String(253), nullable=False),
        sa.Column("pod_uid", sa.String(64), nullable=True),
        sa.Column("namespace", sa.String(63), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("failure", sa.JSON(), nullable=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.UniqueConstraint("task_id", "try_number", name="uq_task_attempt_try"),
    )


def downgrade() -> None:
    op.drop_table("task_attempt")
    op.drop_index("ix_task_owner_id", table_name="task")
    op.drop_index("idx_task_state_priority", table_name="task")
    op.drop_table("task")
    op.drop_index("idx_job_type_heartbeat", table_name="job")
    op.drop_table("job")
