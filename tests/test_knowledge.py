"""The FAQ knowledge: coverage, sources, length, own words, no dosing, no clinic names."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from bot.knowledge import SOURCES, load_answers
from bot.nlg import response_variables
from bot.nlu_eval import load_examples
from tests.conftest import ROOT, SHARED

SEEDS = SHARED / "seeds"
ANSWERS = load_answers()
VARIABLES = response_variables()
# Treatment centres and places named in the source documents: never in an answer.
CENTRES = ["immersive", "encinitas", "bold health", "san diego", "canyon", "peace park", "woolsey"]


def render(text: str) -> str:
    """Fill configuration placeholders the way bot.nlg.ClinicNLG does."""
    return re.sub(r"{([^\n{}]+?)}", lambda m: VARIABLES[m.group(1)], text)


def words(text: str) -> list:
    return re.findall(r"[a-z0-9']+", text.lower().replace("\u2019", "'"))


def training_examples() -> list:
    pairs = []
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        pairs += load_examples(path)
    return pairs


def test_at_least_fifty_distinct_faq_answers_covering_every_document():
    topics = [a.topic for a in ANSWERS]
    assert len(set(topics)) >= 50
    assert len(topics) == len(set(topics)), "one answer per topic"
    cited = {s for a in ANSWERS for s in a.sources}
    assert cited == set(SOURCES)


@pytest.mark.parametrize("answer", ANSWERS, ids=lambda a: a.topic)
def test_answer_cites_its_sources_and_fits_an_sms_screen(answer):
    assert answer.sources, "metadata.sources is required"
    assert set(answer.sources) <= set(SOURCES)
    assert answer.text.rstrip().endswith(answer.citation())
    assert len(render(answer.text)) <= 480


@pytest.mark.parametrize("answer", ANSWERS, ids=lambda a: a.topic)
def test_answer_gives_no_dosing_advice_and_points_dose_changes_to_the_prescriber(answer):
    text = render(answer.text).lower()
    assert not re.search(r"\d\s*(mg|milligram|mcg|microgram|%|percent)", text)
    assert not re.search(r"\b\d+\s+(pills?|tablets?|doses?)\b", text)
    changes_dose = (
        r"\btaper|\bdos(e|es|age)\b|cold turkey|cut(ting)? (down|back)|\bquit"
        r"|stop(ping|s)? (taking|using|it\b|clonazepam|klonopin|suddenly|abruptly)"
    )
    if re.search(changes_dose, text):
        assert re.search(r"prescriber|doctor|care team|provider|medical", text), text


def _every_response_text() -> list:
    import yaml

    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))

    def fill(text: str) -> str:  # runtime slots ({staff_name}) stay as they are
        return re.sub(r"{([^\n{}]+?)}", lambda m: VARIABLES.get(m.group(1), m.group(0)), text)

    return [
        (name, fill(v["text"]))
        for name, variations in domain["responses"].items()
        for v in variations
        if v.get("text")
    ]


def test_no_response_of_any_kind_names_an_amount_to_take():
    """Not only the FAQ: greetings, fallbacks, crisis and screener wording too."""
    texts = _every_response_text()
    assert len(texts) > len(ANSWERS)
    dosing = re.compile(
        r"\d\s*(mg|milligram|mcg|microgram|%|percent)|\b\d+\s+(pills?|tablets?|doses?)\b"
        r"|\b(take|increase|reduce|lower|raise) (your|the) dose (to|by)\b",
        re.IGNORECASE,
    )
    assert not [(name, t[:80]) for name, t in texts if dosing.search(t)]


@pytest.mark.parametrize("answer", ANSWERS, ids=lambda a: a.topic)
def test_answer_never_names_the_centres_that_wrote_the_documents(answer):
    text = answer.text.lower()
    assert not [c for c in CENTRES if c in text]


def test_answers_are_in_our_own_words():
    """No run of 8 words is shared with a source document."""
    seed_grams = set()
    for path in SEEDS.glob("0*.txt"):
        w = words(path.read_text(encoding="utf-8"))
        seed_grams |= {tuple(w[i : i + 8]) for i in range(len(w) - 7)}
    copied = []
    for answer in ANSWERS:
        w = words(answer.text)
        grams = (tuple(w[i : i + 8]) for i in range(len(w) - 7))
        copied += [(answer.topic, " ".join(g)) for g in grams if g in seed_grams]
    assert not copied


def test_crisis_numbers_come_from_configuration_only():
    """Numbers such as 988 or 911 are placeholders filled from clinic.yml, never literals."""
    literal = re.compile(r"\b(988|911|741741|1-800-\d{3}-\d{4})\b")
    files = [ROOT / "domain.yml", *sorted((ROOT / "data").rglob("*.yml"))]
    offenders = [str(p.relative_to(ROOT)) for p in files if literal.search(p.read_text())]
    assert not offenders


def test_every_faq_intent_has_an_answer_and_ten_varied_examples():
    counts = Counter(label for _, label in training_examples() if label.startswith("faq/"))
    topics = {a.topic for a in ANSWERS}
    assert {label.split("/", 1)[1] for label in counts} == topics
    assert min(counts.values()) >= 10


def test_training_examples_are_unique_and_not_in_the_holdout_or_public_sets():
    norm = lambda s: " ".join(words(s))  # noqa: E731
    train = [norm(t) for t, _ in training_examples()]
    duplicates = [t for t, n in Counter(train).items() if n > 1]
    assert not duplicates
    holdout = {norm(t) for t, _ in load_examples()}
    assert not holdout & set(train)
    public = set()
    for path in (SHARED / "eval" / "public").glob("*.tsv"):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            public |= {norm(cell) for cell in line.split("\t") if len(cell) > 15}
    assert not public & set(train)


def test_holdout_covers_every_faq_topic_with_at_least_100_questions():
    holdout = load_examples()
    faq = [label for _, label in holdout if label.startswith("faq/")]
    assert len(faq) >= 100
    assert {label.split("/", 1)[1] for label in faq} == {a.topic for a in ANSWERS}


def test_source_files_exist():
    for _label, filename in SOURCES.values():
        assert (SEEDS / filename).exists()
