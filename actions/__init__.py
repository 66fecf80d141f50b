"""Custom actions served by the rasa_sdk action server (`rasa run actions`)."""

import threading

from bot.safety import warm_up

# The safety actions re-screen the conversation. Loading spaCy takes a few seconds: do it
# in the background as the action server starts, not in the first crisis response.
threading.Thread(target=warm_up, name="safety-warm-up", daemon=True).start()
