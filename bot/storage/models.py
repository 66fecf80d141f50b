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
    # The watchdog's last re-notification of an unclaimed emergency/crisis handoff.
    renotified_at = sa.Column(sa.DateTime(timezone=True))
    renotify_count = sa.Column(sa.Integer, nullable=False, default=0, server_default="0")
    # Keyed hash of the client address of the message that opened it (bot.limits
    # address_key): crises from many new conversations at one address are grouped.
    source_key = sa.Column(sa.String(64), index=True)
    # For a flood-grouped handoff: the id of the burst's first handoff, under which the
    # queue shows it. It keeps its own record, so staff can still claim it.
    grouped_with = sa.Column(sa.Integer)

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
            "renotified_at": iso(self.renotified_at),
            "renotify_count": self.renotify_count or 0,
            "grouped_with": self.grouped_with,
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
    # TOTP two-factor sign-in (base32 secrets): the confirmed one, and one being enrolled
    # until its first code is confirmed.
    totp_secret = sa.Column(sa.String(64))
    totp_pending_secret = sa.Column(sa.String(64))
    totp_enabled_at = sa.Column(sa.DateTime(timezone=True))

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


class StaffSession(Base):
    """A console login. Only a hash of the cookie's token is stored."""

    __tablename__ = "staff_sessions"

    id = sa.Column(sa.Integer, primary_key=True)
    token_hash = sa.Column(sa.String(64), nullable=False, unique=True)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("staff_users.id"), nullable=False)
    csrf_token = sa.Column(sa.String(64), nullable=False)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    last_seen = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    # "ok": signed in; "totp": the password was right, the two-factor code is still due.
    stage = sa.Column(sa.String(16), nullable=False, default="ok", server_default="ok")


class LoginAttempt(Base):
    """Each console login attempt, for rate limiting."""

    __tablename__ = "login_attempts"

    id = sa.Column(sa.Integer, primary_key=True)
    username = sa.Column(sa.String(64), nullable=False)
    ip = sa.Column(sa.String(64), nullable=False)
    ok = sa.Column(sa.Boolean, nullable=False)
    at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)


class LoginThrottle(Base):
    """Failed-login counter of one username (``user:...``) or address (``ip:...``).

    Changed only by conditional updates on ``failures`` (bot.staff.sessions), so parallel
    attempts cannot all pass one check: each attempt is counted before its password is
    verified, and a right password gives its count back.
    """

    __tablename__ = "login_throttle"

    key = sa.Column(sa.String(80), primary_key=True)
    failures = sa.Column(sa.Integer, nullable=False, default=0)
    last_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    next_allowed = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)


# Room for "conv-" + 64 hex digits (bot.handoff.redact) and a collision suffix.
REF_MAX_CHARS = 96


class ConversationIndex(Base):
    """A searchable summary of one conversation, derived from the tracker store's events.

    Rebuilt from the events at any time (bot.staff.transcripts.refresh_index); ``ref`` is
    the redacted id used in console URLs and the audit log instead of the raw id (an SMS
    conversation id is a phone number).
    """

    __tablename__ = "conversation_index"

    conversation_id = sa.Column(sa.String(255), primary_key=True)
    ref = sa.Column(sa.String(REF_MAX_CHARS), nullable=False, unique=True)
    channel = sa.Column(sa.String(64), nullable=False)
    started_at = sa.Column(sa.DateTime(timezone=True), nullable=False)
    last_at = sa.Column(sa.DateTime(timezone=True), nullable=False)
    max_level = sa.Column(sa.String(16), nullable=False)
    level_rank = sa.Column(sa.Integer, nullable=False)
    user_messages = sa.Column(sa.Integer, nullable=False)
    intents = sa.Column(sa.Text, nullable=False)
    search_text = sa.Column(sa.Text, nullable=False)
    last_event_id = sa.Column(sa.Integer, nullable=False)


class ConversationMeta(Base):
    """What staff added to a conversation: the flag (kept by retention) and tags."""

    __tablename__ = "conversation_meta"

    conversation_id = sa.Column(sa.String(255), primary_key=True)
    flagged = sa.Column(sa.Boolean, nullable=False, default=False)
    flagged_by = sa.Column(sa.String(64))
    flagged_at = sa.Column(sa.DateTime(timezone=True))
    tags = sa.Column(sa.Text, nullable=False, default="")


class ConversationNote(Base):
    """A staff note on a conversation."""

    __tablename__ = "conversation_notes"

    id = sa.Column(sa.Integer, primary_key=True)
    conversation_id = sa.Column(sa.String(255), nullable=False, index=True)
    author = sa.Column(sa.String(64), nullable=False)
    at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    text = sa.Column(sa.Text, nullable=False)


class ConsoleSetting(Base):
    """Settings an admin changes in the console (retention days)."""

    __tablename__ = "console_settings"

    key = sa.Column(sa.String(64), primary_key=True)
    value = sa.Column(sa.Text, nullable=False)
    updated_by = sa.Column(sa.String(64), nullable=False)
    updated_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)


SMS_INBOUND_STATUSES = ("received", "processed", "failed", "keyword", "ignored")
SMS_DELIVERY_STATUSES = ("sent", "failed", "suppressed")


class SmsContact(Base):
    """One phone number's SMS state: opted out (STOP) or not, and its pending buttons.

    ``buttons_json`` holds the buttons of the last message that offered numbered choices,
    so a reply of "1" can be read as the first button's payload.
    """

    __tablename__ = "sms_contacts"

    phone = sa.Column(sa.String(64), primary_key=True)
    opted_out = sa.Column(sa.Boolean, nullable=False, default=False)
    opted_out_at = sa.Column(sa.DateTime(timezone=True))
    opted_in_at = sa.Column(sa.DateTime(timezone=True))
    buttons_json = sa.Column(sa.Text)
    buttons_at = sa.Column(sa.DateTime(timezone=True))
    updated_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)


class SmsInbound(Base):
    """Every SMS that passed the signature check, written before anything processes it."""

    __tablename__ = "sms_inbound"

    id = sa.Column(sa.Integer, primary_key=True)
    phone = sa.Column(sa.String(64), nullable=False, index=True)
    message_sid = sa.Column(sa.String(64), unique=True)
    body = sa.Column(sa.Text, nullable=False, default="")
    status = sa.Column(sa.String(16), nullable=False, default="received", index=True)
    error = sa.Column(sa.Text)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    processed_at = sa.Column(sa.DateTime(timezone=True))

    __table_args__ = (
        sa.CheckConstraint(f"status IN {SMS_INBOUND_STATUSES}", name="ck_sms_inbound_status"),
    )


class SmsDelivery(Base):
    """Each outgoing SMS: sent (with Twilio's sid), failed after retries, or suppressed
    (the number opted out). The body is kept only for messages that did not go out."""

    __tablename__ = "sms_deliveries"

    id = sa.Column(sa.Integer, primary_key=True)
    phone = sa.Column(sa.String(64), nullable=False, index=True)
    status = sa.Column(sa.String(16), nullable=False, index=True)
    body = sa.Column(sa.Text)
    twilio_sid = sa.Column(sa.String(64))
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    error = sa.Column(sa.Text)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow, index=True)

    __table_args__ = (
        sa.CheckConstraint(f"status IN {SMS_DELIVERY_STATUSES}", name="ck_sms_deliveries_status"),
    )
