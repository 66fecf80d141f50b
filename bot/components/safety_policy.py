"""SafetyPolicy: the dialogue side of the safety layer, in one readable place.

Rules (data/rules/safety.yml) do the normal mapping: a safety intent runs the crisis
response and the staff handoff; ``safety_concern`` runs the safety follow-up. This policy
sits above them (higher priority) and steps in only for what rules cannot express:

1. A failed custom action never leaves a person in crisis without an answer. If
   ``action_crisis_response`` or ``action_staff_handoff`` ran but returned nothing, no
   message and no slot (the action server is down or the action raised), the plain
   domain responses
   ``utter_crisis_fallback`` / ``utter_handoff_fallback`` follow, filled from clinic.yml
   inside the Rasa server.
2. The conversation counts, not only the message: ``bot.safety.assess_conversation``
   (weak signals across turns, a timeframe or means after earlier ideation...) can make
   a turn a crisis that no single message is ("tonight" after "I want to die"); the
   crisis sequence then runs as for a safety intent. After an ordinary answer (for
   example a FAQ answer), a ``concern`` in this message or weak signals across turns
   reaching ``concern`` add ``action_safety_followup`` (the short safety line, a flag for
   staff review and, when it is about the user, the screener).
3. ``action_safety_followup`` that asks for the screener is followed by the C-SSRS form,
   once per conversation.
4. While the conversation carries a crisis, a message the assistant does not understand
   gets ``utter_still_here`` (support and the crisis line), not "I didn't understand".
5. A message that discloses a crisis and also asks a FAQ question ("took way too many
   tonight. also when does withdrawal peak?") gets the crisis response and the handoff
   first, then the answer (``utter_faq``), when the answer selector was sure of it and
   neither the disclosure nor the topic is about methods or amounts.

It reads the safety assessments that the SafetyScreen component stored on each user
message and re-screens the conversation's texts (cached), so it needs no action server
and no training.
"""

from typing import Any, Dict, List, Optional, Text

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.crisis import LEVEL_ORDER

CRISIS_INTENTS = {"safety_crisis", "safety_emergency"}
# After a crisis response, the question is answered only when the answer selector was at
# least this sure, and never on these topics or after these kinds of disclosure: an answer
# about amounts, mixing or overdose is not what someone who has just disclosed needs.
ANSWER_AFTER_CRISIS_CONFIDENCE = 0.45  # below it, a mixed message often gets a neighbour's answer
NOT_AFTER_CRISIS_TOPICS = frozenset({"alcohol", "drug_interactions", "serious_risks"})
NOT_AFTER_CRISIS_CATEGORIES = frozenset({"method_seeking", "informational"})
UNDERSTOOD_NOTHING = {"nlu_fallback", "out_of_scope"}
NOT_ANSWERS = {"action_listen", "action_extract_slots", "action_session_start"}
SCREENER = "cssrs_form"


def _own_level(event: UserUttered) -> str:
    return ((event.parse_data or {}).get("safety") or {}).get("level", "none")


def conversation_levels(texts: List[Text]) -> tuple:
    """(level before the latest message, level with it) for the whole conversation."""
    from bot.safety.conversation import assess_cached, assess_conversation

    risk = assess_conversation(texts[:-1])
    before = risk.level.value
    return before, risk.add(assess_cached(texts[-1])).value


def question_to_answer_after_crisis(tracker: DialogueStateTracker) -> bool:
    """Whether the latest message also asked a FAQ question worth answering after the
    crisis response (module docstring, point 5)."""
    from bot.components.safety_screen import asks_a_question

    message = tracker.latest_message
    parse = (message.parse_data if message else None) or {}
    safety = parse.get("safety") or {}
    if safety.get("classifier_intent") != "faq" or not asks_a_question(message.text or ""):
        return False
    if NOT_AFTER_CRISIS_CATEGORIES & set(safety.get("categories") or ()):
        return False
    selected = ((parse.get("response_selector") or {}).get("faq") or {}).get("response") or {}
    topic = str(selected.get("intent_response_key") or "").split("/", 1)[-1]
    return (
        bool(topic)
        and topic not in NOT_AFTER_CRISIS_TOPICS
        and float(selected.get("confidence") or 0.0) >= ANSWER_AFTER_CRISIS_CONFIDENCE
    )


def decide(tracker: DialogueStateTracker) -> Optional[Text]:
    """The action this policy insists on next, or None to let the other policies decide."""
    events = list(tracker.applied_events())
    user_positions = [i for i, e in enumerate(events) if isinstance(e, UserUttered)]
    if not user_positions:
        return None
    user_events = [events[i] for i in user_positions]
    turn = events[user_positions[-1] + 1 :]
    executed = [e.action_name for e in turn if isinstance(e, ActionExecuted)]
    intent = (tracker.latest_message.intent or {}).get("name")
    own = _own_level(user_events[-1])
    before, after = conversation_levels([e.text or "" for e in user_events])
    # The conversation, not this message alone, makes it a crisis ("tonight" after
    # "I want to die"): the crisis sequence runs as if the message had said it all.
    escalated = LEVEL_ORDER[after] >= LEVEL_ORDER["crisis"] and LEVEL_ORDER[after] > max(
        LEVEL_ORDER[before], LEVEL_ORDER.get(own, 0)
    )

    def failed(action: Text) -> bool:
        """The action ran but returned nothing, no message and no slot: it failed."""
        idx = max(
            i
            for i, e in enumerate(turn)
            if isinstance(e, ActionExecuted) and e.action_name == action
        )
        effects = []
        for event in turn[idx + 1 :]:
            if isinstance(event, ActionExecuted):
                break
            effects.append(event)
        return not any(isinstance(e, (BotUttered, SlotSet)) for e in effects)

    if (intent in CRISIS_INTENTS or escalated) and not tracker.active_loop_name:
        by_rules = intent in CRISIS_INTENTS
        if not executed:
            return None if by_rules else "action_crisis_response"
        if "utter_handoff_fallback" in executed:
            return "action_listen"
        if "utter_faq" in executed:
            return "action_listen"
        if "action_staff_handoff" in executed:
            if failed("action_staff_handoff"):
                return "utter_handoff_fallback"
            if question_to_answer_after_crisis(tracker):
                return "utter_faq"  # the crisis came first; now what they asked
            return None if by_rules and "utter_crisis_fallback" not in executed else "action_listen"
        if "utter_crisis_fallback" in executed:
            return "action_staff_handoff"
        if "action_crisis_response" in executed:
            if failed("action_crisis_response"):
                return "utter_crisis_fallback"
            return None if by_rules else "action_staff_handoff"
        return None

    if not executed:
        if intent in UNDERSTOOD_NOTHING and not tracker.active_loop_name:
            if LEVEL_ORDER[before] >= LEVEL_ORDER["crisis"]:
                return "utter_still_here"
        return None
    if tracker.active_loop_name or executed[-1] in NOT_ANSWERS:
        return None
    if executed[-1] == "action_safety_followup":
        screener_ran = any(
            isinstance(e, ActionExecuted) and e.action_name == SCREENER for e in events
        )
        if tracker.get_slot("screener_due") and not screener_ran:
            return SCREENER
        return "action_listen"
    if "action_safety_followup" in executed or intent == "safety_concern":
        return None  # the rules run it for safety_concern; once per turn otherwise
    if not any(isinstance(e, BotUttered) for e in turn):
        return None
    if own == "concern":
        return "action_safety_followup"
    if LEVEL_ORDER[after] > max(LEVEL_ORDER[before], LEVEL_ORDER.get(own, 0)):
        return "action_safety_followup"  # weak signals across turns reached concern
    return None


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT], is_trainable=True
)
class SafetyPolicy(Policy):
    """See the module docstring. Deterministic; learns nothing from the stories."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """Priority 7: above RulePolicy (6), so its safety decisions win."""
        return {"priority": 7}

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any = None,
    ) -> None:
        """Standard policy constructor."""
        super().__init__(config, model_storage, resource, execution_context, featurizer)

    def train(
        self, training_trackers: List[TrackerWithCachedStates], domain: Domain, **kwargs: Any
    ) -> Resource:
        """Nothing to learn: the behaviour is fixed and tested."""
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """Confidence 1.0 for the action :func:`decide` names, else no opinion."""
        probabilities = self._default_predictions(domain)
        action = decide(tracker)
        if action is not None and action in domain.action_names_or_texts:
            probabilities[domain.index_for_action(action)] = 1.0
        return self._prediction(probabilities)
