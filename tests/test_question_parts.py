"""Two questions in one message: the parts are found and the unanswered one is offered."""

from __future__ import annotations

import numpy as np
import pytest

from bot.question_parts import Offer, offer_for, question_parts


@pytest.mark.parametrize(
    "message, parts",
    [
        ("what is klonopin", ["what is klonopin?"]),
        (
            "Does Klonopin help with depression at all, and should I bring it up with my doctor?",
            ["Does Klonopin help with depression at all?", "should I bring it up with my doctor?"],
        ),
        (
            "can i drink on klonopin and how long does it stay in my system",
            ["can i drink on klonopin?", "how long does it stay in my system?"],
        ),
        (
            "What is clonazepam? And how long does withdrawal last?",
            ["What is clonazepam?", "how long does withdrawal last?"],
        ),
        # Context before one question is not a second question.
        (
            "I was prescribed Klonopin a year ago. Lately it works less. Is that tolerance?",
            ["Is that tolerance?"],
        ),
        # "when and where" is one question, not two.
        (
            "do you know when and where the group meets",
            ["do you know when and where the group meets?"],
        ),
        ("and why?", []),
        ("", []),
        ("x" * 5000 + "? and why is that so?", []),
    ],
)
def test_question_parts(message, parts):
    assert question_parts(message) == parts


def _keyword_encoder(texts):
    """Unit vectors over three topics, enough to tell which part an answer covers."""
    words = ("depress", "doctor", "withdrawal")
    rows = []
    for text in texts:
        v = np.array([text.lower().count(w) for w in words], dtype=np.float32) + 1e-3
        rows.append(v / np.linalg.norm(v))
    return np.stack(rows)


def test_the_offer_is_the_question_the_answer_did_not_cover():
    message = "Does Klonopin help with depression at all, and should I bring it up with my doctor?"
    answer = "Sometimes, as an add-on when anxiety is part of depression.\n\nSources: Doctor Guide"
    offer = offer_for(message, answer, encode=_keyword_encoder)
    assert offer == Offer("should I bring it up with my doctor?")
    assert offer.button == {"title": offer.question, "payload": offer.question}
    assert offer.question in offer.text
    # The "Sources:" line does not count: the answer about the doctor is the second part.
    answer_2 = "Yes, tell your doctor about any change.\n\nSources: Depression Guide"
    assert offer_for(message, answer_2, encode=_keyword_encoder).question == (
        "Does Klonopin help with depression at all?"
    )


def test_one_question_gets_no_offer_and_no_encoding():
    def never(texts):
        raise AssertionError("encoded a one-question message")

    assert (
        offer_for("what are the withdrawal symptoms?", "Anxiety, poor sleep.", encode=never) is None
    )
