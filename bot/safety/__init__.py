"""Safety detector for the recovery-support assistant (pure Python + spaCy, no Rasa).

    from bot.safety import assess, Assessment, Level, ConversationRisk
    a = assess("text")   # Assessment: level, categories, evidence, about_self, to_dict()

The spaCy pipeline and the patterns are loaded lazily on the first call to ``assess``.
"""

from bot.safety.conversation import ConversationRisk, assess_conversation
from bot.safety.detector import Assessment, Level, assess, max_level, warm_up

__all__ = [
    "assess",
    "assess_conversation",
    "Assessment",
    "Level",
    "ConversationRisk",
    "max_level",
    "warm_up",
]
