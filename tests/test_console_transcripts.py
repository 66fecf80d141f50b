"""The console's transcripts: reading Rasa's events table, the index, search, CSV, notes.

No Rasa server and no model: the tracker store's ``events`` table is created here with
Rasa's columns and filled with rows shaped like the ones SQLTrackerStore writes.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timezone
from typing import List, Optional

import pytest
import sqlalchemy as sa

from bot.handoff import claim_handoff, record_handoff, resolve_handoff
from bot.staff import transcripts as tr
from bot.staff.transcripts import Search, SearchError
from bot.storage.db import get_engine, session_scope
from bot.storage.models import ConversationIndex

DAY = 86_400.0
T0 = datetime(2025, 11, 23, 12, 0, tzinfo=timezone.utc).timestamp()


# ---------------------------------------------------------------------------------------
# Event rows like Rasa's SQLTrackerStore writes them
# ---------------------------------------------------------------------------------------
def events_table(metadata: sa.MetaData) -> sa.Table:
    """Rasa's ``events`` table (rasa.core.tracker_store.SQLTrackerStore.SQLEvent)."""
    return sa.Table(
        "events",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sender_id", sa.String(255), nullable=False, index=True),
        sa.Column("type_name", sa.String(255), nullable=False),
        sa.Column("timestamp", sa.Float),
        sa.Column("intent_name", sa.String(255)),
        sa.Column("action_name", sa.String(255)),
        sa.Column("data", sa.Text),
    )


EVENTS = events_table(sa.MetaData())


def make_db(url: str) -> str:
    """Our tables (migrations) plus the tracker store's events table, in one SQLite file."""
    EVENTS.metadata.create_all(get_engine(url))
    return url


def user(text: str, intent: str = "faq", confidence: float = 0.93, level: str = "none", **kw):
    """A user event; ``level`` above none adds one piece of evidence."""
    evidence = []
    if level != "none":
        evidence = [
            {"pattern": "kill_self", "category": "suicidal_ideation", "level": level, "text": text}
        ]
    return {
        "event": "user",
        "text": text,
        "input_channel": kw.pop("channel", "rest"),
        "parse_data": {
            "intent": {"name": intent, "confidence": confidence},
            "entities": [],
            "safety": {
                "level": level,
                "categories": ["suicidal_ideation"] if evidence else [],
                "evidence": evidence,
            },
        },
        **kw,
    }


def bot(text: str, action: str = "utter_faq/what_is_clonazepam") -> dict:
    return {"event": "bot", "text": text, "metadata": {"utter_action": action}}


def staff(text: str) -> dict:
    return bot(text, "utter_staff_reply")


def action(name: str = "action_listen") -> dict:
    return {"event": "action", "name": name}


def add(url: str, sender: str, *events: dict, at: float = T0, step: float = 10.0) -> List[int]:
    """Insert events (timestamps ``at``, ``at + step``...) the way Rasa does; their ids."""
    ids = []
    with get_engine(url).begin() as conn:
        for i, data in enumerate(events):
            data = {**data, "timestamp": data.get("timestamp", at + i * step)}
            intent = data.get("parse_data", {}).get("intent")
            stamp = data["timestamp"]
            result = conn.execute(
                EVENTS.insert().values(
                    sender_id=sender,
                    type_name=data["event"],
                    timestamp=stamp if isinstance(stamp, float) else None,
                    intent_name=intent.get("name") if isinstance(intent, dict) else None,
                    action_name=data.get("name") if data["event"] == "action" else None,
                    data=json.dumps(data),
                )
            )
            ids.append(result.inserted_primary_key[0])
    return ids


def add_raw(url: str, sender: str, raw: Optional[str], type_name: str = "user") -> None:
    """A row whose data column is not what Rasa writes (damaged, hand-edited)."""
    with get_engine(url).begin() as conn:
        conn.execute(
            EVENTS.insert().values(sender_id=sender, type_name=type_name, timestamp=T0, data=raw)
        )


def index_rows(url: str) -> list:
    with session_scope(url) as session:
        return sorted(
            tuple(getattr(r, c.name) for c in ConversationIndex.__table__.columns)
            for r in session.query(ConversationIndex)
        )


@pytest.fixture
def url(db_url):
    return make_db(db_url)


# ---------------------------------------------------------------------------------------
# One transcript
# ---------------------------------------------------------------------------------------
def test_transcript_is_in_order_with_user_bot_staff_and_system_items(url):
    ids = add(
        url,
        "alice",
        {"event": "session_started"},
        action(),
        user("I want to kill myself", "safety_crisis", 0.88, "crisis", channel="socketio"),
        action("utter_crisis_resources"),
        bot("You matter. Please call the crisis line."),
        {"event": "pause"},
        staff("Hi, this is Kim from the clinic."),
        {"event": "slot", "name": "handoff_open", "value": True},
        {"event": "resume"},
    )
    add(url, "someone_else", user("hello", "greet"))
    items = tr.transcript("alice", url=url)
    assert [i.kind for i in items] == ["system", "user", "bot", "system", "staff", "system"]
    assert [i.event_id for i in items] == sorted(i.event_id for i in items)
    assert items[0].text == "New session"
    said = items[1]
    assert said.text == "I want to kill myself"
    assert (said.intent, said.confidence, said.channel) == ("safety_crisis", 0.88, "socketio")
    assert said.safety["level"] == "crisis"
    assert said.safety["categories"] == ["suicidal_ideation"]
    assert said.safety["evidence"][0]["pattern"] == "kill_self"
    assert items[2].text.startswith("You matter") and items[2].staff is None
    assert items[3].text.startswith("Assistant paused")
    assert (items[4].text, items[4].staff) == (
        "Hi, this is Kim from the clinic.",
        "utter_staff_reply",
    )
    assert items[5].text == "Assistant resumed"
    assert items[1].at == datetime.fromtimestamp(T0 + 20, tz=timezone.utc).isoformat()
    d = said.to_dict()
    assert d["kind"] == "user" and "staff" not in d

    later = tr.transcript("alice", after_event=ids[5], url=url)
    assert [i.kind for i in later] == ["staff", "system"]
    assert tr.transcript("nobody", url=url) == []


def test_malformed_event_rows_are_skipped(url):
    add(url, "bob", user("first"))
    for raw in ("{not json", "null", "[1, 2]", '"text"', "", None):
        add_raw(url, "bob", raw)
    add(url, "bob", bot("second"), at=T0 + 100)
    items = tr.transcript("bob", url=url)
    assert [(i.kind, i.text) for i in items] == [("user", "first"), ("bot", "second")]
    assert [m["text"] for m in tr.last_messages("bob", 10, url)] == ["first", "second"]
    assert tr.refresh_index(url) == 1
    info = tr.conversation_by_ref(tr.ref_for("bob"), url)
    assert info["user_messages"] == 1


def test_odd_field_types_do_not_break_the_transcript_or_the_index(url):
    add(
        url,
        "carol",
        {"event": "user", "text": 5, "timestamp": "soon", "parse_data": {"intent": "faq"}},
        {"event": "user", "text": "ok", "parse_data": {"safety": {"level": ["crisis"]}}},
        {"event": "bot", "text": None, "metadata": "x"},
    )
    assert [i.kind for i in tr.transcript("carol", url=url)] == ["user", "user", "bot"]
    assert tr.refresh_index(url) == 1
    assert tr.conversation_by_ref(tr.ref_for("carol"), url)["max_level"] == "none"


def test_no_events_table_means_nothing_to_read(db_url):
    assert tr.events_table_exists(db_url) is False
    assert tr.transcript("alice", url=db_url) == []
    assert tr.last_messages("alice", url=db_url) == []
    assert tr.refresh_index(db_url) == 0


def test_last_messages_are_the_latest_user_and_bot_messages_oldest_first(url):
    add(url, "dave", user("one"), action(), bot("two"), user("three"), bot("four"), action())
    assert [m["text"] for m in tr.last_messages("dave", 3, url)] == ["two", "three", "four"]
    assert [m["kind"] for m in tr.last_messages("dave", 2, url)] == ["user", "bot"]


# ---------------------------------------------------------------------------------------
# The index
# ---------------------------------------------------------------------------------------
def test_summarise_gives_level_channel_intents_counts_and_text(url):
    add(
        url,
        "Erin-42",
        {"event": "session_started"},
        user("What is KLONOPIN", "faq", channel="twilio"),
        bot("Clonazepam is a benzodiazepine."),
        user("i feel hopeless", "mood_low", level="concern", channel="twilio"),
        user("i want to kill myself", "safety_crisis", level="crisis", channel="twilio"),
        user("sorry", "mood_low", channel="twilio"),
        staff("Kim here."),
    )
    with get_engine(url).connect() as conn:
        rows = conn.execute(
            sa.select(EVENTS.c.id, EVENTS.c.data).where(EVENTS.c.sender_id == "Erin-42")
        ).all()
    summary = tr._summarise("Erin-42", rows)
    assert summary["max_level"] == "crisis" and summary["level_rank"] == 2
    assert summary["channel"] == "twilio"
    assert summary["intents"] == " faq mood_low safety_crisis "
    assert summary["user_messages"] == 4
    assert summary["started_at"] == datetime.fromtimestamp(T0, tz=timezone.utc)
    assert summary["last_at"] == datetime.fromtimestamp(T0 + 60, tz=timezone.utc)
    assert summary["last_event_id"] == max(r[0] for r in rows)
    assert summary["ref"] == tr.ref_for("Erin-42") and "erin" not in summary["ref"]
    text = summary["search_text"]
    assert "erin-42" in text and "what is klonopin" in text and "kim here." in text
    assert tr._summarise("nobody", []) is None


def test_refresh_index_builds_rows_and_is_idempotent(url):
    add(url, "alice", user("hi", "greet"), bot("Hello!"))
    add(url, "bob", user("bye", "goodbye", channel="socketio"), at=T0 + DAY)
    assert tr.refresh_index(url) == 2
    first = index_rows(url)
    assert [r[0] for r in first] == ["alice", "bob"]
    assert tr.refresh_index(url) == 0
    assert index_rows(url) == first
    assert tr.reindex_conversations(["bob", "alice", "alice"], url) == 2
    assert index_rows(url) == first
    info = tr.conversation_by_ref(tr.ref_for("bob"), url)
    assert info["channel"] == "socketio" and info["intents"] == ["goodbye"]
    assert info["flagged"] is False and info["tags"] == [] and info["handoff_status"] == "none"
    assert sorted(tr.channels(url)) == ["rest", "socketio"]


def test_incremental_refresh_picks_up_new_events_and_new_conversations(url):
    add(url, "alice", user("hi", "greet"))
    add(url, "bob", user("hello", "greet"))
    tr.refresh_index(url)
    before = tr.conversation_by_ref(tr.ref_for("alice"), url)
    assert before["user_messages"] == 1 and before["max_level"] == "none"

    new_ids = add(url, "alice", user("i want to die", "safety_crisis", level="crisis"), at=T0 + 50)
    add(url, "carol", user("what is klonopin"), at=T0 + 60)
    assert tr.refresh_index(url) == 2
    after = tr.conversation_by_ref(tr.ref_for("alice"), url)
    assert after["user_messages"] == 2 and after["max_level"] == "crisis"
    assert after["intents"] == ["greet", "safety_crisis"]
    assert after["last_at"] == datetime.fromtimestamp(T0 + 50, tz=timezone.utc).isoformat()
    with session_scope(url) as session:
        assert session.get(ConversationIndex, "alice").last_event_id == new_ids[-1]
        assert session.get(ConversationIndex, "carol") is not None
        assert session.get(ConversationIndex, "bob").user_messages == 1
    assert tr.refresh_index(url) == 0


def test_conversation_by_ref_refreshes_once_and_knows_unknown_refs(url):
    assert tr.conversation_by_ref("conv-000000000000", url) is None
    add(url, "+15551234567", user("hi", channel="twilio"))
    # Not indexed yet: the lookup refreshes the index itself.
    info = tr.conversation_by_ref(tr.ref_for("+15551234567"), url)
    assert info["conversation_id"] == "+15551234567"
    assert info["ref"].startswith("conv-") and "5551234567" not in info["ref"]
    assert tr.conversation_by_ref("conv-000000000000", url) is None


# ---------------------------------------------------------------------------------------
# Search (one shared database: these tests only read it)
# ---------------------------------------------------------------------------------------
D = date(2025, 11, 23)
PHONE = "+15551230000"
ALL = {"alice", "bob", PHONE, "dave", "erin", "frank", "gina", "harry"}
NEWEST_FIRST = [PHONE, "frank", "erin", "bob", "gina", "alice", "harry", "dave"]
ODD_TEXT = '100% sure under_score back\\slash it\'s "quoted" ÜNÏCODE'


def _handoff(url: str, cid: str, level: str, channel: str) -> int:
    row, _ = record_handoff(cid, level, ["suicidal_ideation"], [], "trigger", channel, url=url)
    return row["id"]


def _fresh_postgres(request) -> str:
    """A PostgreSQL database of its own on the local server, dropped after the module."""
    import os
    import uuid

    admin_url = os.environ.get(
        "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    name = f"console_search_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"

    def drop():
        from bot.storage import db

        engine = db._engines.pop(url, None)
        if engine is not None:
            engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    request.addfinalizer(drop)
    return url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def corpus(request, tmp_path_factory):
    """Eight conversations with known channels, dates, levels, handoffs, flags and texts,
    on SQLite (the embedded default) and on the real PostgreSQL server (production)."""
    if request.param == "sqlite":
        url = make_db(f"sqlite:///{tmp_path_factory.mktemp('search') / 'search.db'}")
    else:
        url = make_db(_fresh_postgres(request))

    def days_ago(n: float) -> float:
        return T0 - n * DAY

    ok = bot("Thanks for telling me.", "utter_ack")
    add(url, "alice", user("what is klonopin", "faq"), ok, at=days_ago(10))
    add(
        url,
        "bob",
        user("i feel hopeless and tired", "mood_low", level="concern", channel="socketio"),
        at=days_ago(5),
    )
    add(
        url,
        PHONE,
        user("i want to kill myself", "safety_crisis", level="crisis", channel="twilio"),
        ok,
        at=days_ago(1),
    )
    add(
        url,
        "dave",
        user("i took all my pills", "safety_emergency", level="emergency", channel="twilio"),
        at=days_ago(20),
    )
    add(url, "erin", user("taper plan please", "taper_question"), ok, at=days_ago(3))
    add(url, "frank", user(ODD_TEXT, "faq_followup", channel="socketio"), at=days_ago(2))
    add(url, "gina", user("sleep is bad", "sleep_problems", level="concern"), at=days_ago(7))
    add(url, "harry", user("hello", "greet"), at=days_ago(15))
    add(url, "harry", user("goodbye", "goodbye"), at=days_ago(12))

    _handoff(url, PHONE, "crisis", "twilio")
    claim_handoff(_handoff(url, "dave", "emergency", "twilio"), "kim", url=url)
    resolve_handoff(_handoff(url, "erin", "concern", "rest"), "kim", "called back", url=url)
    resolve_handoff(_handoff(url, "gina", "concern", "rest"), "kim", "fine", url=url)
    _handoff(url, "gina", "concern", "rest")  # a new, open one after the resolved one
    tr.set_flag("erin", True, "kim", url=url)
    tr.set_tags("erin", ["follow-up"], url=url)
    tr.set_flag("dave", True, "kim", url=url)
    tr.set_flag("dave", False, "kim", url=url)
    assert tr.refresh_index(url) == len(ALL)
    return url


def found(corpus: str, **filters) -> set:
    result = tr.search_conversations(Search(page_size=100, **filters), corpus)
    assert result["total"] == len(result["results"])
    return {r["conversation_id"] for r in result["results"]}


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({}, ALL),
        ({"date_from": date(2025, 11, 18)}, {"bob", PHONE, "erin", "frank"}),
        ({"date_to": date(2025, 11, 13)}, {"alice", "harry", "dave"}),
        ({"date_from": date(2025, 11, 18), "date_to": date(2025, 11, 18)}, {"bob"}),
        # harry's conversation spans the 8th to the 11th: it overlaps the 10th.
        ({"date_from": date(2025, 11, 10), "date_to": date(2025, 11, 10)}, {"harry"}),
        ({"date_from": date(2025, 11, 24)}, set()),
        ({"channel": "twilio"}, {PHONE, "dave"}),
        ({"channel": "sms"}, set()),
        ({"min_level": "none"}, ALL),
        ({"min_level": "concern"}, {"bob", PHONE, "dave", "gina"}),
        ({"min_level": "crisis"}, {PHONE, "dave"}),
        ({"min_level": "emergency"}, {"dave"}),
        ({"flagged": "flagged"}, {"erin"}),
        ({"flagged": "unflagged"}, ALL - {"erin"}),
        ({"handoff": "none"}, {"alice", "bob", "frank", "harry"}),
        ({"handoff": "open"}, {PHONE, "gina"}),
        ({"handoff": "claimed"}, {"dave"}),
        # gina's latest handoff is open again: "resolved" means nothing is pending.
        ({"handoff": "resolved"}, {"erin"}),
        ({"intent": "faq"}, {"alice"}),  # a whole intent name, not faq_followup
        ({"intent": "FAQ"}, {"alice"}),
        ({"intent": "mood_low"}, {"bob"}),
        ({"intent": "mood"}, set()),
        ({"text": "klonopin"}, {"alice"}),
        ({"text": "KLONOPIN"}, {"alice"}),
        ({"text": "hopeless tired"}, {"bob"}),
        ({"text": "  tired   hopeless "}, {"bob"}),
        ({"text": "tired klonopin"}, set()),
        ({"text": "5551230000"}, {PHONE}),  # the conversation id is searchable too
        ({"text": "thanks"}, {"alice", PHONE, "erin"}),  # bot messages are searched
        (
            {"channel": "twilio", "min_level": "crisis", "handoff": "open", "text": "kill"},
            {PHONE},
        ),
        ({"channel": "twilio", "flagged": "flagged"}, set()),
    ],
)
def test_each_search_filter(corpus, filters, expected):
    assert found(corpus, **filters) == expected


def test_results_are_newest_first_and_paged_with_a_total(corpus):
    pages = [tr.search_conversations(Search(page=n, page_size=3), corpus) for n in (1, 2, 3, 4)]
    assert [p["total"] for p in pages] == [8, 8, 8, 8]
    assert [p["pages"] for p in pages] == [3, 3, 3, 3]
    assert [len(p["results"]) for p in pages] == [3, 3, 2, 0]
    ids = [r["conversation_id"] for p in pages for r in p["results"]]
    assert ids == NEWEST_FIRST
    nothing = tr.search_conversations(Search(channel="sms"), corpus)
    assert (nothing["total"], nothing["pages"], nothing["results"]) == (0, 1, [])


def test_results_carry_flags_tags_and_the_latest_handoff_status(corpus):
    rows = {
        r["conversation_id"]: r
        for r in tr.search_conversations(Search(page_size=100), corpus)["results"]
    }
    assert rows["erin"]["flagged"] is True and rows["erin"]["tags"] == ["follow-up"]
    assert rows["erin"]["handoff_status"] == "resolved"
    assert rows["dave"]["flagged"] is False and rows["dave"]["handoff_status"] == "claimed"
    assert rows["gina"]["handoff_status"] == "open"
    assert rows["alice"]["handoff_status"] == "none"
    assert rows[PHONE]["max_level"] == "crisis" and rows[PHONE]["channel"] == "twilio"
    assert rows[PHONE]["ref"] == tr.ref_for(PHONE)
    assert rows["harry"]["user_messages"] == 2 and rows["harry"]["intents"] == ["greet", "goodbye"]


def _tables(url: str) -> set:
    return set(sa.inspect(get_engine(url)).get_table_names())


def _event_count(url: str) -> int:
    with get_engine(url).connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(EVENTS)).scalar()


@pytest.mark.parametrize(
    "value, expected",
    [
        ("'; DROP TABLE events; --", set()),
        ('" OR 1=1 --', set()),
        ("%", {"frank"}),  # literally a percent sign, not "anything"
        ("%%", set()),
        ("_", {"frank"}),  # literally an underscore, not "any one character"
        ("\\", {"frank"}),
        ("back\\slash", {"frank"}),
        ("\\%", set()),
        ("it's", {"frank"}),
        ('"quoted"', {"frank"}),
        ("ünïcode", {"frank"}),
        ("ÜNÏCODE", {"frank"}),
        ("日本語 🙂", set()),
        ("zz\x00qq", set()),  # PostgreSQL refuses NUL in a string
        ("x" * 100_000, set()),
    ],
)
def test_hostile_search_text_is_harmless_and_literal(corpus, value, expected):
    tables, events = _tables(corpus), _event_count(corpus)
    search = Search.from_args({"q": value})
    assert found(corpus, text=search.text) == expected
    if "\x00" not in value and len(value) < 200:
        assert found(corpus, text=value) == expected  # also without from_args' cleaning
    both = Search.from_args({"q": value, "intent": value, "channel": value, "page": "2"})
    assert tr.search_conversations(both, corpus)["results"] == []
    assert tr.search_csv(both, corpus).count("\n") == 1  # just the header
    assert _tables(corpus) == tables and {"events", "conversation_index"} <= tables
    assert _event_count(corpus) == events


@pytest.mark.parametrize("value", ["%", "_", "%faq%", "f_q", "\\", "'; DROP TABLE events; --"])
def test_hostile_intent_and_channel_filters_match_nothing(corpus, value):
    assert found(corpus, intent=value) == set()
    assert found(corpus, channel=value) == set()


@pytest.mark.parametrize(
    "args, field",
    [
        ({"from": "2025-13-01"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"to": "23/11/2025"}, "to"),
        ({"to": "'; DROP TABLE events; --"}, "to"),
        ({"level": "high"}, "level"),
        ({"level": "CRISIS"}, "level"),
        ({"flagged": "yes"}, "flagged"),
        ({"handoff": "pending"}, "handoff"),
        ({"page": "two"}, "page"),
        ({"page": "1.5"}, "page"),
    ],
)
def test_from_args_rejects_bad_values(args, field):
    with pytest.raises(SearchError, match=f"^{field}:"):
        Search.from_args(args)


def test_from_args_reads_query_string_values():
    search = Search.from_args(
        {
            "from": "2025-11-01",
            "to": ["2025-11-23", "2025-12-01"],
            "channel": " twilio ",
            "level": "crisis",
            "flagged": "unflagged",
            "handoff": "open",
            "intent": "faq",
            "q": "tab\there\x00",
            "page": "3",
        }
    )
    assert (search.date_from, search.date_to) == (date(2025, 11, 1), date(2025, 11, 23))
    assert (search.channel, search.min_level, search.flagged) == ("twilio", "crisis", "unflagged")
    assert (search.handoff, search.intent, search.page) == ("open", "faq", 3)
    assert search.text == "tab here"
    assert Search.from_args(search.as_args()).as_args() == search.as_args()
    empty = Search.from_args({})
    assert (empty.min_level, empty.flagged, empty.handoff, empty.page) == ("none", "any", "any", 1)
    assert Search.from_args({"page": "-4"}).page == 1
    assert Search.from_args({"page": "99999999999"}).page == 100_000
    assert len(Search.from_args({"q": "y" * 5000}).text) == 200


# ---------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------
def test_search_csv_has_the_header_and_every_match(corpus):
    body = tr.search_csv(Search(min_level="concern"), corpus)
    rows = list(csv.reader(io.StringIO(body)))
    assert tuple(rows[0]) == tr.CSV_COLUMNS
    ids = [r[0] for r in rows[1:]]
    assert ids == ["'" + PHONE, "bob", "gina", "dave"]  # newest first; + escaped
    dave = dict(zip(tr.CSV_COLUMNS, rows[-1], strict=True))
    assert dave["max_level"] == "emergency" and dave["handoff_status"] == "claimed"
    assert dave["flagged"] == "False" and dave["intents"] == "safety_emergency"
    many = tr.search_csv(Search(), corpus, limit=500)
    assert many.count("\n") == 1 + len(ALL)


def test_search_csv_escapes_cells_a_spreadsheet_would_run(url):
    for cid in ('=HYPERLINK("http://x")', "+1555", "-2+3", "@SUM(A1)", "plain"):
        add(url, cid, user("hi", "greet"))
    tr.set_tags("plain", ["=cmd|' /c calc'!a0", "ok"], url=url)
    tr.refresh_index(url)
    rows = list(csv.reader(io.StringIO(tr.search_csv(Search(), url))))
    cells = {r[0] for r in rows[1:]}
    assert cells == {'\'=HYPERLINK("http://x")', "'+1555", "'-2+3", "'@SUM(A1)", "plain"}
    plain = dict(zip(tr.CSV_COLUMNS, next(r for r in rows if r[0] == "plain"), strict=True))
    assert plain["tags"] == "'=cmd|' /c calc'!a0 ok"
    for row in rows[1:]:
        assert all(cell[:1] not in "=+-@" or cell == "" for cell in row)


# ---------------------------------------------------------------------------------------
# Tags, flags, notes, export
# ---------------------------------------------------------------------------------------
def test_clean_tags():
    assert tr.clean_tags(" Follow-Up , follow-up,  Needs   Call ,, ") == ["follow-up", "needs call"]
    assert tr.clean_tags("") == [] and tr.clean_tags(None) == []
    assert tr.clean_tags("x" * 50) == ["x" * 32]
    assert tr.clean_tags(",".join(f"t{i}" for i in range(20))) == [f"t{i}" for i in range(12)]


def test_flag_tags_and_notes(url):
    add(url, "alice", user("hi", "greet"))
    ref = tr.ref_for("alice")
    tr.set_flag("alice", True, "kim", url=url)
    tr.set_tags("alice", tr.clean_tags("Relapse, call back"), url=url)
    info = tr.conversation_by_ref(ref, url)
    assert info["flagged"] is True and info["tags"] == ["relapse", "call back"]
    tr.set_flag("alice", False, "kim", url=url)
    tr.set_tags("alice", [], url=url)
    info = tr.conversation_by_ref(ref, url)
    assert info["flagged"] is False and info["tags"] == []

    for empty in ("", "   ", None):
        with pytest.raises(ValueError, match="text"):
            tr.add_note("alice", "kim", empty, url=url)
    assert tr.notes("alice", url) == []
    tr.add_note("alice", "kim", "  Called, she is safe.  ", url=url)
    tr.add_note("alice", "lee", "y" * 5000, url=url)
    notes = tr.notes("alice", url)
    assert [(n["author"], n["text"][:10]) for n in notes] == [
        ("kim", "Called, sh"),
        ("lee", "yyyyyyyyyy"),
    ]
    assert notes[0]["text"] == "Called, she is safe." and len(notes[1]["text"]) == 4000
    assert datetime.fromisoformat(notes[0]["at"]).tzinfo is not None
    assert tr.notes("bob", url) == []


def test_export_json_has_the_conversation_messages_handoffs_and_notes(url):
    add(
        url,
        PHONE,
        user("i want to kill myself", "safety_crisis", level="crisis", channel="twilio"),
        bot("Please call the crisis line."),
        staff("Kim here."),
    )
    handoff = _handoff(url, PHONE, "crisis", "twilio")
    claim_handoff(handoff, "kim", url=url)
    tr.add_note(PHONE, "kim", "Called back.", url=url)
    data = tr.export_json(PHONE, url)
    json.dumps(data)  # JSON-ready
    assert data["conversation"]["ref"] == tr.ref_for(PHONE)
    assert data["conversation"]["max_level"] == "crisis"
    assert data["conversation"]["handoff_status"] == "claimed"
    assert [m["kind"] for m in data["messages"]] == ["user", "bot", "staff"]
    assert data["messages"][0]["safety"]["level"] == "crisis"
    assert [(h["id"], h["status"], h["claimed_by"]) for h in data["handoffs"]] == [
        (handoff, "claimed", "kim")
    ]
    assert [n["text"] for n in data["notes"]] == ["Called back."]
    assert datetime.fromisoformat(data["exported_at"]).tzinfo is not None
    unknown = tr.export_json("nobody", url)
    assert unknown["conversation"] == {"conversation_id": "nobody"}
    assert unknown["messages"] == unknown["handoffs"] == unknown["notes"] == []


def test_a_replica_indexing_the_same_conversation_first_is_not_an_error(url, monkeypatch):
    from sqlalchemy.exc import IntegrityError

    add(url, "alice", user("hi", "greet"), user("bye", "goodbye"))
    real = tr._store_summaries
    calls = []

    def racing(summaries, db):
        calls.append(1)
        if len(calls) == 1:  # another console replica commits the same rows first
            real({k: {**v, "user_messages": 99} for k, v in summaries.items()}, db)
            raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))
        real(summaries, db)

    monkeypatch.setattr(tr, "_store_summaries", racing)
    assert tr.refresh_index(url) == 1
    assert len(calls) == 2
    assert tr.conversation_by_ref(tr.ref_for("alice"), url)["user_messages"] == 2


def test_transcript_explains_the_safety_actions_but_not_routine_ones(url):
    add(
        url,
        "why",
        user("i want to die", "safety_crisis", level="crisis"),
        action("action_crisis_response"),
        bot("You deserve support right now.", "utter_crisis_fallback"),
        action("action_staff_handoff"),
        action("action_listen"),
    )
    items = tr.transcript("why", url=url)
    assert [i.kind for i in items] == ["user", "action", "bot", "action"]
    assert items[1].text.startswith("action_crisis_response")
    assert items[3].text.startswith("action_staff_handoff")
