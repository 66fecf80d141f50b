"""FAQ hold-out evaluation shared by ``make eval-nlu`` and the test suite.

The hold-out set (``tests/nlu/holdout.yml``) holds paraphrased questions that are not
in the training data. A FAQ example counts as correct when the response selector's
top answer is the expected ``faq/<topic>``; other examples when the top intent matches.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, List, Tuple

import yaml

HOLDOUT = Path(__file__).resolve().parent.parent / "tests" / "nlu" / "holdout.yml"


def load_examples(path: Path = HOLDOUT) -> List[Tuple[str, str]]:
    """(text, expected label) pairs from a Rasa NLU YAML file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    pairs = []
    for block in data.get("nlu", []):
        label = block["intent"]
        for line in block["examples"].splitlines():
            line = line.strip()
            if line.startswith("- "):
                pairs.append((line[2:].strip(), label))
    return pairs


def predicted_label(parse: dict) -> str:
    """The label a parse result stands for: ``faq/<topic>`` for FAQ, else the intent."""
    intent = (parse.get("intent") or {}).get("name") or ""
    if intent == "faq":
        selected = parse.get("response_selector", {}).get("faq", {}).get("response", {})
        return selected.get("intent_response_key") or "faq"
    return intent


@dataclass
class Report:
    """Accuracy figures and the misses."""

    faq_total: int = 0
    faq_correct: int = 0
    other_total: int = 0
    other_correct: int = 0
    misses: List[Tuple[str, str, str]] = field(default_factory=list)

    @property
    def faq_accuracy(self) -> float:
        """FAQ top-1 accuracy."""
        return self.faq_correct / self.faq_total if self.faq_total else 0.0

    @property
    def other_accuracy(self) -> float:
        """Top-1 intent accuracy on the non-FAQ examples."""
        return self.other_correct / self.other_total if self.other_total else 0.0


async def evaluate(agent: Any, examples: Iterable[Tuple[str, str]]) -> Report:
    """Parse every example with ``agent`` and score it."""
    report = Report()
    for text, expected in examples:
        got = predicted_label(await agent.parse_message(text))
        ok = got == expected
        if expected.startswith("faq/"):
            report.faq_total += 1
            report.faq_correct += ok
        else:
            report.other_total += 1
            report.other_correct += ok
        if not ok:
            report.misses.append((text, expected, got))
    return report


def load_agent(model_path: Path) -> Any:
    """Load the trained model's NLU for parsing (no action server needed)."""
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    # Used as a library, Rasa's structured logger prints every parse at debug level.
    configure_structlog(logging.WARNING)

    return Agent.load(str(model_path))


def run(model_path: Path, path: Path = HOLDOUT) -> Report:
    """Load the model and evaluate the hold-out file synchronously."""
    return asyncio.run(evaluate(load_agent(model_path), load_examples(path)))
