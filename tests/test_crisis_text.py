"""Crisis wording: resources from configuration, safe messaging, screener triage."""

from __future__ import annotations

import re

import pytest

from bot.crisis import VARIANTS, crisis_message, screener_result_level, variant_for
from bot.settings import clinic_config

METHOD_WORDS = re.compile(r"\b(lethal|how many pills|bridge|rope|gun|hang|jump)\b", re.I)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_gives_resources_from_configuration_without_method_details(variant):
    text = crisis_message(variant)
    cfg = clinic_config()
    assert cfg.resources[0].how in text
    assert cfg.emergency.how in text.lower()
    assert not METHOD_WORDS.search(text)
    assert "committed suicide" not in text


def test_emergency_puts_911_first_and_withdrawal_says_do_not_take_more_or_mix():
    assert crisis_message("emergency").lower().startswith("call 911")
    withdrawal = crisis_message("withdrawal").lower()
    assert "don't take extra" in withdrawal and "alcohol, opioids" in withdrawal
    assert "seizure" in withdrawal and "prescriber" in withdrawal
    assert "SAMHSA" in crisis_message("withdrawal")


def test_ideation_gives_the_resources_before_anything_else():
    lines = crisis_message("ideation").splitlines()
    assert lines[1].startswith("• 988")


@pytest.mark.parametrize(
    "level, categories, variant",
    [
        ("emergency", ["overdose"], "emergency"),
        ("crisis", ["severe_withdrawal"], "withdrawal"),
        ("crisis", ["suicidal_ideation"], "ideation"),
        ("emergency", ["overdose", "third_party"], "third_party"),
        ("concern", ["hopelessness"], "concern"),
    ],
)
def test_variant_follows_level_and_categories(level, categories, variant):
    assert variant_for(level, categories) == variant


@pytest.mark.parametrize(
    "answers, level",
    [
        ({1: False, 2: False, 6: False}, "concern"),
        ({1: True, 2: False, 6: False}, "concern"),
        ({1: True, 2: True, 3: False, 4: False, 5: False, 6: False}, "crisis"),
        ({1: True, 2: True, 3: True, 4: True, 5: False, 6: False}, "emergency"),
        ({1: True, 2: True, 3: True, 4: False, 5: True, 6: False}, "emergency"),
        ({1: False, 2: False, 6: True}, "emergency"),
    ],
)
def test_cssrs_triage(answers, level):
    assert screener_result_level(answers) == level
