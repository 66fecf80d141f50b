"""The safety screen: runs the safety detector on every user message, on every channel.

It sits last in the NLU pipeline, so it has the final word: when the detector says
``crisis`` or ``emergency`` the intent becomes ``safety_crisis`` / ``safety_emergency``
with confidence 1.0, whatever the classifier thought; a ``concern`` on anything but a FAQ
question becomes ``safety_concern``. Should the classifier itself predict a safety
intent, that prediction is kept: the classifier can add escalations, never remove them
(today no NLU examples carry safety intents; the learned layer of :mod:`bot.safety`
took over that job).

Every message carries the assessment under ``safety`` (level, categories, evidence),
which reaches the tracker and so the staff console. Two entities, ``safety_level`` and
``safety_variant``, fill slots inside Rasa itself (no action server needed), which is
what lets the crisis fallback response pick the right wording if the action server fails.
"""

import logging
import re
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.crisis import LEVEL_ORDER, about_writer, variant_for

logger = logging.getLogger(__name__)

_QUESTION_START = re.compile(
    r"^(is|are|am|can|could|does|do|did|should|will|would|has|have|how|what|whats|what's|"
    r"why|when|where|which|who|y|wat|hw)\b",
    re.IGNORECASE,
)


def asks_a_question(text: str) -> bool:
    """Whether the message ends by asking something: a question mark, or its last sentence
    opens like a question ("is that normal", "y do i feel so down")."""
    if "?" in text:
        return True
    sentences = [s.strip() for s in re.split(r"[.!\n]+", text) if s.strip()]
    return bool(sentences) and bool(_QUESTION_START.match(sentences[-1]))


SAFETY_KEY = "safety"
SAFETY_INTENTS = {"crisis": "safety_crisis", "emergency": "safety_emergency"}
CLASSIFIER_LEVELS = {
    "safety_concern": "concern",
    "safety_crisis": "crisis",
    "safety_emergency": "emergency",
}
EXTRACTOR = "SafetyScreen"


def _entity(name: str, value: str, text: str) -> Dict[str, Any]:
    # Spans cover the whole message: the signal is the message, not a word in it.
    return {
        "entity": name,
        "value": value,
        "start": 0,
        "end": len(text),
        "confidence_entity": 1.0,
        "extractor": EXTRACTOR,
    }


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class SafetyScreen(GraphComponent):
    """Apply the deterministic safety detector to every message (see module docstring)."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """No options: the detector's behaviour is fixed and tested."""
        return {}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SafetyScreen":
        """Create the component and load the detector now, not on a patient's first message."""
        from bot.safety import warm_up

        warm_up()
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to learn."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Screen each message and override the intent when it is a crisis or emergency."""
        for message in messages:
            self.screen(message)
        return messages

    def screen(self, message: Message) -> dict | None:
        """Screen one message in place; return the assessment dict it recorded."""
        # Cached by text: the SafetyPolicy screens the same text again for the
        # conversation (bot.safety.conversation), so each message is assessed once.
        from bot.safety.conversation import assess_cached

        text = message.get(TEXT)
        if not isinstance(text, str) or not text.strip():
            return None
        try:
            result = assess_cached(text)
            assessment = {**result.to_dict(), "about_self": result.about_self}
        except Exception:  # never lose the message: screen with the classifier alone
            logger.exception("safety detector failed; relying on the classifier")
            assessment = {"level": "none", "categories": [], "evidence": [], "error": True}
        assessment.pop("text", None)

        intent = message.get(INTENT) or {}
        level = assessment["level"]
        classifier_level = CLASSIFIER_LEVELS.get(intent.get("name"))
        if classifier_level and LEVEL_ORDER[classifier_level] > LEVEL_ORDER[level]:
            # The classifier found a signal the rules missed: keep it, and say so.
            level = classifier_level
            assessment["level"] = level
            assessment["evidence"] = assessment["evidence"] + [
                {
                    "pattern": "classifier",
                    "category": "classifier",
                    "level": level,
                    "text": f"{intent.get('name')} ({intent.get('confidence', 0):.2f})",
                }
            ]
        assessment["variant"] = variant_for(level, assessment["categories"])
        assessment["classifier_intent"] = intent.get("name")
        message.set(SAFETY_KEY, assessment, add_to_output=True)

        if level in SAFETY_INTENTS:
            self._set_intent(message, SAFETY_INTENTS[level])
        elif level == "concern" and self._redirect_concern(intent.get("name"), assessment, text):
            # A general or third-party question keeps its FAQ answer (the SafetyPolicy adds
            # the safety line after it) and a yes/no keeps answering the screener; a concern
            # about the person writing gets the safety follow-up instead of a FAQ answer.
            self._set_intent(message, "safety_concern")
        if level != "none":
            entities = list(message.get(ENTITIES) or [])
            entities.append(_entity("safety_level", level, text))
            entities.append(_entity("safety_variant", assessment["variant"], text))
            message.set(ENTITIES, entities, add_to_output=True)
        return assessment

    @staticmethod
    def _redirect_concern(intent_name: str, assessment: dict, text: str = "") -> bool:
        if intent_name in ("affirm", "deny"):
            return False
        if intent_name == "faq":
            # "mood swings since my last cut, is this withdrawal?" asks something: it gets
            # its answer and then the safety line (FAQ blind round 1: the follow-up used to
            # replace the answer). A statement ("i feel so hopeless lately") is not answered
            # with whatever FAQ came closest.
            about_me = bool(assessment.get("about_self")) and about_writer(assessment["categories"])
            return about_me and not asks_a_question(text)
        return True

    @staticmethod
    def _set_intent(message: Message, name: str) -> None:
        override = {"name": name, "confidence": 1.0}
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != name]
        message.set(INTENT, override, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [override] + ranking, add_to_output=True)
