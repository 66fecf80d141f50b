"""The FAQ knowledge: its source documents and the answers written from them.

Answers live in ``domain.yml`` as ``utter_faq/<topic>`` responses. Each has
``metadata.sources`` (document ids below) and ends with a "Sources:" line naming the
same documents by their labels, so patients see what an answer rests on and staff and
tests can check it. The documents were written by treatment centres: the labels
describe the subject, never the centre.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import yaml

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = ROOT / "domain.yml"

# id -> (label shown to patients, file in shared/seeds)
SOURCES: Dict[str, tuple] = {
    "000": ("Klonopin & Depression", "000_a26861a4e785ade4.txt"),
    "001": ("Klonopin Basics", "001_a03acaa2e9fce165.txt"),
    "002": ("Clonazepam Dependence", "002_4704bfae7ce9a451.txt"),
    "003": ("Clonazepam & the Brain", "003_5d7d95ba8f6e3735.txt"),
    "004": ("Klonopin Misuse & Recovery", "004_8fa758295168b9d1.txt"),
}


@dataclass(frozen=True)
class FaqAnswer:
    """One FAQ answer with the documents it rests on."""

    topic: str
    text: str
    sources: tuple

    def citation(self) -> str:
        """The "Sources:" line the text must end with."""
        return "Sources: " + "; ".join(SOURCES[s][0] for s in self.sources)


def load_answers(domain: Path = DOMAIN) -> List[FaqAnswer]:
    """Every ``utter_faq/<topic>`` response in the domain."""
    data = yaml.safe_load(domain.read_text(encoding="utf-8")) or {}
    answers = []
    for name, variations in (data.get("responses") or {}).items():
        if not name.startswith("utter_faq/"):
            continue
        for variation in variations:
            meta = variation.get("metadata") or {}
            answers.append(
                FaqAnswer(
                    topic=name.split("/", 1)[1],
                    text=variation["text"],
                    sources=tuple(meta.get("sources") or ()),
                )
            )
    return answers
