"""Custom actions served by the action server (``python -m bot actions``, which loads this
package through rasa_sdk and warms up the safety screen as it starts: bot/deploy/serve.py).

Nothing happens at import: tests and tools import these modules without loading spaCy.
"""
