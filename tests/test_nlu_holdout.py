"""FAQ accuracy on the hold-out set (paraphrases that are not in the training data)."""

from __future__ import annotations

import pytest

from bot.nlu_eval import evaluate, load_examples

# Set from what the trained model measured (see the issue note); a drop below means a
# change to data or pipeline made the assistant answer patients' questions worse.
FAQ_ACCURACY_FLOOR = 0.88
OTHER_ACCURACY_FLOOR = 0.80


@pytest.mark.model
async def test_faq_top1_accuracy_on_holdout_is_above_the_floor(agent):
    report = await evaluate(agent, load_examples())
    print(f"FAQ top-1 {report.faq_accuracy:.3f} ({report.faq_correct}/{report.faq_total})")
    assert report.faq_total >= 100
    assert report.faq_accuracy >= FAQ_ACCURACY_FLOOR, report.misses
    assert report.other_accuracy >= OTHER_ACCURACY_FLOOR, report.misses


@pytest.mark.model
async def test_faq_parse_carries_the_full_retrieval_intent(agent):
    parse = await agent.parse_message("what is klonopin?")
    assert parse["intent"]["name"] == "faq"
    selected = parse["response_selector"]["faq"]["response"]
    assert selected["intent_response_key"] == "faq/what_is_clonazepam"
    assert selected["utter_action"] == "utter_faq/what_is_clonazepam"
