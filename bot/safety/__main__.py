"""Command line: screen messages and print one JSON object per message.

    python -m bot.safety "some text" ["another message" ...]
    python -m bot.safety < messages.txt          # one message per line

Each output line is the JSON of ``Assessment.to_dict()`` (text, level, categories, evidence)
plus ``about_self``. Without arguments, messages are read from standard input, one per line;
blank lines are skipped. The exit status is 0.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Iterable, List, Optional, TextIO

# spaCy's thinc imports TensorFlow when it is installed (Rasa brings it); keep its start-up
# chatter off the terminal of people and scripts using this command.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from bot.safety.screen import assess  # noqa: E402


def _emit(messages: Iterable[str], out: TextIO) -> int:
    count = 0
    for message in messages:
        a = assess(message)
        record = a.to_dict()
        record["about_self"] = a.about_self
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    out.flush()
    return count


def main(argv: Optional[List[str]] = None) -> int:
    """Screen the arguments, or each non-blank line of stdin; print JSON lines; return 0."""
    args = sys.argv[1:] if argv is None else argv
    if args:
        _emit(args, sys.stdout)
    else:
        lines = (line.rstrip("\r\n") for line in sys.stdin)
        _emit((line for line in lines if line.strip()), sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
