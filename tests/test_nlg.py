"""Responses get clinic details and crisis numbers from configuration, inside Rasa."""

from __future__ import annotations

import re

import yaml
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from bot.nlg import ClinicNLG, response_variables
from tests.conftest import ROOT


def _domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


async def test_greeting_names_the_clinic_and_the_crisis_line_from_clinic_yml():
    domain = _domain()
    nlg = ClinicNLG(endpoint_config=None, domain=domain)
    tracker = DialogueStateTracker("p1", domain.slots)
    message = await nlg.generate("utter_greet", tracker, "rest")
    variables = response_variables()
    assert variables["clinic_name"] in message["text"]
    assert "988" in message["text"]
    assert "{" not in message["text"]


async def test_faq_answer_with_placeholders_is_filled():
    domain = _domain()
    nlg = ClinicNLG(endpoint_config=None, domain=domain)
    tracker = DialogueStateTracker("p1", domain.slots)
    message = await nlg.generate("utter_faq/withdrawal_seizures", tracker, "rest")
    assert "call 911" in message["text"]
    assert message["metadata"]["sources"]


def test_every_placeholder_in_the_domain_is_known():
    domain_text = (ROOT / "domain.yml").read_text()
    used = set(re.findall(r"{([a-z_]+)}", domain_text))
    # Slots fill placeholders too (the console's staff_name / staff_reply).
    slots = set(yaml.safe_load(domain_text)["slots"])
    assert {"staff_name", "staff_reply"} <= slots
    assert used <= set(response_variables()) | {"staff_name", "staff_reply"}


async def test_a_two_question_faq_message_gets_the_answer_and_an_offer_of_the_other():
    from rasa.shared.core.events import UserUttered

    domain = _domain()
    nlg = ClinicNLG(endpoint_config=None, domain=domain)
    tracker = DialogueStateTracker("p1", domain.slots)
    tracker.update(
        UserUttered("What are the signs of klonopin withdrawal? And can I drink alcohol on it?")
    )
    message = await nlg.generate("utter_faq/alcohol", tracker, "rest")
    # The answer comes first and whole; then the offer of the question it did not cover.
    answer = domain.responses["utter_faq/alcohol"][0]["text"].split("{")[0]
    assert message["text"].startswith(answer)
    assert message["text"].index("Sources:") < message["text"].index("You also asked")
    assert 'You also asked: "What are the signs of klonopin withdrawal?"' in message["text"]
    assert message["buttons"] == [
        {
            "title": "What are the signs of klonopin withdrawal?",
            "payload": "What are the signs of klonopin withdrawal?",
        }
    ]


async def test_a_one_question_faq_message_gets_the_answer_alone():
    from rasa.shared.core.events import UserUttered

    domain = _domain()
    nlg = ClinicNLG(endpoint_config=None, domain=domain)
    tracker = DialogueStateTracker("p1", domain.slots)
    tracker.update(UserUttered("can I drink alcohol on klonopin?"))
    message = await nlg.generate("utter_faq/alcohol", tracker, "rest")
    assert "You also asked" not in message["text"]
    assert not message.get("buttons")
