"""FAQ blind rounds (bot/faq_blind.py): answers found by their text, crisis blocks told
apart from FAQ answers, judgements reused and unjudged answers counted wrong."""

from __future__ import annotations

from bot import faq_blind
from bot.knowledge import load_answers


def _fake_assistant(replies):
    """A `say` callable that answers each question with the texts given for it."""
    return lambda sender, question: replies[question]


def test_answers_are_known_by_their_text_and_crisis_lines_by_their_numbers():
    answers = {a.topic: a.text for a in load_answers()}
    rows = [
        {"question": "is klonopin addictive", "fact": "f", "style": "plain"},
        {"question": "my brother drinks on it", "fact": "f", "style": "relative"},
        {"question": "asdf", "fact": "f", "style": "fragment"},
    ]
    replies = {
        "is klonopin addictive": [answers["why_addictive"]],
        "my brother drinks on it": [
            answers["alcohol"],
            "If someone is in danger now, call 911. 988 Suicide & Crisis Lifeline: call 988.",
        ],
        "asdf": ["Sorry, I'm not sure I understood."],
    }
    asked = faq_blind.ask_round(rows, _fake_assistant(replies), "t")
    assert [a.topics for a in asked] == [["why_addictive"], ["alcohol"], [faq_blind.NO_ANSWER]]
    assert [a.crisis_block for a in asked] == [False, True, False]


def test_score_reuses_judgements_and_counts_unjudged_answers_wrong():
    asked = [
        faq_blind.Asked("q1", "f", "plain", ["tolerance"], False, ""),
        faq_blind.Asked("q2", "f", "sms", ["tapering", "alcohol"], True, ""),
        faq_blind.Asked("q3", "f", "sms", ["side_effects"], False, ""),
    ]
    judged = {("q1", "tolerance"): True, ("q2", "tapering"): False, ("q3", "driving"): True}
    score = faq_blind.score(asked, judged)
    assert (score.right, score.total, score.crisis_blocks) == (1, 3, 1)
    assert score.unjudged == [("q3", "side_effects")]
    assert score.by_style == {"plain": [1, 1], "sms": [0, 2]}


def test_written_answers_and_judgements_read_back(tmp_path):
    asked = [faq_blind.Asked("q\tone", "fact", "plain", ["tolerance"], False, "a\nb")]
    out = tmp_path / "asked.tsv"
    faq_blind.write_asked(asked, out)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and "a / b" in lines[1]
    judged = tmp_path / "round9.judged.tsv"
    judged.write_text("question\ttopic\tright\tnote\nq1\ttolerance\tyes\tok\nq2\t-\tno\tnone\n")
    assert faq_blind.read_judgements(judged) == {("q1", "tolerance"): True, ("q2", "-"): False}
    assert faq_blind.read_judgements(tmp_path / "missing.tsv") == {}


def test_every_committed_round_has_judgements_for_each_question():
    rounds = faq_blind.round_files()
    assert rounds
    for path in rounds:
        questions = {r["question"] for r in faq_blind.read_round(path)}
        judged = {
            q for q, _ in faq_blind.read_judgements(path.with_name(path.stem + ".judged.tsv"))
        }
        assert questions == judged, path.name
