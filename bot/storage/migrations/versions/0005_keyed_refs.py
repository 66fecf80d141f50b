"""Keyed conversation references: widen conversation_index.ref, rebuild the index.

References were 12 hex digits of an unsalted SHA-256 (reversible for phone numbers);
they are now a full HMAC-SHA256 with the deployment's key (bot.handoff.redact). The index
is derived data: emptied here, bot.staff.transcripts.refresh_index rebuilds it from the
events with the new references.

Revision ID: 0005_keyed_refs
Revises: 0004_sms
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_keyed_refs"
down_revision = "0004_sms"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """conversation_index.ref: String(32) -> String(96); drop the old references."""
    op.execute("DELETE FROM conversation_index")
    with op.batch_alter_table("conversation_index") as batch:
        batch.alter_column(
            "ref", existing_type=sa.String(32), type_=sa.String(96), existing_nullable=False
        )


def downgrade() -> None:
    """Back to String(32): the index is emptied (the long references do not fit)."""
    op.execute("DELETE FROM conversation_index")
    with op.batch_alter_table("conversation_index") as batch:
        batch.alter_column(
            "ref", existing_type=sa.String(96), type_=sa.String(32), existing_nullable=False
        )
