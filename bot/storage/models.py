"""Our own tables (SQLAlchemy 1.4 declarative models). Schema changes go through Alembic.

The tracker store's tables belong to Rasa; these sit beside them in the same database.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import declarative_base

Base = declarative_base()

HANDOFF_STATUSES = ("open", "claimed", "resolved")
LEVELS = ("none", "concern", "crisis", "emergency")


def utcnow() -> datetime:
    """Timezone-aware now, stored as UTC."""
    return datetime.now(timezone.utc)


class Handoff(Base):
    """A conversation handed to human staff by the safety layer."""

    __tablename__ = "handoffs"

    id = sa.Column(sa.Integer, primary_key=True)
    conversation_id = sa.Column(sa.String(255), nullable=False, index=True)
    channel = sa.Column(sa.String(64), nullable=False, default="unknown")
    level = sa.Column(sa.String(16), nullable=False, index=True)
    categories_json = sa.Column(sa.Text, nullable=False, default="[]")
    evidence_json = sa.Column(sa.Text, nullable=False, default="[]")
    trigger_text = sa.Column(sa.Text, nullable=False, default="")
    status = sa.Column(sa.String(16), nullable=False, default="open", index=True)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    claimed_by = sa.Column(sa.String(255))
    claimed_at = sa.Column(sa.DateTime(timezone=True))
    resolved_by = sa.Column(sa.String(255))
    resolved_at = sa.Column(sa.DateTime(timezone=True))
    resolution_note = sa.Column(sa.Text)

    __table_args__ = (
        sa.CheckConstraint(f"status IN {HANDOFF_STATUSES}", name="ck_handoffs_status"),
        sa.CheckConstraint(f"level IN {LEVELS}", name="ck_handoffs_level"),
    )

    @property
    def categories(self) -> list:
        """Decoded categories."""
        return json.loads(self.categories_json or "[]")

    @property
    def evidence(self) -> list:
        """Decoded evidence."""
        return json.loads(self.evidence_json or "[]")

    def to_dict(self) -> dict:
        """JSON-ready representation (timestamps as ISO 8601)."""

        def iso(value):
            return value.isoformat() if value else None

        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "channel": self.channel,
            "level": self.level,
            "categories": self.categories,
            "evidence": self.evidence,
            "trigger_text": self.trigger_text,
            "status": self.status,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "claimed_by": self.claimed_by,
            "claimed_at": iso(self.claimed_at),
            "resolved_by": self.resolved_by,
            "resolved_at": iso(self.resolved_at),
            "resolution_note": self.resolution_note,
        }


class Notification(Base):
    """Each attempt to alert on-call staff about a handoff, and how it went."""

    __tablename__ = "notifications"

    id = sa.Column(sa.Integer, primary_key=True)
    handoff_id = sa.Column(sa.Integer, sa.ForeignKey("handoffs.id"), nullable=False, index=True)
    notifier = sa.Column(sa.String(64), nullable=False)
    ok = sa.Column(sa.Boolean, nullable=False)
    detail = sa.Column(sa.Text, nullable=False, default="")
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)


STAFF_ROLES = ("staff", "admin")


class StaffUser(Base):
    """A clinic staff account for the console. Passwords are stored as argon2id hashes."""

    __tablename__ = "staff_users"

    id = sa.Column(sa.Integer, primary_key=True)
    username = sa.Column(sa.String(64), nullable=False, unique=True)
    display_name = sa.Column(sa.String(255), nullable=False)
    role = sa.Column(sa.String(16), nullable=False, default="staff")
    password_hash = sa.Column(sa.String(255), nullable=False)
    disabled = sa.Column(sa.Boolean, nullable=False, default=False)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)

    __table_args__ = (sa.CheckConstraint(f"role IN {STAFF_ROLES}", name="ck_staff_users_role"),)


class AuditEntry(Base):
    """Who did what, when: every transcript view, export, reply, claim and resolve.

    Append-only: the code offers no way to change or delete an entry.
    """

    __tablename__ = "audit_log"

    id = sa.Column(sa.Integer, primary_key=True)
    at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    actor = sa.Column(sa.String(64), nullable=False, index=True)
    action = sa.Column(sa.String(64), nullable=False)
    target = sa.Column(sa.String(255), nullable=False, default="")
    detail = sa.Column(sa.Text, nullable=False, default="")
