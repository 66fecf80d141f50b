"""SMS channel: opt-outs and pending buttons per number, inbound messages, deliveries.

Revision ID: 0004_sms
Revises: 0003_console
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_sms"
down_revision = "0003_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create sms_contacts, sms_inbound and sms_deliveries."""
    op.create_table(
        "sms_contacts",
        sa.Column("phone", sa.String(64), primary_key=True),
        sa.Column("opted_out", sa.Boolean, nullable=False),
        sa.Column("opted_out_at", sa.DateTime(timezone=True)),
        sa.Column("opted_in_at", sa.DateTime(timezone=True)),
        sa.Column("buttons_json", sa.Text),
        sa.Column("buttons_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "sms_inbound",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("phone", sa.String(64), nullable=False, index=True),
        sa.Column("message_sid", sa.String(64), unique=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "status IN ('received', 'processed', 'failed', 'keyword', 'ignored')",
            name="ck_sms_inbound_status",
        ),
    )
    op.create_table(
        "sms_deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("phone", sa.String(64), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("body", sa.Text),
        sa.Column("twilio_sid", sa.String(64)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.CheckConstraint(
            "status IN ('sent', 'failed', 'suppressed')", name="ck_sms_deliveries_status"
        ),
    )


def downgrade() -> None:
    """Drop the SMS tables."""
    for table in ("sms_deliveries", "sms_inbound", "sms_contacts"):
        op.drop_table(table)
