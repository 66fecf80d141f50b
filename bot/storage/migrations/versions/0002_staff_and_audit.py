"""Staff accounts and the audit log.

Revision ID: 0002_staff_and_audit
Revises: 0001_handoffs
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_staff_and_audit"
down_revision = "0001_handoffs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create staff_users and audit_log."""
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('staff', 'admin')", name="ck_staff_users_role"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_actor", "audit_log", ["actor"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("audit_log")
    op.drop_table("staff_users")
