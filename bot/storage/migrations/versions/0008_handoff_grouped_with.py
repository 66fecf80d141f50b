"""Grouped handoffs keep their own record: grouped_with points at the burst's first one.

Revision ID: 0008_handoff_grouped_with
Revises: 0007_handoff_source
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_handoff_grouped_with"
down_revision = "0007_handoff_source"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add handoffs.grouped_with (the id of the handoff a flood-grouped one is shown under)."""
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("grouped_with", sa.Integer))


def downgrade() -> None:
    """Drop handoffs.grouped_with."""
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_column("grouped_with")
