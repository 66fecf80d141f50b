"""Handoffs remember the keyed client address they came from (flood guard).

Revision ID: 0007_handoff_source
Revises: 0006_staff_security
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_handoff_source"
down_revision = "0006_staff_security"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add handoffs.source_key (an HMAC of the client address, never the address)."""
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("source_key", sa.String(64)))
        batch.create_index("ix_handoffs_source_key", ["source_key"])


def downgrade() -> None:
    """Drop handoffs.source_key."""
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_index("ix_handoffs_source_key")
        batch.drop_column("source_key")
