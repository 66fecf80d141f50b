"""Safety detector for the recovery-support assistant (pure Python + spaCy, no Rasa).

    from bot.safety import assess, Assessment, Level, ConversationRisk
    a = assess("text")   # Assessment: level, categories, evidence, about_self, to_dict()

Two layers (bot/safety/screen.py): the patterns (bot/safety/detector.py, spaCy) and a
learned head on sentence embeddings (bot/safety/learned.py). Both are loaded lazily on the
first call to ``assess``, or at once by ``warm_up()``.
"""

from bot.safety.conversation import ConversationRisk, assess_conversation
from bot.safety.detector import Assessment, Level, max_level
from bot.safety.screen import assess, warm_up

__all__ = [
    "assess",
    "assess_conversation",
    "Assessment",
    "Level",
    "ConversationRisk",
    "max_level",
    "warm_up",
]
