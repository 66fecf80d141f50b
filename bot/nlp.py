"""The blank English spaCy pipeline shared by Rasa's SpacyNLP and the safety detector.

No pretrained spaCy model can be downloaded here, so the project builds its own:
a blank English tokenizer plus a lookup lemmatizer whose tables come from
``spacy-lookups-data``. ``python -m bot.nlp build`` writes it to
``models/spacy/en_blank`` at install time; ``config.yml`` points ``SpacyNLP`` at
that directory, and :func:`load_pipeline` loads the same directory (or builds it
in memory when it is missing, e.g. in a unit test run before install).
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PIPELINE_DIR = PROJECT_ROOT / "models" / "spacy" / "en_blank"


def build_pipeline():
    """Return a new blank English pipeline with a lookup lemmatizer."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    # initialize() loads the lookup tables from spacy-lookups-data; to_disk keeps them.
    nlp.initialize()
    return nlp


def write_pipeline(target: Path = PIPELINE_DIR) -> Path:
    """Build the pipeline and save it to ``target`` (a directory spaCy can load)."""
    nlp = build_pipeline()
    target.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(target)
    return target


@lru_cache(maxsize=1)
def load_pipeline():
    """Load the saved pipeline once per process, building it in memory if absent."""
    import spacy

    if (PIPELINE_DIR / "config.cfg").exists():
        return spacy.load(PIPELINE_DIR)
    return build_pipeline()


def main(argv: list[str]) -> int:
    """CLI: ``python -m bot.nlp build [DIR]``."""
    if not argv or argv[0] != "build":
        print("usage: python -m bot.nlp build [DIR]", file=sys.stderr)
        return 2
    target = Path(argv[1]) if len(argv) > 1 else PIPELINE_DIR
    print(f"spaCy blank English pipeline written to {write_pipeline(target)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
