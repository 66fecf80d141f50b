"""Staff console security: TOTP secrets, two-step sessions, the login throttle.

Revision ID: 0006_staff_security
Revises: 0005_keyed_refs
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_staff_security"
down_revision = "0005_keyed_refs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add TOTP columns to staff_users and stage to staff_sessions; create login_throttle."""
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(64)))
        batch.add_column(sa.Column("totp_pending_secret", sa.String(64)))
        batch.add_column(sa.Column("totp_enabled_at", sa.DateTime(timezone=True)))
    with op.batch_alter_table("staff_sessions") as batch:
        batch.add_column(sa.Column("stage", sa.String(16), nullable=False, server_default="ok"))
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_allowed", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop login_throttle and the new columns."""
    op.drop_table("login_throttle")
    with op.batch_alter_table("staff_sessions") as batch:
        batch.drop_column("stage")
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("totp_enabled_at")
        batch.drop_column("totp_pending_secret")
        batch.drop_column("totp_secret")
