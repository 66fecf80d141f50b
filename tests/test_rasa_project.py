"""The Rasa project as Rasa sees it: data validation and conversation tests."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.conftest import BIN, ROOT

# Rasa 3.6 merges retrieval intents from the NLU data into the domain and warns that the
# domain's own `faq` entry is a duplicate; leaving `faq` out of the domain makes every
# rule that uses it warn instead. This one warning is Rasa's, and the only one allowed.
KNOWN_RASA_WARNING = (
    "The following duplicated intents have been found across multiple domain files: faq"
)
# Responses only the SafetyPolicy utters (the crisis fallbacks when an action fails, and
# support while in crisis): no story can show them without contradicting the safety
# rules, which is exactly the situation they exist for. tests/test_safety_dialogue.py
# proves each one is uttered.
POLICY_ONLY_RESPONSES = ("utter_crisis_fallback", "utter_handoff_fallback", "utter_still_here")
# Responses only the staff console sends through Rasa's HTTP API (tests/test_console_rasa.py
# sends each one through a real Rasa server).
CONSOLE_ONLY_RESPONSES = (
    "utter_staff_joined",
    "utter_staff_reply",
    "utter_staff_handed_back",
    "utter_crisis_reminder",
)
# Intents only the SafetyScreen component sets, from the deterministic detector. They have
# no training examples on purpose: trained, the classifier escalated 42 of 179 ordinary
# messages of the team corpus (see data/nlu/safety.yml).
COMPONENT_ONLY_INTENTS = ("safety_concern", "safety_crisis", "safety_emergency")


def _allowed(line: str) -> bool:
    if KNOWN_RASA_WARNING in line:
        return True
    return any(
        f"The utterance '{name}' is not used in any story or rule" in line
        for name in POLICY_ONLY_RESPONSES + CONSOLE_ONLY_RESPONSES
    ) or any(
        f"The intent '{name}' is listed in the domain file, but is not found in the NLU" in line
        for name in COMPONENT_ONLY_INTENTS
    )


def test_rasa_data_validate_passes_without_warnings():
    result = subprocess.run(
        [str(BIN / "rasa"), "data", "validate", "--fail-on-warnings"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    warnings = [
        line
        for line in output.splitlines()
        if re.search(r"UserWarning|WARNING", line) and not _allowed(line)
    ]
    assert not warnings, "\n".join(warnings)


@pytest.mark.model
def test_conversation_stories_pass_with_fail_on_prediction_errors(model_path, tmp_path):
    result = subprocess.run(
        [
            str(BIN / "rasa"),
            "test",
            "core",
            "--model",
            str(model_path),
            "--stories",
            "tests/test_stories.yml",
            "--fail-on-prediction-errors",
            "--out",
            str(tmp_path / "results"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    failed = tmp_path / "results" / "failed_test_stories.yml"
    if failed.exists():
        text = failed.read_text()
        assert "- story:" not in text, text


def _story_user_turns() -> list:
    import yaml

    stories = yaml.safe_load((ROOT / "tests" / "test_stories.yml").read_text())["stories"]
    return [
        (step["user"].strip(), step["intent"])
        for story in stories
        for step in story["steps"]
        if "user" in step
    ]


@pytest.mark.model
@pytest.mark.parametrize("text, intent", _story_user_turns())
async def test_story_turns_select_the_expected_faq_answer(agent, text, intent):
    """`rasa test` checks `utter_faq` but not which answer; this checks the answer too."""
    from bot.nlu_eval import predicted_label

    assert predicted_label(await agent.parse_message(text)) == intent
