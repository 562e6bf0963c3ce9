"""An index in the claim's exact order: the claim reads the first N queued tasks instead of sorting them all.

The claim asks for queued tasks by priority (highest first), then age, then id. The old index
(state, priority) still left SQLite to sort every queued task by age on each claim: with 10,000
queued, 6 ms a claim instead of 1.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("idx_task_claim_order", "task", ["state", sa.text("priority DESC"), "queued_at", "id"])
    op.drop_index("idx_task_state_priority", table_name="task")


def downgrade() -> None:
    op.create_index("idx_task_state_priority", "task", ["state", "priority"])
    op.drop_index("idx_task_claim_order", table_name="task")
