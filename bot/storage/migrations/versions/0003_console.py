"""Staff console: sessions, login attempts, conversation index, flags/tags/notes, settings,
and the watchdog's re-notification columns on handoffs.

Revision ID: 0003_console
Revises: 0002_staff_and_audit
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_console"
down_revision = "0002_staff_and_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the console's tables; add renotified_at/renotify_count to handoffs."""
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("renotified_at", sa.DateTime(timezone=True)))
        batch.add_column(
            sa.Column("renotify_count", sa.Integer, nullable=False, server_default="0")
        )
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("staff_users.id"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_login_attempts_username_at", "login_attempts", ["username", "at"])
    op.create_index("ix_login_attempts_ip_at", "login_attempts", ["ip", "at"])
    op.create_table(
        "conversation_index",
        sa.Column("conversation_id", sa.String(255), primary_key=True),
        sa.Column("ref", sa.String(32), nullable=False, unique=True),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("max_level", sa.String(16), nullable=False),
        sa.Column("level_rank", sa.Integer, nullable=False),
        sa.Column("user_messages", sa.Integer, nullable=False),
        sa.Column("intents", sa.Text, nullable=False),
        sa.Column("search_text", sa.Text, nullable=False),
        sa.Column("last_event_id", sa.Integer, nullable=False),
    )
    op.create_index("ix_conversation_index_last_at", "conversation_index", ["last_at"])
    op.create_index("ix_conversation_index_started_at", "conversation_index", ["started_at"])
    op.create_index("ix_conversation_index_level_rank", "conversation_index", ["level_rank"])
    op.create_index("ix_conversation_index_channel", "conversation_index", ["channel"])
    op.create_table(
        "conversation_meta",
        sa.Column("conversation_id", sa.String(255), primary_key=True),
        sa.Column("flagged", sa.Boolean, nullable=False),
        sa.Column("flagged_by", sa.String(64)),
        sa.Column("flagged_at", sa.DateTime(timezone=True)),
        sa.Column("tags", sa.Text, nullable=False),
    )
    op.create_table(
        "conversation_notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_table(
        "console_settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop the console's tables and the watchdog columns."""
    for table in (
        "console_settings",
        "conversation_notes",
        "conversation_meta",
        "conversation_index",
        "login_attempts",
        "staff_sessions",
    ):
        op.drop_table(table)
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_column("renotify_count")
        batch.drop_column("renotified_at")
