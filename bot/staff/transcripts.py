"""Transcripts from the tracker store: the search index, search, one transcript, exports.

Rasa's SQLTrackerStore keeps every event as a row of its ``events`` table (same database
as our tables: SQLite by default, PostgreSQL in production). We read it through
SQLAlchemy, never write it, and keep a derived summary per conversation in
``conversation_index`` so that searching 10,000 conversations is an indexed query rather
than a scan of every event. The index is rebuilt for every conversation that has new
events (idempotent, so several console replicas may refresh at once).
"""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Dict, Iterable, List, Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.crisis import LEVEL_ORDER
from bot.handoff import redact, ref_key_id
from bot.storage.db import get_engine, session_scope
from bot.storage.models import (
    REF_MAX_CHARS,
    ConsoleSetting,
    ConversationIndex,
    ConversationMeta,
    ConversationNote,
    Handoff,
    utcnow,
)

EVENTS = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("type_name", sa.String),
    sa.column("timestamp", sa.Float),
    sa.column("intent_name", sa.String),
    sa.column("action_name", sa.String),
    sa.column("data", sa.Text),
)
SEARCH_TEXT_LIMIT = 50_000
STAFF_ACTIONS = ("utter_staff_joined", "utter_staff_reply", "utter_staff_handed_back")
PAGE_SIZE = 25
# How far back the incremental refresh looks again: on PostgreSQL, ids from concurrent
# transactions can become visible out of order.
REFRESH_OVERLAP = 1000
# The console setting that remembers which key made the index's references.
REF_KEY_SETTING = "conversation_ref_key_id"

logger = logging.getLogger(__name__)


def _ts(value: Optional[float]) -> datetime:
    try:
        return datetime.fromtimestamp(float(value or 0), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.fromtimestamp(0, tz=timezone.utc)


def _load(raw: Optional[str]) -> Optional[dict]:
    """An event's JSON as a dict, or None when the row is not valid event JSON."""
    try:
        data = json.loads(raw or "{}")
    except (ValueError, TypeError):
        return None
    return data if isinstance(data, dict) else None


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _aware(value: Optional[datetime]) -> Optional[datetime]:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def events_table_exists(url: Optional[str] = None) -> bool:
    """Rasa creates ``events`` on its first start; before that there is nothing to read."""
    return sa.inspect(get_engine(url)).has_table("events")


# ---------------------------------------------------------------------------------------
# One transcript
# ---------------------------------------------------------------------------------------
@dataclass
class Item:
    """One line of a transcript as staff see it."""

    event_id: int
    kind: str  # user | bot | staff | system
    at: str
    text: str = ""
    intent: Optional[str] = None
    confidence: Optional[float] = None
    safety: Optional[dict] = None
    channel: Optional[str] = None
    staff: Optional[str] = None

    def to_dict(self) -> dict:
        """JSON-ready."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


EXPLAINED_ACTIONS = {
    "action_crisis_response": "action_crisis_response: crisis resources sent",
    "action_staff_handoff": "action_staff_handoff: handoff opened or raised, staff notified",
    "action_safety_followup": "action_safety_followup: safety check-in",
    "cssrs_form": "cssrs_form: C-SSRS screener",
    "action_cssrs_result": "action_cssrs_result: screener scored",
    "utter_crisis_fallback": "utter_crisis_fallback: resources without the action server",
    "utter_handoff_fallback": "utter_handoff_fallback: staff could not be alerted automatically",
    "action_default_fallback": "action_default_fallback: not understood",
}
SYSTEM_EVENTS = {
    "pause": "Assistant paused: staff took over",
    "resume": "Assistant resumed",
    "session_started": "New session",
    "restart": "Conversation restarted",
}


def _item(event_id: int, data: dict) -> Optional[Item]:
    kind = data.get("event")
    at = _ts(data.get("timestamp")).isoformat()
    if kind == "user":
        parse = _dict(data.get("parse_data"))
        intent = _dict(parse.get("intent"))
        safety = parse.get("safety")
        if isinstance(safety, dict):
            safety = {
                "level": safety.get("level", "none"),
                "categories": safety.get("categories", []),
                "evidence": safety.get("evidence", []),
            }
        return Item(
            event_id,
            "user",
            at,
            text=_text(data.get("text")),
            intent=intent.get("name"),
            confidence=round(float(intent.get("confidence") or 0.0), 3),
            safety=safety if isinstance(safety, dict) else None,
            channel=data.get("input_channel"),
        )
    if kind == "bot":
        action = _dict(data.get("metadata")).get("utter_action")
        if action in STAFF_ACTIONS:
            return Item(event_id, "staff", at, text=_text(data.get("text")), staff=action)
        return Item(event_id, "bot", at, text=_text(data.get("text")))
    if kind in SYSTEM_EVENTS:
        return Item(event_id, "system", at, text=SYSTEM_EVENTS[kind])
    if kind == "action" and _text(data.get("name")) in EXPLAINED_ACTIONS:
        # Why the assistant did what it did: the custom actions and policy decisions.
        return Item(event_id, "action", at, text=EXPLAINED_ACTIONS[data["name"]])
    return None


def transcript(conversation_id: str, after_event: int = 0, url: Optional[str] = None) -> List[Item]:
    """Every user, bot and staff message (and pauses/resumes) in order, after an event id."""
    if not events_table_exists(url):
        return []
    query = (
        sa.select(EVENTS.c.id, EVENTS.c.data)
        .where(EVENTS.c.sender_id == conversation_id, EVENTS.c.id > int(after_event))
        .order_by(EVENTS.c.id)
    )
    items = []
    with get_engine(url).connect() as conn:
        for event_id, raw in conn.execute(query):
            data = _load(raw)
            try:
                item = _item(event_id, data) if data is not None else None
            except (ValueError, TypeError):
                continue
            if item is not None:
                items.append(item)
    return items


def last_messages(conversation_id: str, n: int = 4, url: Optional[str] = None) -> List[dict]:
    """The conversation's last ``n`` user/bot/staff messages, oldest first."""
    if not events_table_exists(url):
        return []
    query = (
        sa.select(EVENTS.c.id, EVENTS.c.data)
        .where(EVENTS.c.sender_id == conversation_id, EVENTS.c.type_name.in_(("user", "bot")))
        .order_by(EVENTS.c.id.desc())
        .limit(n)
    )
    with get_engine(url).connect() as conn:
        rows = list(conn.execute(query))
    out = []
    for event_id, raw in reversed(rows):
        data = _load(raw)
        try:
            item = _item(event_id, data) if data is not None else None
        except (ValueError, TypeError):
            continue
        if item is not None:
            out.append(item.to_dict())
    return out


# ---------------------------------------------------------------------------------------
# The index
# ---------------------------------------------------------------------------------------
def _summarise(conversation_id: str, rows: Iterable[tuple]) -> Optional[dict]:
    started = last = None
    channel = "unknown"
    level = "none"
    intents: List[str] = []
    texts: List[str] = [conversation_id.lower()]
    size = 0
    users = 0
    last_id = 0
    for event_id, raw in rows:
        last_id = max(last_id, event_id)
        data = _load(raw)
        if data is None:
            continue
        at = _ts(data.get("timestamp"))
        started = at if started is None else min(started, at)
        last = at if last is None else max(last, at)
        kind = data.get("event")
        if kind == "user":
            users += 1
            channel = _text(data.get("input_channel")) or channel
            parse = _dict(data.get("parse_data"))
            name = _text(_dict(parse.get("intent")).get("name"))
            if name and name not in intents:
                intents.append(name)
            safety = _dict(parse.get("safety"))
            if LEVEL_ORDER.get(_text(safety.get("level")), 0) > LEVEL_ORDER[level]:
                level = safety["level"]
        if kind in ("user", "bot") and _text(data.get("text")) and size < SEARCH_TEXT_LIMIT:
            text = data["text"].lower()
            texts.append(text)
            size += len(text)
    if started is None:
        return None
    return {
        "conversation_id": conversation_id,
        "ref": redact(conversation_id),
        "channel": channel[:64],
        "started_at": started,
        "last_at": last,
        "max_level": level,
        "level_rank": LEVEL_ORDER[level],
        "user_messages": users,
        "intents": " " + " ".join(intents) + " ",
        "search_text": "\n".join(texts)[:SEARCH_TEXT_LIMIT],
        "last_event_id": last_id,
    }


def reindex_conversations(senders: Iterable[str], url: Optional[str] = None) -> int:
    """Rebuild the index rows of these conversations from their events."""
    senders = sorted(set(senders))
    engine = get_engine(url)
    done = 0
    for start in range(0, len(senders), 200):
        chunk = senders[start : start + 200]
        by_sender: Dict[str, list] = {s: [] for s in chunk}
        query = (
            sa.select(EVENTS.c.sender_id, EVENTS.c.id, EVENTS.c.data)
            .where(EVENTS.c.sender_id.in_(chunk))
            .order_by(EVENTS.c.id)
        )
        with engine.connect() as conn:
            for sender, event_id, raw in conn.execute(query):
                by_sender[sender].append((event_id, raw))
        summaries = {sender: _summarise(sender, rows) for sender, rows in by_sender.items()}
        for attempt in range(3):
            try:
                _store_summaries(summaries, url)
                break
            except IntegrityError:
                # Another replica inserted some of these rows first: load them and update.
                if attempt == 2:
                    raise
        done += sum(1 for summary in summaries.values() if summary is not None)
    return done


def _store_summaries(summaries: Dict[str, Optional[dict]], url: Optional[str]) -> None:
    with session_scope(url) as session:
        existing = {
            row.conversation_id: row
            for row in session.query(ConversationIndex).filter(
                ConversationIndex.conversation_id.in_(list(summaries))
            )
        }
        _unique_refs(session, summaries, existing)
        for sender, summary in summaries.items():
            row = existing.get(sender)
            if summary is None:
                if row is not None:
                    session.delete(row)
            elif row is None:
                session.add(ConversationIndex(**summary))
            else:
                for key, value in summary.items():
                    setattr(row, key, value)


def _unique_refs(session, summaries: Dict[str, Optional[dict]], existing: dict) -> None:
    """Give each summary a reference no other conversation holds.

    Two ids with the same reference (a collision: not expected with a keyed 256-bit
    HMAC, but the index must never stop on one) get the reference plus "-2", "-3"...,
    and a conversation keeps the suffixed reference it already has (stable URLs).
    """
    wanted = {s: summary["ref"] for s, summary in summaries.items() if summary is not None}
    if not wanted:
        return
    holders = dict(
        session.query(ConversationIndex.ref, ConversationIndex.conversation_id).filter(
            ConversationIndex.ref.in_(set(wanted.values()))
        )
    )
    for sender in sorted(wanted):
        ref = wanted[sender]
        if holders.get(ref, sender) == sender:
            holders[ref] = sender
            continue
        current = existing[sender].ref if sender in existing else None
        if current and current.startswith(ref + "-") and holders.get(current, sender) == sender:
            choice = current
        else:
            choice = _free_ref(session, ref, holders)
        logger.warning("conversation reference collision on %s: using %s", ref, choice)
        holders[choice] = sender
        summaries[sender]["ref"] = choice


def _free_ref(session, ref: str, holders: Dict[str, str]) -> str:
    for n in range(2, 10_000):
        candidate = f"{ref}-{n}"[:REF_MAX_CHARS]
        if candidate in holders:
            continue
        if session.query(ConversationIndex.ref).filter_by(ref=candidate).first() is None:
            return candidate
    raise RuntimeError("no free conversation reference")  # 10,000 ids on one reference


def _references_current(url: Optional[str]) -> None:
    """Empty the index when its references were made with another key (or none).

    The index is rebuilt from the events with the current key: console links and audit
    entries made with the old references no longer resolve, as intended after a key
    change.
    """
    current = ref_key_id()
    try:
        with session_scope(url) as session:
            row = session.get(ConsoleSetting, REF_KEY_SETTING)
            if row is not None and row.value == current:
                return
            dropped = session.query(ConversationIndex).delete(synchronize_session=False)
            if row is None:
                row = ConsoleSetting(key=REF_KEY_SETTING, updated_by="system")
                session.add(row)
            row.value, row.updated_at = current, utcnow()
    except IntegrityError:
        return  # another replica recorded the key at the same moment and emptied the index
    if dropped:
        logger.warning(
            "The conversation reference key changed: %d indexed conversations are "
            "re-indexed with new references",
            dropped,
        )


def refresh_index(url: Optional[str] = None) -> int:
    """Bring the index up to date with the events; returns how many conversations changed."""
    if not events_table_exists(url):
        return 0
    _references_current(url)
    engine = get_engine(url)
    with session_scope(url) as session:
        indexed_upto = session.query(sa.func.max(ConversationIndex.last_event_id)).scalar() or 0
    since = max(0, indexed_upto - REFRESH_OVERLAP)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(EVENTS.c.sender_id, sa.func.max(EVENTS.c.id))
            .where(EVENTS.c.id > since)
            .group_by(EVENTS.c.sender_id)
        ).all()
    if not rows:
        return 0
    with session_scope(url) as session:
        known = dict(
            session.query(ConversationIndex.conversation_id, ConversationIndex.last_event_id)
            .filter(ConversationIndex.conversation_id.in_([r[0] for r in rows]))
            .all()
            if len(rows) <= 2000
            else session.query(
                ConversationIndex.conversation_id, ConversationIndex.last_event_id
            ).all()
        )
    stale = [sender for sender, newest in rows if known.get(sender, -1) < newest]
    return reindex_conversations(stale, url) if stale else 0


def conversation_by_ref(ref: str, url: Optional[str] = None) -> Optional[dict]:
    """The indexed conversation behind a console reference (refreshing the index once)."""
    for attempt in range(2):
        with session_scope(url) as session:
            row = session.query(ConversationIndex).filter(ConversationIndex.ref == ref).first()
            if row is not None:
                return _row_dict(row, session)
        if attempt == 0:
            refresh_index(url)
    return None


def ref_for(conversation_id: str, url: Optional[str] = None) -> str:
    """The console reference of a conversation id.

    With ``url``, the indexed reference (it differs only after a collision, see
    ``_unique_refs``); without it, or before the conversation is indexed, the computed one.
    """
    if url is not None:
        with session_scope(url) as session:
            row = session.get(ConversationIndex, conversation_id)
            if row is not None:
                return row.ref
    return redact(conversation_id)


def _row_dict(row: ConversationIndex, session) -> dict:
    meta = session.get(ConversationMeta, row.conversation_id)
    handoff = (
        session.query(Handoff)
        .filter(Handoff.conversation_id == row.conversation_id)
        .order_by(Handoff.id.desc())
        .first()
    )
    return {
        "conversation_id": row.conversation_id,
        "ref": row.ref,
        "channel": row.channel,
        "started_at": _aware(row.started_at).isoformat(),
        "last_at": _aware(row.last_at).isoformat(),
        "max_level": row.max_level,
        "user_messages": row.user_messages,
        "intents": row.intents.split(),
        "flagged": bool(meta and meta.flagged),
        "tags": _tags(meta.tags) if meta else [],
        "handoff_status": handoff.status if handoff else "none",
        "handoff_id": handoff.id if handoff else None,
    }


# ---------------------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------------------
HANDOFF_FILTERS = ("any", "none", "open", "claimed", "resolved")
FLAG_FILTERS = ("any", "flagged", "unflagged")


class SearchError(ValueError):
    """A search filter has a value that makes no sense; the message says which."""


@dataclass
class Search:
    """Filters for the transcript list. Every field is optional."""

    date_from: Optional[date] = None
    date_to: Optional[date] = None
    channel: str = ""
    min_level: str = "none"
    flagged: str = "any"
    handoff: str = "any"
    intent: str = ""
    text: str = ""
    page: int = 1
    page_size: int = PAGE_SIZE

    @classmethod
    def from_args(cls, args: dict) -> Search:
        """Build from query-string values (strings); bad values raise SearchError."""

        def get(name: str) -> str:
            value = args.get(name, "")
            if isinstance(value, list):
                value = value[0] if value else ""
            # Control characters mean nothing in a search, and PostgreSQL refuses NUL.
            value = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in str(value))
            return value.strip()[:200]

        def day(name: str) -> Optional[date]:
            value = get(name)
            if not value:
                return None
            try:
                return date.fromisoformat(value)
            except ValueError as exc:
                raise SearchError(f"{name}: expected a date like 2026-11-23") from exc

        level = get("level") or "none"
        if level not in LEVEL_ORDER:
            raise SearchError("level: one of none, concern, crisis, emergency")
        flagged = get("flagged") or "any"
        if flagged not in FLAG_FILTERS:
            raise SearchError("flagged: one of " + ", ".join(FLAG_FILTERS))
        handoff = get("handoff") or "any"
        if handoff not in HANDOFF_FILTERS:
            raise SearchError("handoff: one of " + ", ".join(HANDOFF_FILTERS))
        try:
            page = max(1, min(int(get("page") or 1), 100_000))
        except ValueError as exc:
            raise SearchError("page: a number") from exc
        return cls(
            date_from=day("from"),
            date_to=day("to"),
            channel=get("channel"),
            min_level=level,
            flagged=flagged,
            handoff=handoff,
            intent=get("intent"),
            text=get("q"),
            page=page,
        )

    def as_args(self) -> dict:
        """The query-string form (for links to other pages and the CSV export)."""
        return {
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "channel": self.channel,
            "level": self.min_level,
            "flagged": self.flagged,
            "handoff": self.handoff,
            "intent": self.intent,
            "q": self.text,
        }


def _like(value: str) -> str:
    escaped = value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filtered(session, search: Search):
    ci = ConversationIndex
    query = session.query(ci, ConversationMeta).outerjoin(
        ConversationMeta, ConversationMeta.conversation_id == ci.conversation_id
    )
    if search.date_from:
        query = query.filter(
            ci.last_at >= datetime.combine(search.date_from, time.min, tzinfo=timezone.utc)
        )
    if search.date_to:
        end = datetime.combine(search.date_to, time.min, tzinfo=timezone.utc) + timedelta(days=1)
        query = query.filter(ci.started_at < end)
    if search.channel:
        query = query.filter(ci.channel == search.channel)
    if search.min_level != "none":
        query = query.filter(ci.level_rank >= LEVEL_ORDER[search.min_level])
    if search.flagged == "flagged":
        query = query.filter(ConversationMeta.flagged.is_(True))
    elif search.flagged == "unflagged":
        query = query.filter(
            sa.or_(ConversationMeta.flagged.is_(None), ConversationMeta.flagged.is_(False))
        )
    if search.handoff != "any":
        # Uncorrelated IN subqueries: the handoffs table is small, and a correlated EXISTS
        # let SQLite probe it through the status index once per conversation (0.2 s on 10k).
        def having(*conditions):
            return ci.conversation_id.in_(sa.select(Handoff.conversation_id).where(*conditions))

        if search.handoff == "none":
            query = query.filter(~having(sa.true()))
        elif search.handoff == "resolved":
            # As shown in the results: the latest handoff is resolved, so none is pending
            # (a conversation has at most one unresolved handoff, always its latest).
            query = query.filter(
                having(Handoff.status == "resolved"), ~having(Handoff.status != "resolved")
            )
        else:
            query = query.filter(having(Handoff.status == search.handoff))
    if search.intent:
        query = query.filter(ci.intents.like(_like(" " + search.intent + " "), escape="\\"))
    if search.text:
        for word in search.text.split()[:8]:
            query = query.filter(ci.search_text.like(_like(word), escape="\\"))
    return query


def search_conversations(search: Search, url: Optional[str] = None) -> dict:
    """One page of matching conversations (newest activity first) and the total count."""
    with session_scope(url) as session:
        query = _filtered(session, search)
        total = query.count()
        rows = (
            query.order_by(ConversationIndex.last_at.desc(), ConversationIndex.ref)
            .offset((search.page - 1) * search.page_size)
            .limit(search.page_size)
            .all()
        )
        status = _handoff_status(session, [r[0].conversation_id for r in rows])
        results = [
            {
                "conversation_id": ci.conversation_id,
                "ref": ci.ref,
                "channel": ci.channel,
                "started_at": _aware(ci.started_at).isoformat(),
                "last_at": _aware(ci.last_at).isoformat(),
                "max_level": ci.max_level,
                "user_messages": ci.user_messages,
                "intents": ci.intents.split(),
                "flagged": bool(meta and meta.flagged),
                "tags": _tags(meta.tags) if meta else [],
                "handoff_status": status.get(ci.conversation_id, "none"),
            }
            for ci, meta in rows
        ]
    pages = max(1, -(-total // search.page_size))
    return {"total": total, "page": search.page, "pages": pages, "results": results}


def _handoff_status(session, ids: List[str]) -> Dict[str, str]:
    if not ids:
        return {}
    out: Dict[str, str] = {}
    rows = (
        session.query(Handoff.conversation_id, Handoff.status)
        .filter(Handoff.conversation_id.in_(ids))
        .order_by(Handoff.id)
        .all()
    )
    for conversation_id, status in rows:
        out[conversation_id] = status  # the latest handoff wins
    return out


def channels(url: Optional[str] = None) -> List[str]:
    """Channels seen so far (for the search form)."""
    with session_scope(url) as session:
        return [c for (c,) in session.query(ConversationIndex.channel).distinct().all()]


CSV_COLUMNS = (
    "conversation_id",
    "channel",
    "started_at",
    "last_at",
    "max_level",
    "user_messages",
    "handoff_status",
    "flagged",
    "tags",
    "intents",
)


# Invisible characters a spreadsheet may skip before reading a formula.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00a0"


def _cell(value) -> str:
    text = " ".join(value) if isinstance(value, list) else str(value)
    # A spreadsheet would run a cell starting with these as a formula, also after
    # leading white space or invisible characters.
    start = 0
    while start < len(text) and (text[start].isspace() or text[start] in _INVISIBLE):
        start += 1
    formula = text[:1] in ("\t", "\r") or text[start : start + 1] in ("=", "+", "-", "@")
    return "'" + text if formula else text


def search_csv(search: Search, url: Optional[str] = None, limit: int = 10_000) -> str:
    """Every match of a search (up to ``limit``) as CSV, newest activity first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    page_size = 500
    for page in range(1, limit // page_size + 1):
        batch = Search(**{**search.__dict__, "page": page, "page_size": page_size})
        result = search_conversations(batch, url)
        for row in result["results"]:
            writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
        if page >= result["pages"]:
            break
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------
# Flags, tags, notes
# ---------------------------------------------------------------------------------------
def _tags(raw: str) -> List[str]:
    return [t for t in (raw or "").split(",") if t]


def clean_tags(text: str) -> List[str]:
    """Tags from a comma-separated field: lower-case words, at most 12 of 32 characters."""
    tags = []
    for tag in (text or "").split(","):
        tag = " ".join(tag.strip().lower().split())[:32]
        if tag and tag not in tags:
            tags.append(tag)
    return tags[:12]


def _meta(session, conversation_id: str) -> ConversationMeta:
    meta = session.get(ConversationMeta, conversation_id)
    if meta is None:
        meta = ConversationMeta(conversation_id=conversation_id, flagged=False, tags="")
        session.add(meta)
    return meta


def set_flag(conversation_id: str, flagged: bool, staff: str, url: Optional[str] = None) -> None:
    """Flag (kept by retention) or unflag a conversation."""
    with session_scope(url) as session:
        meta = _meta(session, conversation_id)
        meta.flagged = flagged
        meta.flagged_by = staff if flagged else None
        meta.flagged_at = utcnow() if flagged else None


def set_tags(conversation_id: str, tags: List[str], url: Optional[str] = None) -> None:
    """Replace a conversation's tags."""
    with session_scope(url) as session:
        _meta(session, conversation_id).tags = ",".join(tags)


def add_note(conversation_id: str, author: str, text: str, url: Optional[str] = None) -> None:
    """Add a staff note (1-4000 characters)."""
    text = (text or "").strip()
    if not text:
        raise ValueError("a note needs some text")
    with session_scope(url) as session:
        session.add(
            ConversationNote(
                conversation_id=conversation_id, author=author, at=utcnow(), text=text[:4000]
            )
        )


def notes(conversation_id: str, url: Optional[str] = None) -> List[dict]:
    """A conversation's notes, oldest first."""
    with session_scope(url) as session:
        rows = (
            session.query(ConversationNote)
            .filter(ConversationNote.conversation_id == conversation_id)
            .order_by(ConversationNote.id)
            .all()
        )
        return [{"author": n.author, "at": _aware(n.at).isoformat(), "text": n.text} for n in rows]


def export_json(conversation_id: str, url: Optional[str] = None) -> dict:
    """One transcript with everything staff know about it, as a JSON-ready dict."""
    info = conversation_by_ref(ref_for(conversation_id, url), url) or {
        "conversation_id": conversation_id
    }
    with session_scope(url) as session:
        handoffs = [
            h.to_dict()
            for h in session.query(Handoff)
            .filter(Handoff.conversation_id == conversation_id)
            .order_by(Handoff.id)
        ]
    return {
        "conversation": info,
        "handoffs": handoffs,
        "notes": notes(conversation_id, url),
        "messages": [i.to_dict() for i in transcript(conversation_id, url=url)],
        "exported_at": utcnow().isoformat(),
    }
