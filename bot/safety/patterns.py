"""Pattern tables of the safety detector, declared as data so a clinician can read them.

Each rule has a short ``name`` (it becomes the evidence shown to staff), a ``category``,
a ``level`` and one or more patterns written in a tiny token language that
:mod:`bot.safety.detector` compiles into spaCy ``Matcher`` patterns. Matching runs on the
lower-cased, normalised text (misspellings and slang are mapped to one spelling first).

Token language (space-separated tokens):

- ``word`` or ``a/b/c``   the token's normalised form is one of these words
- ``<verb>`` or ``<a/b>`` the token's lemma is one of these (``<kill>`` = kill, kills, killed...)
- ``{CLASS}``             the normalised form is in the word class ``WORDS["CLASS"]``
- ``(a b|c d e)``          one of several multi-word alternatives (a group)
- ``*``                   any one token (not sentence punctuation, not a negation)
- ``~N``                  a gap of 0 to N tokens (never crossing sentence punctuation and
                          never swallowing a negation such as "not": "took ~3 pills" does
                          not match "took not a single pill")
- ``#``                   a number ("30", "ten"); ``Rule.min_number`` sets a minimum
- suffix ``?``            the token (or group) is optional, e.g. ``to?``

A pattern may not start or end with a gap (checked when compiling). Spelling variants go in
``NORM_MAP`` rather than in the patterns, so every rule benefits from them.

Rule options (all optional):

- ``negatable``  (True)  dropped when a negation cue ("not", "never", "no"...) stands shortly
  before the match in the same clause ("I'm not suicidal", "never had thoughts of...")
- ``info``       None | "topic" | "impersonal": in a question or hypothetical clause the match
  becomes ``concern`` + ``informational``; "topic" whenever asked, "impersonal" only when
  the question is not about the writer ("can klonopin cause suicidal thoughts?")
- ``past``       None | "ideation" | "downgrade": a past-time cue in the sentence ("years ago",
  "used to") makes it ``concern`` (+ ``past_ideation`` for "ideation", same category for
  "downgrade") unless a current cue is there too ("again", "lately" in the sentence; "now",
  "still" in the same clause)
- ``recent``     (False) a recent-time cue ("last night", "yesterday") makes it ``emergency``
- ``weak``       (False) an ambiguous signal that ConversationRisk counts across turns
- ``boost``      categories that, when also present (first person, current) in the same
  message, raise this match to ``boost_level`` (default ``emergency``); rules with level
  ``none`` are context only (a timeframe, means at hand) and are kept only when boosted
- ``neg_extra``  extra words that act as negation cues for this rule only
- ``min_number`` the smallest number a ``#`` token must have
- ``one_person`` dropped when the span mixes the writer and someone else as subjects
  ("I take klonopin and my husband drinks wine")
- ``not_followed_by`` dropped when the word right after the match is one of these
- ``passive``    passive ideation (a wish to be dead, "no one would notice"): not raised to
  ``emergency`` by rules with ``boost_active_only`` (a timeframe such as "tomorrow")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Tuple

NONE, CONCERN, CRISIS, EMERGENCY = "none", "concern", "crisis", "emergency"


@dataclass(frozen=True)
class Rule:
    """One named detector rule: category, level, patterns and options (see module doc)."""

    name: str
    category: str
    level: str
    patterns: Tuple[str, ...]
    negatable: bool = True
    info: Optional[str] = None
    past: Optional[str] = None
    recent: bool = False
    weak: bool = False
    boost: FrozenSet[str] = field(default_factory=frozenset)
    boost_level: str = EMERGENCY
    neg_extra: FrozenSet[str] = field(default_factory=frozenset)
    min_number: Optional[float] = None
    passive: bool = False
    boost_active_only: bool = False
    not_followed_by: FrozenSet[str] = field(default_factory=frozenset)
    one_person: bool = False


def rule(name: str, category: str, level: str, *patterns: str, **options) -> Rule:
    """Build a :class:`Rule`; list-valued options are frozen so rules stay hashable."""
    for key in ("boost", "neg_extra", "not_followed_by"):
        if key in options:
            options[key] = frozenset(options[key])
    return Rule(name, category, level, tuple(patterns), **options)


# The tables below are laid out by hand for reading; the formatter leaves them alone.
# fmt: off

# --------------------------------------------------------------------------------------
# Text clean-up before tokenising (applied to lower-cased text, in order).
# Leetspeak, split or hyphenated spellings of risk words, and glued forms.
# --------------------------------------------------------------------------------------
TEXT_REWRITES: List[Tuple[str, str]] = [
    (r"[\u2018\u2019\u02bc`\u00b4]", "'"),
    (r"[\u201c\u201d]", '"'),
    (r"\bmy\s+self\b", "myself"),
    (r"\bme\s+self\b", "myself"),
    (r"\bk[\s.]m[\s.]s\b", "kms"),
    (r"\bs[\s.*_-]?[u*][\s.*_-]?[i1!*][\s.*_-]?c[\s.*_-]?[i1!*][\s.*_-]?d[\s.*_-]?[e3]", "suicide"),
    (r"\$uicid", "suicid"),
    (r"\bsu[i1!]c[i1!]d", "suicid"),
    (r"\bun[\s-]+alive", "unalive"),
    (r"\bsewer[\s-]+slide", "sewerslide"),
    (r"\bsewer[\s-]*slid(?:e|ing)\b", "sewerslide"),
    (r"\bself[\s-]+harm", "selfharm"),
    (r"\bself[\s-]+injur", "selfinjur"),
    (r"\bself[\s-]+delet", "selfdelet"),
    (r"\bcold[\s-]+turkey", "coldturkey"),
    (r"\bal+ the (pil+s|pils|meds|pills)\b", r"all the \1"),
    (r"\bk[\s-]+pins?\b", "kpins"),
    (r"\bk[\s-]+pin\b", "kpins"),
    (r"\bo\.?d(?:['.-]e?|e)d\b", "overdosed"),
    (r"\bo\.d\.?(?=\s|$)", "overdose"),
    (r"\bover[\s-]+dos", "overdos"),
    (r"\bk[i1!]ll", "kill"),
    (r"\bk!ll", "kill"),
    (r"\bd[i1!]e\b", "die"),
    (r"\bgood[\s-]+bye", "goodbye"),
    (r"\bno[\s-]+one\b", "noone"),
    (r"\bnobody\b", "noone"),
    (r"\bevery[\s-]+one\b", "everyone"),
    (r"\bany[\s-]+more\b", "anymore"),
    (r"([a-z])\1{2,}", r"\1\1"),
    (r"([a-z])([.!?,;:]+)([a-z])", r"\1\2 \3"),  # "die.i hate this" -> "die. i hate this"
    (r"\b(want|wanna|going|need|ready|trying|tried|try|about)\s+2\s+(?=[a-z])", r"\1 to "),
    (r"#(?=[a-z])", " "),  # hashtags: "#kms" -> "kms"
]

# Single-token normalisation: misspellings, SMS spellings and brand-name variants.
# Spelling tolerance: a token of at least 5 letters that is neither in NORM_MAP nor a word
# of KNOWN_NEAR_MISSES, within one edit (two for 8+ letters) of one of these, is read as
# it ("suicidial", "myslf", "overdoes", "seizurs", "halucinating"). Short words are left
# alone: one edit away from "kill" or "die" are too many real words.
RISK_LEXICON: FrozenSet[str] = frozenset(
    {"suicide", "suicidal", "myself", "overdose", "overdosed", "overdosing", "seizure",
     "seizures", "seizing", "hallucinating", "hallucinations", "hallucinate", "convulsing",
     "convulsions", "unconscious", "unresponsive", "clonazepam", "klonopin", "lethal",
     "goodbye", "worthless", "hopeless", "unalive"}
)
# Real words one edit away from the lexicon that must stay themselves.
KNOWN_NEAR_MISSES: FrozenSet[str] = frozenset(
    {"seizing", "sizure", "lethals", "letha", "hopeful", "goodbyes", "ourself", "himself",
     "herself", "itself", "thyself", "yourself", "overdoes", "overdue", "overdone",
     # English words near the lexicon, found by running every whole word of the encoder's
     # vocabulary (and its -s/-ed/-ing forms) through near_risk_word: "the pill organizer
     # was confusing" once read as "convulsing", "overcome" as "overdose", "conscious" as
     # "unconscious" (tests/safety/test_detector.py keeps the check).
     "compulsions", "conclusions", "concussions", "confusing", "confusions", "conscious",
     "consulting", "conversing", "conversions", "homeless", "leisures", "overcome",
     "overcomes", "overcoming", "responsive", "sizing", "subconscious", "seining",
     "overdoing", "unconsciously"}
)
NORM_MAP: Dict[str, str] = {
    # round 9: "y cant i just not exsist", "i take al the pils now"
    "exsist": "exist", "exisit": "exist", "exsit": "exist", "pils": "pills", "pilss": "pills",
    # suicide and self-harm
    "suicde": "suicide", "sucide": "suicide", "suiside": "suicide", "sucicide": "suicide",
    "suicidee": "suicide", "suacide": "suicide", "suiced": "suicide", "siucide": "suicide",
    "suicie": "suicide", "suicid": "suicide", "suiscide": "suicide", "sucuide": "suicide",
    "sewerslide": "suicide", "coldturkeyed": "coldturkey", "coldturkeying": "coldturkey",
    "tremoring": "trembling", "suicidel": "suicidal", "sucidal": "suicidal",
    "suicidle": "suicidal", "suisidal": "suicidal", "suicdal": "suicidal", "sucidial": "suicidal",
    "suicidial": "suicidal", "suicedal": "suicidal", "suacidal": "suicidal",
    "suicidaal": "suicidal", "suicida": "suicidal", "selfharm": "selfharm",
    "selfharming": "selfharm", "selfharmed": "selfharm", "selfinjury": "selfharm",
    "kil": "kill", "kms": "kms", "kys": "kys", "unaliving": "unalive", "unalived": "unalive",
    "wantto": "want", "diee": "die", "ded": "dead",
    # overdose
    "overdoes": "overdose", "overdoese": "overdose", "overdoze": "overdose",
    "overdos": "overdose", "ovedose": "overdose", "overdosse": "overdose", "od": "overdose",
    "overdoesed": "overdosed", "overdozed": "overdosed", "ovedosed": "overdosed",
    "oded": "overdosed", "odd'd": "overdosed", "odding": "overdosing",
    "overdoseing": "overdosing", "overdoesing": "overdosing",
    # seizures
    "seizer": "seizure", "seizers": "seizures", "siezure": "seizure", "siezures": "seizures",
    "seziure": "seizure", "seziures": "seizures", "seisure": "seizure", "seizre": "seizure",
    "sezure": "seizure", "sezures": "seizures", "seazure": "seizure", "seizur": "seizure",
    "seizue": "seizure", "siezing": "seizing", "seazing": "seizing", "sezing": "seizing",
    "fitting": "fitting", "convulsing": "convulsing", "convulsin": "convulsing",
    "hallucinatin": "hallucinating", "halucinating": "hallucinating",
    "hallucinateing": "hallucinating", "haluccinating": "hallucinating",
    "hallusinating": "hallucinating", "halucinations": "hallucinations",
    "hallucinatons": "hallucinations", "paranoya": "paranoia", "paranioa": "paranoia",
    # clonazepam / benzodiazepines
    "klonipin": "klonopin", "klonapin": "klonopin", "klonopine": "klonopin",
    "klonpin": "klonopin", "klonnopin": "klonopin", "clonopin": "klonopin",
    "clonapin": "klonopin", "klonopen": "klonopin", "klonepin": "klonopin",
    "klonopins": "klonopin", "klonopn": "klonopin", "klonipen": "klonopin",
    "clonipin": "klonopin", "kolonopin": "klonopin", "klonnipin": "klonopin",
    "clonazapam": "clonazepam", "clonazapan": "clonazepam", "clonozepam": "clonazepam",
    "clonazipam": "clonazepam", "clonazepan": "clonazepam", "clonazepem": "clonazepam",
    "clonazapem": "clonazepam", "klonazepam": "clonazepam", "clonezepam": "clonazepam",
    "kpin": "kpins", "kpins": "kpins", "klons": "kpins", "klon": "kpins",
    "benzo's": "benzos", "benzoes": "benzos", "xannies": "xanax", "xans": "xanax",
    "zanax": "xanax", "xanex": "xanax", "vallium": "valium", "ativam": "ativan",
    "percs": "percocet", "perc": "percocet", "percocets": "percocet", "oxys": "oxy",
    "oxycontin": "oxycodone", "fent": "fentanyl", "fentanil": "fentanyl",
    "fentynal": "fentanyl", "hydros": "hydrocodone", "norcos": "norco",
    "booz": "booze", "vodak": "vodka", "alchohol": "alcohol", "alcohal": "alcohol",
    "alchol": "alcohol", "alcohl": "alcohol", "acohol": "alcohol", "alcool": "alcohol",
    # SMS spellings
    "u": "you", "ur": "your", "r": "are", "ppl": "people", "ppls": "people",
    "bc": "because", "cuz": "because", "coz": "because", "cos": "because",
    "b/c": "because", "tho": "though", "rn": "now", "atm": "now", "tn": "tonight",
    "2nite": "tonight", "tonite": "tonight", "2night": "tonight", "tonigt": "tonight",
    "2day": "today", "tmrw": "tomorrow", "tmr": "tomorrow", "tomorow": "tomorrow",
    "2morrow": "tomorrow", "tmrrw": "tomorrow", "pls": "please", "plz": "please",
    "m": "am", "s": "'s",
    "any1": "anyone", "some1": "someone", "no1": "noone", "every1": "everyone",
    "bf": "boyfriend", "gf": "girlfriend", "hubby": "husband", "mum": "mom",
    "mommy": "mom", "mama": "mom", "daddy": "dad", "bro": "brother", "sis": "sister",
    "gunna": "gonna", "gona": "gonna", "finna": "gonna", "imma": "gonna",
    "wana": "wanna", "wan": "want", "wnt": "want", "wanted": "wanted",
    "myslef": "myself", "mysef": "myself", "meself": "myself", "mysel": "myself",
    "lyf": "life", "lfe": "life", "evry": "every", "anythin": "anything",
    "nothin": "nothing", "nuthin": "nothing", "somethin": "something",
    "shud": "should",
    "wud": "would", "wld": "would", "cud": "could", "wen": "when",
}

# Lemma fixes for words the lookup lemmatizer gets wrong or cannot know.
LEMMA_FIXES: Dict[str, str] = {
    "dying": "die", "dyin": "die", "can": "can", "ca": "can", "wo": "will", "does": "do",
    "doesnt": "do", "pills": "pill",
    "overdosed": "overdose", "overdosing": "overdose", "seizing": "seize",
    "convulsing": "convulse", "hallucinating": "hallucinate", "kms": "kms",
    "unalive": "unalive", "gonna": "gonna", "wanna": "wanna", "kpins": "kpins",
    "thoughts": "thought", "drinks": "drink", "drank": "drink", "drunk": "drink",
    "stockpiled": "stockpile", "stockpiling": "stockpile", "hoarded": "hoard",
    "hoarding": "hoard", "stashed": "stash", "stashing": "stash",
}

# --------------------------------------------------------------------------------------
# Word classes used as {CLASS} in patterns (normalised forms).
# --------------------------------------------------------------------------------------
WORDS: Dict[str, List[str]] = {
    "BENZO": [
        "klonopin", "clonazepam", "kpins", "pins", "benzo", "benzos", "benzodiazepine",
        "benzodiazepines", "rivotril", "xanax", "valium", "ativan", "lorazepam",
        "alprazolam", "diazepam",
    ],
    "MEDS": [
        "klonopin", "clonazepam", "kpins", "pins", "benzo", "benzos", "benzodiazepines",
        "rivotril", "xanax", "valium", "ativan", "meds", "medication", "medications",
        "pills", "pill", "tablets", "tabs", "dose", "doses", "prescription", "script",
    ],
    "PILLS": [
        "pills", "pill", "tablets", "tablet", "tabs", "klonopin", "clonazepam", "kpins",
        "pins", "benzos", "xanax", "valium", "ativan", "meds", "capsules", "caps",
        "mg", "milligrams", "sleeping", "painkillers", "tylenol", "ambien", "oxy",
    ],
    "ALCOHOL": [
        "alcohol", "booze", "beer", "beers", "wine", "vodka", "whiskey", "whisky", "liquor",
        "tequila", "rum", "gin", "shots", "drinks", "brews", "etoh", "margaritas", "bourbon",
        "seltzers", "ciders", "cocktails", "fireball",
    ],
    "OPIOID": [
        "oxy", "oxycodone", "percocet", "vicodin", "hydrocodone", "norco", "heroin",
        "fentanyl", "morphine", "codeine", "lean", "tramadol", "dilaudid", "opiates",
        "opioids", "opiate", "opioid", "painkillers", "kratom", "methadone", "subs",
        "suboxone", "h", "dope",
    ],
    "SEDATIVE": [
        "ambien", "zolpidem", "gabapentin", "gabbies", "lyrica", "pregabalin", "ghb",
        "xanax", "valium", "ativan", "phenibut", "soma", "barbiturates",
    ],
    "TAKE": [
        "took", "taken", "take", "takes", "taking", "mixed", "mix", "mixing", "popped",
        "pop", "popping", "had", "have", "having", "combined", "combining", "swallowed",
        "snorted", "did", "doing",
    ],
    "STOP": [
        "stopped", "stop", "stopping", "quit", "quitting", "ditched", "jumped", "came",
        "cut",
    ],
    "STOPGO": [
        "stopped", "stop", "stopping", "quit", "quitting", "ditched", "jumped", "came",
        "come", "coming", "went", "go", "going", "gone", "doing", "did",
    ],
    "COUNTABLE": [
        "pills", "pill", "tablets", "tabs", "klonopin", "clonazepam", "kpins", "pins",
        "benzos", "xanax", "valium", "ativan", "capsules", "caps", "ambien", "tylenol",
        "painkillers", "oxy", "percocet",
    ],
    "SELF": ["myself", "me"],
    "REFL": ["myself", "himself", "herself", "themselves", "themself", "yourself"],
    "RELATION": [
        "son", "daughter", "kid", "kids", "child", "husband", "wife", "partner",
        "boyfriend", "girlfriend", "friend", "bestfriend", "buddy", "mom", "mother", "dad",
        "father", "brother", "sister", "roommate", "cousin", "uncle", "aunt", "grandma",
        "grandpa", "grandmother", "grandfather", "fiance", "fiancee", "spouse", "teen",
        "teenager", "patient", "client", "coworker", "colleague", "neighbor", "neighbour",
        "niece", "nephew", "stepson", "stepdaughter", "stepdad", "stepmom", "ex",
    ],
    "TIMEFRAME": [
        "tonight", "tomorrow", "weekend", "soon", "friday", "saturday", "sunday", "monday",
        "tuesday", "wednesday", "thursday", "midnight",
    ],
}

# --------------------------------------------------------------------------------------
# Cue words used by the span-aware checks in the detector.
# --------------------------------------------------------------------------------------
NEGATION_CUES: FrozenSet[str] = frozenset(
    {"not", "never", "no", "nor", "neither", "without", "nothing", "none", "nah", "denies",
     "zero"}
)
# A negation cue followed by one of these is not a negation of what follows.
PSEUDO_NEGATION_NEXT: FrozenSet[str] = frozenset(
    {
        "sure", "only", "just", "know", "care", "stop", "understand", "matter", "point", "way",
        "reason", "hope", "idea", "choice", "clue", "help", "escape", "end", "future",
        "purpose", "other", "joke", "lie", "kidding", "exaggerating", "reasons",
    }
)
NEGATION_WINDOW = 4  # tokens before the match that a negation cue may stand in

# Tokens that end a clause (negation scope, question detection).
CLAUSE_BREAK_WORDS: FrozenSet[str] = frozenset(
    {"but", "though", "although", "because", "so", "yet", "however", "except", "unless",
     "while", "whereas", "lol", "haha", "anyway", "anyways"}
)
SENTENCE_PUNCT: FrozenSet[str] = frozenset({".", "!", "?", ";", "...", "..", "?!", "!?"})
CLAUSE_PUNCT: FrozenSet[str] = frozenset({",", ":", "-", "--", "(", ")", "/"})

# A clause starting with one of these (after fillers) is a question.
QUESTION_STARTERS: FrozenSet[str] = frozenset(
    {"can", "could", "does", "do", "is", "are", "will", "would", "should", "what", "whats",
     "how", "hows", "why", "when", "where", "which", "who", "anyone", "anybody", "has",
     "have", "any", "did", "was", "were", "if", "shall", "am", "may", "might", "must"}
)
QUESTION_FILLERS: FrozenSet[str] = frozenset(
    {"so", "hey", "hi", "hello", "um", "uh", "also", "and", "but", "just", "ok", "okay",
     "quick", "question", "q", "curious", "random", "serious", "honestly", "well", "like",
     "doc", "please", "pls", "then", "or", "sorry", "yo", "hii", "ps"}
)
QUESTION_CUES: FrozenSet[str] = frozenset(
    {"wondering", "wonder", "curious", "question", "questions", "asking", "risks", "risk",
     "dangers", "possible", "research", "info", "information", "interaction", "interactions",
     "safe", "safely", "dangerous", "risky"}
)
# Question openings that are really disclosures ("is it normal to want to die?").
DISCLOSURE_OPENERS: Tuple[Tuple[str, ...], ...] = (
    ("is", "it", "normal"), ("is", "this", "normal"), ("is", "it", "common"),
    ("does", "anyone", "else"), ("anyone", "else"), ("how", "do", "i", "stop"),
    ("how", "do", "i", "cope"), ("how", "do", "i", "deal"), ("why", "do", "i"),
    ("why", "am", "i"), ("is", "it", "bad", "that", "i"), ("is", "it", "wrong", "that", "i"),
    ("am", "i", "crazy"), ("how", "do", "i", "make"),
)
FIRST_PERSON: FrozenSet[str] = frozenset(
    {"i", "me", "myself", "my", "mine", "we", "us", "our", "ourselves", "i'd", "i'll"}
)
THIRD_PERSON: FrozenSet[str] = frozenset(
    {"he", "she", "him", "her", "his", "hers", "himself", "herself", "they", "them",
     "themselves", "themself", "someone", "somebody", "person", "people"}
) | frozenset(WORDS["RELATION"])
# Words after which a third-party signal is only worry ("I'm scared my son might...").
# Applied only to third-party signals at crisis level (never to emergencies).
HEDGE_CUES: FrozenSet[str] = frozenset(
    {"might", "may", "could", "worried", "worry", "worrying", "afraid", "scared", "fear",
     "concerned", "if", "whether", "maybe", "possibly"}
)
# After these auxiliaries, a following word from STATEMENT_NEXT means a statement with a
# dropped subject ("havent taken my klonopin in 4 days", "did a couple lines"), not a question.
DROPPED_SUBJECT_AUX: FrozenSet[str] = frozenset(
    {"have", "has", "had", "did", "do", "was", "were", "am", "been", "can", "could", "is",
     "are"}
)
STATEMENT_NEXT: FrozenSet[str] = frozenset(
    {"a", "an", "my", "some", "like", "too", "all", "been", "taken", "had", "done", "just",
     "never", "already", "way", "so", "literally", "actually", "really", "basically"}
)
QUESTION_AFTER_NOT: FrozenSet[str] = frozenset(
    {"i", "it", "you", "that", "this", "there", "he", "she", "they", "we", "klonopin"}
)
HYPOTHETICAL_CUES: FrozenSet[str] = frozenset({"if", "whether", "wondering", "suppose"})
PAST_CUES: Tuple[Tuple[str, ...], ...] = (
    ("used", "to"), ("years", "ago"), ("year", "ago"), ("in", "the", "past"),
    ("when", "i", "was"), ("back", "in"), ("as", "a", "teen"), ("as", "a", "teenager"),
    ("as", "a", "kid"), ("in", "high", "school"), ("in", "college"), ("long", "time", "ago"),
    ("a", "while", "back"), ("last", "year"), ("history", "of"), ("previous",),
    ("previously",), ("decade", "ago"), ("decades", "ago"), ("once", "upon"),
    ("in", "my", "teens"), ("in", "my", "20s"), ("in", "my", "twenties"), ("past", "attempt"),
    ("past", "attempts"), ("years", "back"), ("way", "back"), ("at", "16"), ("at", "17"),
    ("at", "15"), ("at", "14"), ("at", "18"), ("at", "19"), ("at", "20"),
    ("hace", "años"), ("hace", "anos"), ("hace", "mucho"), ("el", "año", "pasado"),
    ("cuando", "era"),
    # SMS abbreviations and seasons (blind round 13: "2 yrs ago i had a withdrawal seizure",
    # "when i said i wanted to die last spring? so glad im still here")
    ("yrs", "ago"), ("yr", "ago"), ("last", "spring"), ("last", "summer"), ("last", "fall"),
    ("last", "autumn"), ("last", "winter"),
)
# Current-time cues: anywhere in the sentence they keep a past-sounding match current...
CURRENT_CUES: FrozenSet[str] = frozenset(
    {"again", "lately", "currently", "recently", "anymore", "these", "returned", "returning"}
)
CURRENT_PHRASES: Tuple[Tuple[str, ...], ...] = (
    ("are", "back"), ("is", "back"), ("came", "back"), ("coming", "back"), ("come", "back"),
    ("right", "now"),
)
# ...these only in the same clause ("...two years ago and i still miss him" stays past).
CLAUSE_CURRENT_CUES: FrozenSet[str] = frozenset({"now", "still", "today", "tonight"})
# "now" followed by one of these is a recovery statement, not a current risk cue.
# Ordinary uses of what can be means: rope for climbing, pills sorted into an organiser.
# A preparation match with one of these in its sentence is dropped.
ORDINARY_MEANS_CUES: FrozenSet[str] = frozenset(
    {"climbing", "climb", "climbs", "camping", "hiking", "boat", "sailing", "macrame",
     "crafts", "craft", "gym", "organizer", "organiser", "pillbox", "dispenser", "weekly",
     "sorting", "sort", "pharmacy", "pharmacist", "refill", "swing", "hammock", "dog",
     "leash", "garden", "tomatoes", "tent", "escalada", "range", "hunting", "deer",
     "bouldering", "roping", "belay", "harness", "carabiner", "crag",
     # a will or affairs put in order for ordinary reasons (blind rounds 13 and 14: "my
     # lawyer said to update my will after the divorce", "affairs in order for tax season")
     "lawyer", "attorney", "tax", "taxes", "divorce", "abogado"}
)
# Fiction and media: a risk word about a character, a show, a game ("my dnd character
# overdosed on healing potions", "a guy hanged himself in the finale"). Applied only when
# the match is not about the writer.
MEDIA_CUES: FrozenSet[str] = frozenset(
    {"show", "news", "article", "series", "episode", "finale", "season", "movie", "film",
     "novel", "book", "character", "characters", "dnd", "d&d", "game", "videogame", "anime",
     "documentary", "podcast", "netflix", "tv", "serie", "pelicula", "película", "novela",
     "personaje"}
)
# Ordinary reasons to be at a bridge or a roof ("walked to the bridge to take sunset
# photos"): an at-the-edge match with one of these in its sentence is dropped.
ORDINARY_PLACE_CUES: FrozenSet[str] = frozenset(
    {"photos", "photo", "pictures", "pics", "sunset", "sunrise", "view", "jogging", "jog",
     "running", "commute", "bike", "biking", "fireworks", "picnic", "fotos", "atardecer",
     # blind round 14: "going fishing at the bridge with my grandson saturday"
     "fishing", "fish", "pesca", "pescar"}
)
# An animal named just before a withdrawal/overdose/seizure word makes it the animal's
# ("my dog had a seizure this morning", "the vet upped his keppra").
# A vet in the message makes "he had two seizures" an animal's ("vet says this should help").
VET_WORDS: FrozenSet[str] = frozenset({"vet", "vets", "veterinarian", "veterinary"})
ANIMAL_WORDS: FrozenSet[str] = frozenset(
    {"dog", "dogs", "cat", "cats", "puppy", "pup", "kitten", "kitty", "pet", "pets", "horse",
     "vet", "veterinarian", "rabbit", "bunny", "parrot", "hamster", "ferret", "perro", "gato",
     "perrito", "gatito", "mascota"}
)
# Study framing that makes a lethality or overdose question informational, not personal
# ("for my pharm tox exam whats the LD50"). Not "for a friend": that is a known euphemism.
STUDY_CUES: Tuple[Tuple[str, ...], ...] = (
    ("exam",), ("quiz",), ("homework",), ("assignment",), ("lecture",), ("textbook",),
    ("for", "class"), ("for", "my", "class"), ("nursing", "school"), ("pharm",),
    ("pharmacology",), ("toxicology",), ("in", "rats"), ("in", "mice"), ("study", "guide"),
    ("a", "patient", "asked"), ("my", "patient"), ("patients", "ask"), ("i", "am", "a", "nurse"),
    ("studying",), ("cert",), ("certification",), ("pharmacy", "tech"), ("pharm", "tech"),
    ("student",), ("debate",), ("article",), ("med", "school"), ("paramedic",), ("emt",),
    ("i", "am", "a", "pharmacist"),
    ("news", "story"), ("celebrity",), ("documentary",), ("the", "news"), ("actor",),
    ("singer",), ("rapper",),
    # trivia (blind round 14: "whats the highest bridge in the US? settling a bet")
    ("settling", "a", "bet"), ("trivia",),
)
RECOVERY_WORDS: FrozenSet[str] = frozenset(
    {"better", "fine", "good", "okay", "ok", "happy", "well", "great", "stable", "recovered",
     "clean", "sober", "healthy", "safe", "alright", "thriving", "content"}
)
# Tokens in a matched span that show the writer is telling what happened, not asking.
SUBJECT_PRONOUNS: FrozenSet[str] = frozenset({"i", "he", "she", "they", "we", "you"})
SECOND_PERSON: FrozenSet[str] = frozenset({"you", "your", "yourself", "yours", "u"})
RECENT_CUES: Tuple[Tuple[str, ...], ...] = (
    ("last", "night"), ("yesterday",), ("last", "week"), ("this", "morning"),
    ("earlier", "today"), ("few", "days", "ago"), ("couple", "days", "ago"),
    ("days", "ago"), ("last", "weekend"), ("this", "week"), ("last", "month"),
    ("weeks", "ago"), ("week", "ago"), ("tonight",), ("today",), ("just",),
    ("an", "hour", "ago"), ("hours", "ago"), ("this", "afternoon"),
)

# ======================================================================================
# RULES, grouped by category. Levels: none < concern < crisis < emergency.
# ======================================================================================
_SI, _SH = "suicidal_ideation", "self_harm"
# "going to", "gonna" (spaCy splits it into "gon" + "na", normalised "going" "to"), "'ll"...
_INTENT = (
    "(going to|gonna|gunna|will|planning to|planning on|plan to|ready to|about to|intend to|"
    "intending to|have decided to|decided to|finally going to)"
)
_I = _INTENT + " (just|finally|really|actually|probably|definitely)?"  # + an adverb
_IDEATION_CATS = (_SI, _SH)

SUICIDAL_IDEATION: List[Rule] = [
    rule("kill_self", _SI, CRISIS,
         "<kill/off/unalive/murder/hang/shoot/drown/poison/suffocate/electrocute> {REFL}",
         "<slit/slash>/slitting/slashing ~2 my/his/her wrists/wrist/throat",
         info="impersonal", past="ideation"),
    # "unalive" with an object that is not the writer is a joke about the object ("gonna
    # unalive my alarm clock", blind rounds 13 and 14); "unalive myself" still matches.
    rule("coded_unalive", _SI, CRISIS, "unalive", "<unalive>",
         not_followed_by=frozenset({"my", "the", "this", "that", "his", "her", "their", "your",
                                    "a", "an", "it", "mi", "el", "la"}),
         info="impersonal", past="ideation"),
    rule("coded_kms", _SI, CRISIS, "kms", "selfdelete", "selfdeleting",
         "ctb", "catch the bus", "rope myself", "final exit",
         "ready/<want>/wanna/time ~2 to? check out", "check out early", "<clock> out for good",
         "permanent solution",
         info="impersonal", past="ideation"),
    # Spanish, said directly (the learned layer carries the rest of the Spanish).
    rule("ideation_es", _SI, CRISIS,
         "quiero morirme", "me quiero morir ~3 ya/enserio/en serio/de verdad",
         "quiero matarme", "ganas de matarme", "pienso en matarme", "pensando en matarme",
         "ojala ~2 me muriera", "ojalá ~2 me muriera", "no quiero despertar",
         "no quiero seguir viviendo", "quitarme la vida", "pensando en el suicidio",
         "pienso en el suicidio", "suicidarme",
         "quisiera/quisiese/prefiero/preferiria/preferiría ~2 estar muerta/muerto",
         "quisiera/quisiese/prefiero/preferiria/preferiría ~2 morirme/morir",
         "mejor morirme", "mejor estar muerta/muerto", "ganas de morirme/morir",
         "ojala/ojalá ~3 no despertar/despertara/despertará/despierte",
         "desaparecer para siempre", "no vale la pena vivir",
         info="impersonal", past="ideation"),
    rule("thoughts_of_death_es", _SI, CRISIS,
         "pensamientos de (morir|morirme|muerte|suicidio|matarme|quitarme la vida)",
         "pensamientos suicidas", "ideas suicidas", "ideas de (morir|suicidio|matarme)",
         info="impersonal", past="ideation"),
    rule("burden_es", _SI, CRISIS,
         "estaría/estaria/estarían/estarian/estarán/estaran ~3 mejor sin mí/mi",
         "mejor sin mí/mi ~2 (todos|mi familia|ellos)", "nadie ~3 notaría/notaria/extrañaría/"
         "extranaria ~3 si ~2 (me muero|muriera|desapareciera|no estuviera)",
         info="impersonal", past="ideation", passive=True),
    # Said with intent ("voy a matarme esta noche"): the C-SSRS's question 4.
    rule("intent_es", _SI, EMERGENCY,
         "voy a matarme", "me voy a matar", "voy a suicidarme", "me voy a suicidar",
         "voy a quitarme la vida", "me voy a quitar la vida",
         "voy a tomarme todas ~3 pastillas", "me voy a tomar todas ~3 pastillas",
         info="impersonal", past="ideation"),
    rule("self_harm_es", _SH, CRISIS,
         "volví/volvi a cortarme", "ganas de cortarme", "quiero cortarme",
         "me corté/corte/cortó/corto ~2 los/las/la/el? brazos/brazo/muñecas/muñeca/munecas/"
         "muneca/piernas/pierna",
         "quiero/ganas de/pensando en/pienso en/voy a ~2 hacerme daño/dano",
         "me hice daño/dano ~2 a propósito/proposito/apropósito",
         info="impersonal", past="ideation", not_followed_by=("el", "las", "mi", "uñas", "pelo")),
    rule("preparation_es", "preparation", EMERGENCY,
         "escribí/escribi/escribo/escribiendo ~2 cartas ~3 (todos|despedida|mi familia|cada uno)",
         "cartas de despedida", "regalé/regale/regalando ~2 mis cosas",
         "le di/dí ~2 mis cosas", "les di/dí ~2 mis cosas",
         info="topic", past="downgrade"),
    # "no quiero vivir" (but "no quiero vivir con esta ansiedad" is about the anxiety).
    rule("not_want_to_live_es", _SI, CRISIS, "no quiero vivir", "ya no quiero estar aqui/aquí",
         info="impersonal", past="ideation", passive=True, not_followed_by=("con",)),
    # "wouldn't mind if I died": the negation is the ideation, so it is not negatable.
    rule("would_not_mind_dying", _SI, CRISIS,
         "would not mind/care if i ~2 died/<die>",
         "would not mind/care if i ~2 (was dead|were dead|did not wake up|never woke up)",
         "would not mind/care ~2 (dying|not waking up)",
         negatable=False, info="impersonal", past="ideation", passive=True),
    rule("want_to_die", _SI, CRISIS,
         "<want>/wanna/ready/wish/wishing/wishin/longing/deserve to/too? just? <die>",
         "<want>/wanna/wish to? just? be dead",
         "<wish/hope/pray>/hoping/praying/wishing i ~2 <die>/dead/gone",
         "<wish/hope/pray>/hoping/praying/wishing to? ~2 drop dead",
         "feel/feeling/felt like dying", "<hate> being alive", "<hate> living",
         "<wish/hope/pray>/hoping/praying/wishing ~3 someone would ~2 kill me",
         "<wish/hope/pray>/hoping/praying/wishing ~4 (get hit|hit by a|in an accident|"
         "the plane crashes)",
         "<wish/hope/pray>/hoping/praying/wishing ~6 (hits me|hit me|runs me over|"
         "run me over|crashes into me)",
         "<want>/wanna/wish ~2 to? (join|be with) ~4 (in heaven|again|who died)",
         "<want>/wanna ~3 it ~2 to be over", "<want>/wanna ~2 it all ~2 to be over",
         "better off dead", "should just <die>", "need/deserve/should to? <die>",
         "should ~2 be dead",
         "might as well <die>", "might as well be dead", "let me <die>",
         info="impersonal", past="ideation"),
    rule("rather_die", _SI, CRISIS, "rather <die>", "rather be dead",
         "rather just/really/honestly/simply/actually <die>",
         "rather just/really/honestly/simply/actually be dead",
         info="impersonal", past="ideation"),
    rule("not_want_to_live", _SI, CRISIS,
         "<do> not <want>/wanna to? (live|exist|be alive|go on|continue living|keep living)",
         "<do> not <want>/wanna to? be here anymore",
         "<do> not <want>/wanna to? be here ~3 earth/world/planet",
         "not <want>/wanna to? be alive", "<want>/wanna to? stop existing",
         "<want>/wanna to? not exist", "<wish> i ~2 not/didnt exist",
         "could/can/would/just/to not exist", "<leave> this world/earth/planet/life",
         "done with ~2 life/living/existing", "tired/sick of (waking up|breathing)",
         "disappear/vanish ~2 (forever|permanently|for good)",
         "<wish> i did not exist", "tired of (living|existing|life|being alive)",
         "<wish> i ~2 (was|were|had) never ~2 born", "<wish> i had never been born",
         "why ~3 i ~3 alive",
         "tired of being alive", "sick of (living|being alive)",
         "<give> up on life/living", "can/could not go on living", "<want>/wanna out of this? life",
         info="impersonal", past="ideation", passive=True),
    rule("sleep_forever", _SI, CRISIS,
         "<want/wish>/wanna/just ~2 sleep forever", "<want/wish>/wanna ~2 never wake up",
         "sleep/asleep and never/not wake up", "sleep/asleep ~3 and never/not wake up",
         "<hope/pray/wish>/hoping/praying/wishing ~4 i ~2 not/never wake up",
         "<hope/pray/wish>/hoping/praying/wishing to? not wake up",
         "<do> not <want>/wanna to? wake up", "never <want>/wanna to? wake up",
         "not wake up tomorrow", "eternal sleep", "go to sleep forever",
         "nice/peaceful/easier/better ~2 to ~2 not/never wake up",
         past="ideation", passive=True),
    rule("sleep_forever_weak", _SI, CONCERN, "sleep forever", "never wake up", weak=True),
    rule("end_life", _SI, CRISIS,
         "<end> my life/lfe/existence", "<end> it all", "<take> my own? life",
         "finish my life", "finish with my life", "<decide>/decided ~2 to finish ~2 life",
         "<think>/thinking/thought/<want>/wanna/ready/decided/plan/planning/about ~2 to? <end> it",
         "<think>/thinking/thought ~2 ending it", "<end> everything",
         "<want> it all to end", "<want> everything to end", "<want> to end it",
         "should/could/would/might/just/easy/easier ~2 <end> it",
         info="impersonal", past="ideation"),
    # "i've decided i'm going to end things on my birthday" (not "end things with him").
    rule("end_things", _SI, CRISIS,
         "<think>/thinking/thought/<want>/wanna/ready/decided/plan/planning/about/going/gonna"
         " ~3 to? <end> things",
         info="impersonal", past="ideation", not_followed_by=("with", "between", "off", "up")),
    rule("jump_or_train", _SI, CRISIS,
         "<think/picture/imagine/want/dream/consider>/thinking/picturing/imagining/wanna ~4 "
         "<jump>/jumping (off|from|in front)",
         "(step|stepping|jump|jumping|walk|walking|throw myself|drive|driving|lie down) ~2 in "
         "front of ~2 a/the? train/bus/truck/car/traffic",
         "<think/picture/imagine/want>/thinking/picturing/imagining/wanna ~4 (overdosing|"
         "taking all|taking every|swallowing all|take all|swallow all)",
         "<want>/wanna ~2 <take> all ~3 {PILLS}", "<want>/wanna ~2 <take> (everything|"
         "the whole bottle|every pill)",
         info="impersonal", past="ideation"),
    rule("thoughts_of_death", _SI, CRISIS,
         "<think>/thinking/thought/thoughts ~3 about/of (death|dying|being dead|not being here|"
         "not being around|not existing|not waking up|my funeral)",
         "(not sure|unsure|do not know if|dont know if|not certain) i ~2 <want>/wanna to? (be here|"
         "live|be alive|keep going|go on|keep living|stay alive)",
         "death ~3 (sounds|seems|feels) ~2 (peaceful|nice|good|better|like a relief)",
         "<imagine/picture/plan>/imagining/picturing/planning ~2 my ~2 funeral",
         "<think>/thinking/thought ~3 (of|about) ending things",
         "(it|this|everything|all) ~3 be over soon", "all be over soon",
         "<want>/wanna/wish/long/longing ~2 for death", "<welcome> death",
         info="impersonal", past="ideation", passive=True),
    rule("suicidal_self", _SI, CRISIS,
         "am/is/are/'s/feel/feeling/felt/been/being/getting/get/so/very/really/kinda/super/"
         "pretty/bit/extremely/actively/passively/fucking/mega/lowkey suicidal",
         "and suicidal", "and feeling suicidal",
         "suicidal again", "suicidal thoughts/ideation/feelings/urges/thinking/idea/ideas",
         "thoughts/thinking/urges/urge (of|about) suicide", "<think> ~2 (of|about) suicide",
         "considering/contemplating/planning suicide", "commit/committing/comitting suicide",
         "<want>/wanna ~2 suicide", "suicide ~2 on my mind", "<think> about ~2 unalive",
         info="impersonal", past="ideation"),
    rule("suicide_word", _SI, CONCERN, "suicide", "suicidal",
         info="impersonal", past="ideation", weak=True),
    rule("better_off_without_me", _SI, CRISIS,
         "better off without me", "better without me", "better off if i ~2 gone/dead/died",
         "noone would ~2 notice/care/miss ~6 gone/dead/died/disappeared/here/around/alive/"
         "disappear",
         "noone would ~2 miss me", "noone will ~2 miss me",
         "whether/if i live or die", "if i lived or died",
         "would not ~2 matter ~2 if i ~2 died/dead/gone/disappeared",
         "<do> not matter if i ~2 die/died/gone",
         "everyone would ~2 be? ~2 happier/easier ~3 without me",
         "would be easier for everyone if i", "easier ~2 if i ~2 not/never here/around",
         "easier ~2 if i ~2 was/were dead/gone",
         "happier/better/easier/relieved/lighter ~5 if i ~3 dead/gone/died/disappeared/disappear",
         "happier/better/easier/relieved ~5 without me ~2 around/here",
         "fine/okay/ok/better/happier/easier ~3 without me",
         "happier/better/easier/relieved ~5 if i ~2 was/were not ~2 (in it|here|around|alive|"
         "in the world|born)",
         "if i ~2 (died|die|was gone|were gone|disappeared) ~5 not ~2 even? matter/care/notice",
         "<can> not see myself ~3 (being here|being alive|alive|living|around) ~3 "
         "(next|much|in a|for)",
         info=None, past="ideation", passive=True),
    # "this is my last day in the program!" is a graduation, not a goodbye (blind round 14).
    rule("last_message", _SI, CRISIS, "this is my last (day|night|message|post|text|goodbye)",
         not_followed_by=frozenset({"in", "at", "of", "on", "with", "as", "en", "de"}),
         past="ideation", passive=True),
    rule("not_around_much_longer", _SI, CRISIS,
         "will not be a burden ~5 longer/soon/anymore/forever",
         "not be a burden ~2 much longer",
         "will not be around ~5 longer/soon/tomorrow/forever",
         "will not be here ~5 longer/soon/tomorrow/forever",
         "not be ~2 around/here much longer", "not be dealing with ~3 longer",
         "will not have to deal with me ~3 longer/soon/anymore",
         "will not have to worry about me", "will not have to deal with me",
         "not ~4 make it through the weekend/week",
         "<see> ~2 point in/of (living|life|being alive|going on|being here|staying alive)",
         "not see ~2 point in/of (living|life|being alive|going on|being here|staying alive)",
         "the point of (living|life|being alive|going on|being here|staying alive)",
         "none of this will matter ~2 soon", "soon ~3 none of this will matter",
         "not be a problem ~3 longer/soon/anymore",
         "will not be here ~3 (for christmas|for the holidays|for my birthday|next week|"
         "next month|next year)",
         "last time you will hear from me", "you will not hear from me again",
         "goodbye (everyone|all|world|forever|everybody)", "goodbye cruel world",
         "<end> my suffering/pain ~2 for good", "no reason to (live|stay|keep going|be here)",
         "zero/no reasons to (live|stay|keep going|be here)",
         "nothing ~2 to live for", "no point in living", "no point living",
         "not worth living", "life is not worth", "no reason ~2 to be alive",
         "<see> no reason to live", "why should i ~2 (live|stay alive|keep living)",
         "why ~2 i still alive", "do not deserve to live", "do not deserve to be alive",
         past="ideation", passive=True),
]

INTENT_AND_PLAN: List[Rule] = [
    rule("intent_kill_self", _SI, EMERGENCY,
         _I + " <kill/off/unalive/hang/shoot/drown> {REFL}", _I + " kms", _I + " rope",
         _I + " <end> it/everything", _I + " <end> my life", _I + " <end> it all",
         _I + " <commit> suicide", _I + " <overdose>", _I + " <take> all ~3 {PILLS}",
         _I + " <take> the whole bottle", _I + " <take> every ~2 {PILLS}",
         _I + " <swallow> ~3 {PILLS}", _I + " <jump> (off|from|in front)",
         _I + " <drive> ~3 off/into ~3 bridge/cliff/tree/wall/traffic",
         _I + " <do> it (tonight|today|tomorrow|now|soon)", _I + " <take> everything",
         _I + " <take> it all (tonight|today|now|at once)",
         "i ~2 <take> all ~3 {PILLS} ~2 now/tonight", "taking all ~3 {PILLS} ~2 now/tonight",
         "about to do something ~4 with ~4 {PILLS}/bottle/meds",
         info="impersonal", past="ideation"),
    rule("has_plan", _SI, EMERGENCY,
         "<have/make>/made/got a plan ~3 to? ~2 (<kill/die>|<end> (it|my life|things|everything)|"
         "suicide|kms|overdose)",
         "<have/make>/made/got a plan ~3 how", "plan ~3 to <kill/end> {REFL}/it/my",
         "<plan> ~2 how i ~3 going to do it", "<know> ~2 how i am going to do it",
         "<think>/thought/thinking ~3 (about|of) how ~4 (do it|would do it|could do it|"
         "would go about it)",
         "<know> ~2 (how|when|where) ~5 do it", "<decide>/decided ~2 to <die/end/kill>",
         "made up my mind",
         "tonight is the night", "tonight 's the night", "this is goodbye",
         "my last (night|day) ~2 alive/earth", "picked a date", "picked the date",
         "set a date", "chose the date", "wrote down the plan",
         "peace with my decision", "made my decision ~3 (to die|to end|to go)",
         "made my peace", "my mind is made up",
         past="ideation"),
    rule("at_the_edge", _SI, EMERGENCY,
         "standing ~4 on the? bridge/edge/ledge/roof/railing/tracks",
         "on the ledge/edge ~4 bridge/roof/building",
         "at the (bridge|tracks)", "on the train tracks", "on the railroad tracks",
         "sitting ~3 on the? tracks/ledge/roof/railing",
         "noose ~3 (ready|tied|hanging|around my neck)", "rope ~3 around my neck",
         "gun ~3 (to|in) my head/mouth/hand/lap", "loaded ~2 gun",
         "razor/blade/knife/blades ~3 in my hand", "knife ~3 to my wrist/throat",
         "<hold>/holding ~3 gun/knife/blade/razor/rope/noose", "gun ~6 <hold>/holding it",
         "drove/went/walked/drive/walk/driving/walking ~2 to the bridge/tracks/cliff/roof/ledge",
         "(car|engine) ~5 running ~4 garage", "garage ~5 engine ~2 running",
         "{PILLS} ~3 in my hand ~3 (right now|tonight|now)",
         "had/have/put/holding ~2 {PILLS} ~2 in my mouth",
         past="ideation"),
    rule("imminent_statement", _SI, EMERGENCY,
         "not ~4 make it through the night", "will not ~2 make it to tomorrow/morning",
         "this is the end", "see you on the other side", "by the time you read this",
         "when you read this ~3 gone",
         "goodbye ~8 not ~2 answering/responding/picking",
         "last time i ~2 (message|text|talk to|write to|will message|will text) you",
         past="ideation"),
    rule("goodbye_message", _SI, CRISIS,
         "texted/messaged/posted/sent/left/wrote ~3 goodbye/farewell", info="topic",
         past="ideation"),
    rule("no_safety_promise", _SI, CRISIS,
         "can/could/will not promise ~5 safe/ok/okay/alive/here/hurt",
         "can/could not keep myself safe", "not ~2 safe ~3 with myself",
         "do not trust myself ~3 tonight/alone/anymore",
         "scared/afraid/terrified of what i ~2 might/could/will ~2 do",
         "scared/afraid/terrified i ~2 might/will ~2 do something",
         "about to do something (stupid|dumb|drastic) ~3 (tonight|now|again)",
         past="ideation"),
    rule("intent_do_it", _SI, NONE,
         _I + " (do it|go through with it|"
         "follow through)", "(going|gonna) to? go through with it", "ready to do it",
         negatable=True, boost=_IDEATION_CATS),
    # Context only: counted when ideation or self-harm is in the same message (or turn before).
    rule("timeframe", _SI, NONE, "{TIMEFRAME}", "this weekend", "after ~3 asleep",
         "when ~3 at work/school", "before ~2 christmas/birthday",
         "in a few hours", "in an hour", "right now", "by the end of the week",
         negatable=False, boost=_IDEATION_CATS, boost_active_only=True),
    rule("means_at_hand", "preparation", NONE,
         "{PILLS} ~3 (in front of me|right here|next to me|in my hand|lined up|counted out|ready)",
         "i have all my pills", "all ~2 {PILLS} ~3 <count/line> ~2 out", "the whole bottle",
         "my whole bottle", "all my pills", "every pill", "entire bottle",
         "<have/own/find/buy>/got/found/bought ~3 a/the/my? gun/guns/pistol/rifle/shotgun/handgun/"
         "rope/noose/razor/razors/blades",
         "gun/guns/pistol/rifle/rope/knife/razor/pills ~4 (in my|in the house|in the car|"
         "in my room|right here|next to me|in front of me)",
         "enough {PILLS}",
         "have everything (i need|ready|prepared|planned|in place)", "everything is ready",
         "made ~2 arrangements", "all set for tonight", "i have a plan", "made my decision",
         "i have decided",
         "figured ~2 out ~3 (how|what i need to do|a way)",
         negatable=False, boost=(_SI, _SH, "hopelessness")),
]

PREPARATION: List[Rule] = [
    # A firearm in hand or lap now (a hunting or range sentence is ordinary use).
    rule("gun_in_hand", "preparation", EMERGENCY,
         "gun/pistol/revolver/handgun/rifle/shotgun ~4 in my lap/mouth/hand/hands",
         "gun/pistol/revolver/handgun ~3 to my head/temple/chest",
         info="impersonal"),
    rule("stockpiled_pills", "preparation", EMERGENCY,
         "<stockpile/hoard/stash/collect/stock/gather/horde> ~3 {PILLS}",
         "<save> up ~3 {PILLS}",
         "<save> ~2 {PILLS} ~3 (for when|for the end|for tonight|for one night)",
         "been saving ~3 {PILLS}", "{PILLS} ~3 saved up", "{PILLS} ~2 stockpiled/hoarded",
         "<stockpile/hoard/stash/save> ~3 doses", "<stockpile/hoard/stash> ~3 night/extra",
         "a stash of ~2 {PILLS}", "have/got/'ve a stash", "my stash",
         "<want>/wanna/need ~2 a stash", "enough ~2 saved/stashed/stockpiled",
         "enough {PILLS} ~3 to ~2 <die/kill/end/overdose>/not",
         "enough {PILLS} ~3 to do it", "enough ~3 to never wake",
         "counted/counting/lined/lining ~1 out/up ~3 {PILLS}", "{PILLS} ~3 counted/lined out/up",
         past="downgrade", info="topic"),
    rule("rehoming_things", "preparation", CRISIS,
         "<give>/gave/given/giving my ~2 dog/cat/pets/guitar/things/stuff/belongings/jewelry ~3 to",
         "found ~2 new? homes? for my ~2 dog/cat/pets", info="topic", past="downgrade",
         boost=_IDEATION_CATS + ("hopelessness",)),
    rule("means_fixation", "preparation", CRISIS,
         "{PILLS}/bottle/gun/rope/knife/blade ~8 (looking|staring) at them/it",
         "(staring|looking|stare) at ~2 the/my? pills/bottle/gun/rope/knife/blade/bridge",
         info="topic", past="downgrade"),
    rule("goodbye_note", "preparation", EMERGENCY,
         "<write/leave/draft/finish/type>/wrote/written/writing ~4 goodbye/suicide/farewell/"
         "final/last note/notes/letter/letters/message/messages",
         "suicide note", "goodbye letter/letters/note/notes/video/message/messages",
         "letters/letter/notes ~2 to ~2 everyone/everybody ~2 i ~2 love/care",
         "<write/wrote>/written/writing letters to ~2 my? ~2 {RELATION}/everyone/family ~3 "
         "goodbye/sorry/before",
         info="impersonal", past="ideation"),
    rule("wrote_will", "preparation", EMERGENCY,
         "<write/make/finish/update/draft>/wrote/written/writing ~2 a/my will",
         "<put/get>/putting/getting my affairs in order", "affairs ~2 in order",
         "<make>/making arrangements for my ~2 {RELATION}/pets/cat/dog/kids/cats/dogs",
         "<find/found> ~2 a? new? home/homes for my ~2 cat/dog/pets/cats/dogs",
         "who will take care of my ~2 cat/dog/pets/kids ~3 gone",
         info="topic", past="downgrade"),
    rule("giving_things_away", "preparation", EMERGENCY,
         "<give>/gave/given/giving away ~2 my? stuff/things/belongings/possessions/"
         "everything/pets/cat/dog/guitar/collection/jewelry/valuables/car",
         "<give>/gave/given/giving my ~2 stuff/things/belongings/possessions ~2 away",
         "<give>/gave/giving away all ~2 my",
         "<say>/said/saying ~2 my goodbyes", "<say>/said/saying goodbye ~2 to ~2 everyone/"
         "everybody/family/all/kids/friends",
         "<buy>/bought/got/ordered ~2 a? rope/noose/charcoal/helium",
         "<buy>/bought/ordered ~2 razor blades", "<tie>/tied/tying ~2 noose",
         "<delete>/deleted ~2 all my accounts",
         "will not need ~2 my? (stuff|things|clothes|car|money|anything) ~3 "
         "(anymore|where i am going)",
         info="topic", past="downgrade"),
]

METHOD_SEEKING: List[Rule] = [
    rule("lethal_dose", "method_seeking", CRISIS,
         "lethal/fatal/deadly/toxic/killing dose/doses/amount/amounts/level/dosage/overdose",
         "lethal/fatal/deadly amount of", "ld50", "lethal ~3 {PILLS}", "{PILLS} ~3 lethal/fatal",
         "how many/much ~4 {PILLS} ~4 would/will/does/do/to/could/can it? take",
         "how many/much ~4 {PILLS} ~4 to die/kill/overdose/od/end/not/never/stop",
         "how many/much ~4 would/will/does/to it take to ~2 die/kill/overdose/not/never/end",
         "how many/much ~4 {PILLS} ~2 would/will/could kill", "how many/much ~4 to overdose",
         "how many/much ~6 is/be an? overdose/lethal/fatal/deadly",
         "how many/much ~6 to never/not wake up",
         "if i took/take/swallowed all ~2 my? ~2 {PILLS}", "if i took/take/swallowed the whole",
         "what would happen if i took/take (all|the whole|every)",
         "which/what {PILLS}/meds/medication/drugs/pills ~3 most? lethal/deadly/fatal/kill",
         "overdose ~3 how many/much", "od ~3 how many/much",
         "enough to ~2 (not wake|never wake|die|kill me|overdose|od|end it|stop my heart)",
         "how many/much ~6 would/will/to/could ~2 stop my (breathing|heart)",
         "how much tylenol/acetaminophen/paracetamol/insulin ~5 <kill/die>/fatal/lethal/liver",
         boost=(_SI, _SH, "hopelessness")),
    rule("big_dose_question", "method_seeking", CRISIS,
         "(what happens|what would happen|what will happen) ~4 # ~2 {COUNTABLE}",
         "would/will/could/can/if ~4 # ~2 {COUNTABLE} ~4 kill/enough/die/fatal/lethal/overdose",
         "would/will/could/if ~2 # ~2 {COUNTABLE} be enough",
         info=None, min_number=10, boost=(_SI, _SH, "hopelessness")),
    rule("too_much_question", "method_seeking", CONCERN,
         "how many/much ~5 {PILLS} ~3 too much/many", "how many/much ~4 is too much/many",
         "strongest ~3 (sleeping pills|sleeping pill|sleep aid|sleep aids|painkiller|painkillers|"
         "pills|over the counter|otc)",
         info=None, weak=True, boost=(_SI, _SH, "hopelessness")),
    rule("ways_to_die", "method_seeking", CRISIS,
         "painless/easiest/easy/quickest/quick/fastest/best/surest/peaceful/effective/gentle/"
         "simplest/cleanest way/ways/method/methods to? ~2 <die>/kms/suicide",
         "painless/easiest/easy/quickest/quick/fastest/best/surest/peaceful/effective/gentle/"
         "simplest/cleanest way/ways/method/methods to? ~2 (<kill/off/unalive> {REFL}|"
         "<end> my life|<end> it all|<end> it|commit suicide)",
         "painless/easiest/easy/quickest/quick/fastest/surest/peaceful way/ways to go",
         "how to <kill/off/unalive/hang/drown/shoot/poison> {REFL}",
         "how do/would/can/could/should i/you/someone/people ~2 <kill/off/unalive/hang> {REFL}",
         "how to tie a noose", "how to ~2 <hang> {REFL}", "how to ~2 <overdose>",
         "how to commit suicide", "<research/google/look/search/read>/researching/googling/"
         "looking/searching ~3 ways/methods/how ~3 to ~2 <die/kill/suicide/overdose>",
         "<research/google/search>/researching/googling/searching ~3 suicide methods",
         "suicide methods", "ways to <die>", "how long ~3 to bleed out",
         "how long ~4 to (suffocate|drown|bleed out)", "how long ~3 lose consciousness",
         "<do> ~2 drowning/hanging/overdosing/bleeding ~2 hurt", "does it hurt to <die>",
         "hanging/drowning/overdosing/suffocating/bleeding/jumping/od ~3 painless/peaceful/quick/"
         "hurt/instant",
         "how deep ~5 cut/slit/stab", "cut/slit/hit/sever ~4 an? artery/arteries/vein/veins",
         info=None),
    rule("jump_or_crash", "method_seeking", CRISIS,
         "what/which/where/whats/'s ~3 highest/tallest ~2 bridge/bridges/building/buildings/cliff/"
         "cliffs/roof/parking/structure",
         "highest/tallest ~2 bridge/bridges/building/buildings/cliff/cliffs/roof/parking/structure"
         " ~3 (near me|around here|nearby|in town|in the city|close to me|to jump)",
         "how high ~6 to? <die/survive/kill>", "how far ~4 <fall/jump> ~4 <die/survive/kill>",
         "<survive> ~3 fall/jump/crash/overdose/od", "chance/chances/odds of surviving",
         "can/could/would ~2 you/someone/i/people survive ~4 jump/fall/crash/falling/jumping",
         "<jump> off ~3 bridge/building/roof/cliff/overpass ~3 <die/survive/kill>",
         "how fast ~4 crash ~3 <die/survive/kill>",
         "which/what ~2 bridge/bridges/building/buildings/cliff/cliffs/overpass/garage ~6 "
         "tallest/highest",
         "survival rate/rates/odds/chance/chances ~5 <fall/jump/crash/overdose/hang>/jumping/"
         "falling/bridge/building/story/stories/floor/floors",
         "how/where ~4 <buy/get/borrow> ~2 a? gun/firearm/pistol/handgun ~2 fast/today/quick",
         "where ~3 <buy/get> ~2 a? gun/firearm/pistol/handgun",
         info=None),
]

OVERDOSE: List[Rule] = [
    rule("took_whole_supply", "overdose", EMERGENCY,
         "took/taken/swallowed/popped/downed/ate/chugged/snorted ~2 all/whole/entire/"
         "rest ~4 {PILLS}/bottle/bottles/pack/script/prescription/supply/stash/meds",
         "took/taken/swallowed ~1 everything ~3 cabinet/drawer/bottle/house/had",
         "took/taken/swallowed ~3 half the/a bottle",
         "took/taken/swallowed/popped/downed/ate ~2 whole/entire/full ~2 week/weeks/"
         "month/months ~2 worth", "worth ~2 at once",
         "took/taken/swallowed/popped/downed/ate/snorted ~2 a/the/my/an? handful/bunch/"
         "fistful/ton/lot/shitload/load/pile/bottle/dozen/mouthful/bunches ~2 of? ~2 my?"
         " ~2 {PILLS}",
         "took/taken/swallowed/popped/downed/ate ~2 way too many/much",
         "took/taken/swallowed/popped/downed/ate ~2 too many/much ~3 {PILLS}",
         "took/taken/swallowed/popped/downed/ate ~3 {PILLS} ~3 way too many/much",
         "took/taken/swallowed/popped/downed/ate ~2 a bunch", "took/taken/swallowed the whole",
         "taking/swallowing/popping/took ~2 them/pills/it ~2 one by one",
         "took/taken/swallowed/popped/had ~6 and then? a bunch/lot/handful/ton more",
         info="topic", past="ideation"),
    rule("took_many_pills", "overdose", EMERGENCY,
         "took/taken/swallowed/popped/downed/ate/snorted ~2 # ~3 of? ~2 my? ~2 {COUNTABLE}",
         "took/taken/swallowed/popped/downed # of the/my/those/these",
         info="topic", past="ideation", min_number=5),
    # "a few extra klonopin like 8 or 9": extra pills counted in the same breath.
    rule("took_extra_pills", "overdose", EMERGENCY,
         "took/taken/swallowed/popped/had ~3 extra ~6 #",
         "took/taken/swallowed/popped/had ~2 # ~3 extra",
         info="topic", past="ideation", min_number=5),
    rule("took_big_mg", "overdose", EMERGENCY,
         "took/taken/swallowed/popped/downed/ate ~2 # mg/milligrams",
         info="topic", past="ideation", min_number=12),
    rule("overdosed", "overdose", EMERGENCY,
         "overdosed", "am/is/'s/'m/are/been/keep overdosing", "<think> i ~2 <overdose>",
         "<overdose> on purpose", "i ~2 <overdose> ~2 on", "<overdose> ~2 again",
         info="impersonal", past="ideation"),
    # An overdose already taken, told in the past tense ("took an overdose an hour ago").
    # "Not safe right now" and its wordings: the C-SSRS's imminent side, said directly.
    rule("cannot_stay_safe", "suicidal_ideation", CRISIS,
         "can not keep myself safe", "not think i can keep myself safe", "can not stay safe",
         "not think i can stay safe", "not safe right now", "not safe with myself",
         "not safe by myself", "not safe alone tonight", "not going to be safe",
         "can not promise i will be safe", "can not promise to stay safe",
         info="impersonal", past="ideation"),
    # The same, in other words; "if i ever feel unsafe with myself, who do i call?" is a
    # hypothetical (concern), not a disclosure.
    rule("feels_unsafe", "suicidal_ideation", CRISIS,
         "feel/feeling/felt unsafe ~3 (tonight|right now|with myself|by myself|alone)",
         "unsafe with myself", "do not feel safe ~2 (tonight|right now|alone)",
         "scared/afraid/terrified of what i might/will/could do",
         "no me siento segura/seguro ~2 sola/solo/conmigo",
         "miedo de ~2 hacerme daño/dano/algo", "miedo de hacer una locura",
         "miedo de hacer algo ~2 (esta noche|hoy)",
         info="hypothetical", past="ideation"),
    rule("took_an_overdose", "overdose", EMERGENCY,
         "took/taken/had/did an/a overdose", "took/taken ~2 too many",
         info="impersonal", past="ideation"),
    rule("overdose_word", "overdose", CONCERN, "overdose", "overdoses", "overdosing",
         "<overdose>", info="topic", past="downgrade"),
    rule("not_breathing", "overdose", EMERGENCY,
         "not/barely/hardly breathing", "stopped/stops/stop breathing",
         "can/could not/barely wake (him|her|them|my {RELATION}) up", "will/would not wake up",
         "is/'s not waking up", "are not waking up",
         "unresponsive", "not responding", "will/would not respond", "is not responsive",
         "lips ~3 blue/purple/grey/gray", "turning blue", "turned blue", "foaming at the mouth",
         "his/her/their/my breathing ~3 slow/shallow/weird/funny/gurgling/strange/rattling/snoring",
         "breathing is ~2 slow/shallow/gurgling/rattling", "choking on ~2 vomit/puke",
         "can not stay awake ~3 pills",
         "can/could not wake him/her/them", "can/could not wake my ~2 {RELATION}",
         "can not keep my eyes open", "can barely keep my eyes open",
         "passed out and ~4 not wake", "passed out ~3 can not ~2 wake",
         "no pulse", "not moving ~3 not breathing", "is not breathing",
         info="hypothetical"),
    rule("cant_breathe", "overdose", CONCERN,
         "can/could not breathe", "hard to breathe", "struggling to breathe",
         "passed out", "blacked out", "black out", "keep nodding off", "nodding out",
         "can not stay awake", "so sleepy i can not", "fell asleep and ~2 not",
         boost=("overdose", "dangerous_mixing"), info="hypothetical"),
]

_SW = "severe_withdrawal"
SEVERE_WITHDRAWAL: List[Rule] = [
    rule("seizure_now", _SW, EMERGENCY,
         "having ~2 a? seizure/seizures/fit/convulsions/grand", "in a seizure",
         "am/is/are/'s/'m/keep/keeps/started/been seizing/convulsing",
         "seizing ~2 now", "convulsing", "<have>/having convulsions", "just had a seizure",
         "<think> ~3 having a seizure", "seizure ~2 right now",
         "body ~3 jerking ~3 can not stop", "eyes ~2 rolled back",
         "whole body ~2 shook/jerked/convulsed/seized ~6 can/could not control/stop",
         "jerking/convulsing ~6 can not stop", "(shaking|jerking|twitching) ~3 all over ~4 can not",
         info="hypothetical"),
    # Spanish, said directly ("mi mamá está convulsionando en el piso").
    rule("seizure_now_es", _SW, EMERGENCY,
         "está/esta/estoy/sigue/empezó/empezo ~2 convulsionando", "acaba de convulsionar",
         "tiene/tuvo/teniendo ~2 una? convulsión/convulsion/convulsiones ~3 (ahora|ahorita|ya)",
         "le está dando una? convulsión/convulsion/convulsiones",
         info="hypothetical"),
    rule("hallucination_es", _SW, EMERGENCY,
         "veo/viendo/escucho/escuchando/oigo/oyendo ~3 cosas que no ~2 están/estan/existen/hay",
         "veo/viendo ~3 bichos/insectos/gente/personas ~4 paredes/piel/pasillo/cuarto/techo",
         "oigo/escucho/oyendo/escuchando voces",
         info="hypothetical", past="downgrade"),
    rule("seizure_recent", _SW, CRISIS,
         "had ~2 a? seizure/seizures/fit/convulsions",
         "seizure/seizures ~4 (last night|yesterday|today|this morning|last week)",
         "<think> ~3 had a seizure", "first seizure",
         "another seizure", "woke up ~4 bit my tongue", "bit my tongue ~4 seizure",
         info="topic", past="downgrade"),
    rule("seizure_threat", _SW, CRISIS,
         "feel/feels/feeling ~4 like ~4 seizure", "about to have a seizure",
         _I + " have a seizure", "on the verge of a seizure", "pre seizure",
         "brain zaps ~4 seizure", "seizure coming", "close to a seizure",
         info="topic"),
    rule("seizure_word", _SW, CONCERN, "seizure", "seizures", "convulsions", "fits",
         info="topic", past="downgrade"),
    # Delirium told plainly: confusion or blackouts (with or without shaking), or not
    # knowing where one is: an emergency in withdrawal (CLINICAL.md section 2).
    rule("myoclonus_now", _SW, EMERGENCY,
         "arm/arms/leg/legs/body/jaw/hand/hands ~2 jerking/twitching/jumping/jolting ~4 "
         "can not/worse/stop/help/spreading",
         "jerking/twitching ~3 getting worse", "jaw ~2 locked",
         info="topic", past="downgrade"),
    rule("delirium_now", _SW, EMERGENCY,
         "what year is it", "can not remember anything ~4 phone/day/year/today",
         "not know what year it is", "not know what day it is",
         "do not know what day it is", "no idea what day it is",
         "keep/keeps/kept blacking/passing out", "been blacking out", "blacked out ~3 again",
         "so/really/very/totally confused ~4 shaking/blacking/shaky/trembling",
         "do not know where i am", "did not know where i was", "no idea where i am",
         "do not recognize ~3 my/where", "can not think straight ~4 shaking",
         info="topic", past="downgrade"),
    rule("hallucinating_now", _SW, EMERGENCY,
         "hallucinating", "<hallucinate>", "am/been/keep/started having hallucinations",
         "seeing ~3 things/people/bugs/shadows/spiders/figures/snakes ~6 not there/real",
         "hearing ~2 voices", "hear ~2 voices", "voices ~3 telling/talking/saying",
         "bugs/insects/things/spiders ~3 crawling ~3 skin/me/walls",
         "covered in ants/bugs/insects/spiders/worms/lice", "ants ~3 crawling/under ~3 skin/me",
         "can not tell what is real", "do not know what is real", "not sure what is real",
         "people ~4 in my room ~4 not/n't ~2 real/there",
         "talking to people ~3 not there", "talking to ~2 who are not there",
         "noone else can ~2 hear/see", "nobody else can ~2 hear/see",
         "hear/hearing ~3 people/voices/someone/whispers/whispering/music ~4 walls/vents/ceiling",
         "walls/everything/floor/ceiling/faces/room ~4 melting/breathing/warping/crawling",
         info="topic"),
    # "seeing things" alone, but not "seeing things so much clearer since i got off the
    # benzos" (blind round 14).
    rule("seeing_things", _SW, EMERGENCY, "seeing things",
         not_followed_by=frozenset({"so", "clearer", "clearly", "differently", "more", "from",
                                    "through", "in", "with", "better", "for"}),
         info="topic"),
    rule("hallucination_word", _SW, CONCERN, "hallucinations", "psychosis", "psychotic",
         info="topic"),
    rule("confusion_now", _SW, EMERGENCY,
         "do/does not know where ~2 i/he/she/they ~2 am/is/are",
         "do/does not know what day ~2 it is", "do/does not recognize me/anyone",
         "do/does not recognize ~2 my ~2 own? house/home/room/family/wife/husband/kids/mom/dad/"
         "children/apartment",
         "delirious", "talking gibberish/nonsense",
         "can not remember (my name|where i am|what day)",
         "confused ~4 do not know where", "no idea where i am", "out of it and confused",
         "so/very/really/totally/completely/extremely confused and ~3 shaking/sweating/scared/"
         "panicking",
         info="hypothetical"),
    rule("disoriented", _SW, CRISIS, "disoriented", "disorientated", "delirium",
         "confusion and ~3 panic", "panic ~6 confused/confusion/disoriented",
         "confused ~6 panic/panicking", "can not think straight ~4 panic",
         "panic ~4 can not think straight", info="topic"),
    rule("severe_tremor", _SW, CRISIS,
         "can not stop shaking/trembling/twitching/jerking",
         "shaking/trembling/tremors/tremor/twitching/jerking ~3 uncontrollably/nonstop/"
         "violently/constantly/uncontrollable", "shaking/trembling/tremors/tremor ~2 so bad/badly",
         "uncontrollable/violent/severe/constant shaking/tremors/tremor/trembling/jerking/"
         "twitching/spasms",
         "whole body ~3 shaking/jerking/twitching/trembling",
         "can not hold ~3 cup/phone/glass/anything/pen ~4 shaking/tremor/tremors",
         "shaking so much i can not", "tremors ~3 getting worse", "shaking ~3 getting worse",
         "will not stop shaking",
         "trembling/shaking ~2 so bad/badly/hard ~3 can not/barely/hardly walk/stand/hold/type",
         "tremors ~2 so bad ~3 can not/barely/hardly", info="topic"),
    rule("paranoia_worse", _SW, CRISIS,
         "paranoia ~3 (worse|worsening|out of control|so bad|unbearable|extreme|crazy)",
         "more and more paranoid", "getting ~2 paranoid", "extremely/super/insanely/crazy paranoid",
         "paranoid ~5 (watching|following|poison|poisoning|spying|listening|out to get)",
         "people ~3 watching/following me", "out to get me",
         "worsening paranoia", "increasingly paranoid", info="topic"),
    rule("paranoia_word", _SW, CONCERN, "paranoid", "paranoia", info="topic"),
    rule("abrupt_stop", _SW, CRISIS,
         "{STOP} ~3 {BENZO} ~5 coldturkey/abruptly/suddenly/overnight/immediately",
         "{STOP} ~3 {BENZO} ~5 all at once", "{STOPGO} ~4 coldturkey", "coldturkey ~4 {BENZO}",
         "{STOP} ~3 {BENZO} ~6 after # years/months/yrs/year",
         "after # years/months/yrs ~5 {BENZO} ~4 just? {STOP}",
         "after # years/months/yrs ~5 i ~2 just? {STOP}",
         "been off ~3 {BENZO} ~3 # days ~3 after # years/months/yrs",
         "ran/run/running out ~3 of? ~2 my? {BENZO}", "<run>/ran out of ~2 my? meds/pills",
         "have none left", "no pills/pins/klonopin left", "out of pills/pins/klonopin",
         "doctor/dr/psychiatrist/prescriber ~5 cut me off",
         "cut ~2 off ~3 {BENZO} ~3 coldturkey/abruptly/completely",
         "without ~2 my? {BENZO} ~3 for # days", "no {BENZO} for # days",
         "have not taken ~2 my? {BENZO} ~3 in/for # days", "coldturkey",
         "have not had/taken ~2 a/my/any? {BENZO}/pin/kpins/dose/pill ~3 in/for # days",
         "dejé/dejó ~4 de golpe", "deje/dejo ~4 de golpe ~2 hace",
         info="topic", past="downgrade"),
    rule("withdrawal_danger", _SW, CONCERN,
         "withdrawal/withdrawals/detox ~4 fatal/deadly/kill/die/death/dangerous/lethal",
         "withdrawal/withdrawals ~4 life threatening", "<die> from ~3 withdrawal/withdrawals/detox",
         info="topic"),
    rule("supply_interrupted", _SW, CONCERN,
         "pharmacy ~6 not/wont/out ~3 fill/filled/refill/stock/have",
         "can not get ~2 my? refill", "insurance ~4 not ~2 cover ~3 {BENZO}",
         "insurance ~5 not ~2 cover ~3 refill/prescription/script",
         "only/just? # {PILLS}/pins/tabs/tablets/doses left", info="topic"),
    rule("stopped_recently", _SW, CONCERN,
         "{STOP} ~3 {BENZO} ~3 # days/day ago", "{STOP} ~3 {BENZO} ~3 (yesterday|last week)",
         "missed ~3 doses", "skipped ~3 doses", info="topic"),
    # Withdrawal symptoms told together with the dose cut that started them: a clinician
    # should hear about it (CLINICAL.md: concern), whatever the words around them.
    rule("symptoms_since_cut", _SW, CONCERN,
         "sweating/sweats/shaking/shaky/tremors/tremor/panic/twitching ~8 since/after ~3 "
         "reduction/cut/drop/decrease/taper/lowered/reducing/cutting/dropping/reduced/dropped",
         "since/after ~3 reduction/cut/drop/decrease/lowered/reducing/cutting/dropping/"
         "reduced/dropped ~8 sweating/sweats/shaking/shaky/tremors/tremor/panic/twitching",
         "anxiety/insomnia ~4 (through the roof|unbearable|worst ever|out of control) ~8 "
         "since/after ~3 reduction/cut/drop/decrease/lowered/reducing/cutting/dropping/reduced/"
         "dropped",
         "since/after ~3 reduction/cut/drop/decrease/lowered/reducing/cutting/dropping/reduced/"
         "dropped ~8 anxiety/insomnia ~4 (through the roof|unbearable|worst ever|out of control)",
         "temblores/sudores/panico/pánico ~6 desde que ~2 "
         "bajé/baje/reduje/bajamos/bajaron/redujeron",
         "desde que ~2 bajé/baje/reduje/bajamos/bajaron/redujeron ~4 temblores/"
         "sudores/panico/pánico",
         info="topic"),
    rule("no_sleep_days", _SW, CONCERN, "have not slept ~3 # days",
         "no sleep ~3 # days", "not ~2 slept ~3 # days/nights", "awake for # days",
         "not slept more than # hours ~4 week/days/nights", info="topic",
         min_number=3),
    rule("panic_nonstop", _SW, CONCERN,
         "panic attacks? ~3 (nonstop|constant|constantly|all day|every hour|back to back)",
         "can not stop panicking", "feel like i am dying",
         "think i am dying", "heart ~3 racing ~3 chest pain",
         info="topic", weak=False),
]

_MIX = "dangerous_mixing"
_DEPRESSANT = "{ALCOHOL}/{OPIOID}/{SEDATIVE}"
DANGEROUS_MIXING: List[Rule] = [
    rule("benzo_with_depressant", _MIX, CRISIS,
         "{TAKE} ~3 {MEDS} ~4 with/and/plus/+/then/after/w/on/while/&/n/alongside ~3 "
         + _DEPRESSANT,
         "{TAKE} ~3 {MEDS} ~4 and/then/while/after ~2 drinking/drank/drunk/drink",
         "{TAKE} ~3 {ALCOHOL}/{OPIOID} ~5 and/then/with/after/plus/on/+/& ~5 {MEDS}",
         "{ALCOHOL}/{OPIOID} ~5 and/then/with/after/plus/on/+/& ~5 {MEDS}",
         "drinking/drank/drunk/drink ~2 on/with/while/after ~3 {BENZO}",
         "drinking/drank/drunk/drink ~3 while/when/after ~2 taking/on ~2 {BENZO}",
         "on ~2 {BENZO} ~4 and ~2 drinking/drank/drunk/drink",
         "{BENZO} ~2 and/with/+/plus/& ~2 {ALCOHOL}/{OPIOID}",
         "{ALCOHOL}/{OPIOID} ~2 and/with/+/plus/& ~2 {BENZO}",
         "mixed/mixing/combined/combining ~3 {BENZO} ~4 " + _DEPRESSANT,
         "mixed/mixing/combined/combining ~3 " + _DEPRESSANT + " ~4 {BENZO}",
         "got/am/was/been drunk ~3 {TAKE} ~3 {BENZO}",
         "{TAKE} ~3 {BENZO} ~3 drunk",
         "drinking/drank ~5 and ~3 {TAKE} ~3 {BENZO}",
         "{ALCOHOL} ~6 while/when on/taking ~2 {BENZO}", "on {OPIOID} ~6 {TAKE} ~3 {BENZO}",
         info="topic", past="downgrade",
         neg_extra=("quit", "stopped", "sober", "avoid", "avoiding", "dont", "shouldnt"),
         one_person=True),
]

SELF_HARM: List[Rule] = [
    rule("self_harm_act", _SH, CRISIS,
         "<cut/burn/stab/starve/carve>/cutting/burning {REFL}", "selfharm", "selfharming",
         "<cut/burn/scratch/carve>/cutting/burning/scratching/carving my/his/her ~2 wrists/wrist/"
         "arms/arm/legs/thighs/skin/stomach",
         "cutting again", "started cutting", "<relapse> ~3 selfharm/cutting",
         "urge/urges ~2 to ~2 <cut/burn/hurt/harm>", "hurting {REFL}", "harming {REFL}",
         "been <hurt/harm/hit/punch/scratch> {REFL}", "<bang/hit/punch> my head ~3 wall",
         "<scratch> ~3 until/till ~2 bleed", "<want>/wanna ~2 feel ~2 pain",
         "<want>/wanna/need ~2 to? cut ~2 (again|so bad|so badly|tonight|deep|deeper)",
         info="impersonal", past="ideation"),
    rule("self_harm_intent", _SH, CRISIS,
         "<want>/wanna/urge/urges/thoughts/thinking/tempted/might/going/gonna/will/keep/scared/"
         "afraid/about ~3 to? <hurt/harm/cut/burn/punish> {REFL}",
         "thoughts ~2 of ~2 <hurt/harm> {REFL}",
         info="impersonal", past="ideation"),
    rule("self_harm_word", _SH, CONCERN, "<hurt/harm> {REFL}", "cutter", info="impersonal",
         past="ideation", weak=True),
    rule("self_harm_injury", _SH, EMERGENCY,
         "<cut> ~3 too deep", "can not stop ~2 bleeding", "will not stop bleeding",
         "bleeding ~3 (a lot|badly|everywhere|heavily)",
         "blood everywhere", "lost a lot of blood",
         info="hypothetical"),
]

_HOPE = "hopelessness"
HOPELESSNESS: List[Rule] = [
    rule("whats_the_point", _HOPE, CONCERN,
         "what 's/is the point", "whats the point", "no point ~2 anymore/anything/trying",
         "no point in anything", "there is no point", "pointless", "why bother", "why even try",
         weak=True),
    rule("hopeless", _HOPE, CONCERN,
         "hopeless", "no hope", "lost ~2 hope", "i give up", "i gave up", "am giving up",
         "<give> up on everything/myself/me/it/life", "ready/<want> to give up", "no way out",
         "no future", "never ~2 get better", "will not ever get better", "trapped",
         "nothing ~2 matters", "nothing will ~2 change", "tired of fighting",
         "so tired of everything", "tired of ~2 everything", "done with everything",
         "done with it all", "end of my rope", "empty inside", "dead inside",
         "can/could not see a way out", "no light at the end", "no way ~2 out",
         weak=True),
    rule("cant_go_on", _HOPE, CONCERN,
         "can/could not do this (anymore|any longer|no more)",
         "not ~3 can ~2 (do this|keep going|go on|take it|handle it|cope|hold on) ~2 "
         "(much longer|any longer|anymore|for long)",
         "<wish> ~3 (it|everything) ~2 would ~2 stop/end", "no way forward",
         "noone can help me", "nothing can help me", "beyond help", "lost cause",
         "can/could not keep doing this/going",
         "can/could not take ~2 it/this ~2 anymore/longer/more", "can/could not take anymore",
         "can/could not go on anymore/./!/like", "can/could not go on any longer",
         "can/could not keep living like this", "can/could not handle ~2 anymore",
         "can/could not cope anymore", "can/could not live like this",
         "can/could not do it anymore", "can/could not anymore",
         "can not continue like/living/anymore",
         "<want> it to stop", "<want> it all to stop", "<want> the pain to ~2 stop/end",
         "<want> ~2 to disappear", "wish i could disappear", "<want> out", "want to vanish",
         "will never end", "never going to end", "never gonna end",
         "never ~2 (feel normal|be normal|be okay|be ok|be happy|be myself|feel like myself)",
         weak=True),
    rule("burden", _HOPE, CONCERN,
         "am/'m ~3 a burden", "such a burden", "burden to/on ~3 everyone/family/anyone/them/"
         "people/kids/husband/wife/parents/friends", "i am a burden", "just a burden",
         "feel like a burden", "noone ~2 cares ~2 about me", "noone would care",
         "worthless", "waste of space", "waste of air", "everyone would be better",
         "noone cares", "noone loves me", "i hate myself", "<hate> my life", "i am broken",
         "dark/bad/scary/morbid thoughts", "dark place", "meaningless", "no meaning",
         "feel/feeling/felt ~2 so? empty", "someone/somebody/anyone ~2 please? kill me",
         "so/really/very/severely/deeply/extremely/super/badly depressed",
         "depression is ~2 (killing me|unbearable|getting worse|so bad|too much)",
         "all too much", "can not live with myself", "no future for me",
         "(do not|dont) see a future", "<can> not see myself getting through",
         "(do not|dont) call ~2 the? (police|cops|911|ambulance)",
         "(do not|dont) send ~2 (the police|cops|an ambulance|anyone)",
         "how much longer i can ~2 (do this|take this|keep going|go on|hold on|last)",
         weak=True),
]

# Concern told in the first person without finality (CLINICAL.md, "Concern"): low mood,
# asking for crisis numbers, an accidental double dose. A gentle line and a follow-up,
# never an escalation; questions about depression in general stay unflagged.
CONCERN_STATES: List[Rule] = [
    rule("low_mood", "low_mood", CONCERN,
         "my depression ~3 is/has/'s/got/been ~2 bad/worse/awful/terrible/rough/back/heavy",
         "depression is ~2 (really|so|very)? bad ~2 (this|today|lately|again)",
         "<cry>/crying ~4 (again|all day|every day|nonstop|at work)", "can not stop crying",
         "stayed/staying/been ~2 in bed ~3 (all day|all weekend|all week|for days)",
         "anhedonia", "nothing ~2 (is fun|tastes good|feels good|brings me joy|makes me happy)",
         "feel/feeling/felt ~2 like a ~2 failure", "(really|very|so) bad day",
         "estoy ~2 (muy|tan|bien)? deprimido/deprimida", "agotado/agotada de todo",
         "me siento ~2 (muy|tan)? sola/solo/vacía/vacio/vacia",
         info="topic", past="downgrade"),
    # Asking for the number, not asking about the service ("how does 988 work?").
    rule("crisis_number_request", "help_seeking", CONCERN,
         "send/give/text/need/get/share/want ~3 the? 988/samhsa/lifeline/hotline",
         "send/give/text/need/get/share/want ~3 the? crisis/suicide ~2 line/number/hotline/"
         "lifeline",
         "number/numbers/info ~2 for/of ~3 samhsa/988/lifeline/hotline/crisis",
         "what/whats/what's ~2 the? ~2 crisis/suicide/samhsa ~2 (number|line|hotline)",
         "who do i call ~3 (crisis|emergency|suicidal|bad night|get bad)",
         "número/numero/línea/linea ~2 de crisis", "necesito ~3 número/numero ~3 crisis",
         negatable=False),
    rule("accidental_double_dose", "overdose", CONCERN,
         "doubled up ~3 by mistake/accident/accidentally", "double dosed",
         "took/taken ~2 a double dose",
         "took ~3 twice ~3 by mistake/accident", "accidentally ~2 took ~3 twice/two/extra",
         "took ~2 it twice", "forgot ~3 already took", "took/taken ~3 already ~3 forgot",
         info="topic"),
    rule("worried_about_someone_es", "third_party", CONCERN,
         "me preocupa/preocupan ~4 mi ~2 mamá/mama/papá/papa/hijo/hija/esposo/esposa/hermano/"
         "hermana/novio/novia/madre/padre",
         "mi ~2 mamá/mama/papá/papa/hijo/hija/esposo/esposa/hermano/hermana/novio/novia/madre/"
         "padre ~14 me preocupa/preocupada/preocupado",
         negatable=False),
]

# Very weak, ambiguous on their own (level none): they only count toward the weak-signal
# total of ConversationRisk ("several weak signals across turns" -> concern).
AMBIGUOUS: List[Rule] = [
    rule("ambiguous_low_mood", _HOPE, NONE,
         "i am (so|just|really|completely)? done", "what 's/is the use", "nothing helps",
         "nothing ever helps", "not matter anymore", "so/all alone", "nobody/noone gets it",
         "feel numb", "so numb", "what is wrong with me", "i am so tired of", "i am exhausted",
         "tired of it all", "sick of it all", "no energy for anything", "i am a mess",
         "cry/cried/crying myself to sleep", "so lonely", "i am a failure",
         weak=True),
]

PAST_AND_ATTEMPT: List[Rule] = [
    rule("suicide_attempt", _SI, CRISIS,
         "<try/attempt> to ~2 (<kill/off/unalive/hang/drown> {REFL}|<end> my life|<end> it all|"
         "<end> it)",
         "<try/attempt> to ~2 <overdose/hang/drown/unalive>",
         "attempted/attempt/tried ~2 suicide", "suicide attempt/attempts",
         "<survive> ~2 an? attempt", "<try/attempt> to ~2 take my ~2 life",
         "<overdose> on purpose", "tried to od/overdose",
         info="impersonal", past="ideation", recent=True),
    rule("past_ideation_phrase", "past_ideation", CONCERN,
         "used to ~3 <want/think/wish> ~3 <die/kill/end/suicide/dead/ending>",
         "used to be suicidal", "history of ~2 suicide/suicidal/attempts/selfharm/cutting",
         "was suicidal ~4 ago/before/when/in", "in the past ~3 suicidal",
         "when i was ~4 suicidal", "years ago ~4 suicidal", "past suicidal", negatable=True),
]

THIRD_PARTY: List[Rule] = [
    rule("worried_about_someone", "third_party", CONCERN,
         "worried/worry/worrying/scared/concerned/afraid/freaking ~3 about/for ~2 my ~2 "
         "{RELATION}",
         "my {RELATION} ~4 depressed/drinking/using/relapsed/withdrawing/withdrawal/struggling/"
         "isolating", "my {RELATION} ~4 not okay/ok",
         "my {RELATION} ~3 keeps/keep ~2 saying",
         "my {RELATION} ~3 is/has/'s been? ~2 acting ~2 weird/strange/different",
         negatable=False),
    rule("someone_else_suicidal", _SI, CRISIS,
         "{RELATION}/he/she/they ~4 talking about ~3 <die/kill/suicide/end/dying>",
         "{RELATION}/he/she ~3 said/says/told ~4 <want>/wanna ~2 to? <die>",
         "{RELATION}/he/she ~3 said/says/told ~4 <kill> {REFL}",
         "{RELATION}/he/she ~3 said/says/told ~4 suicidal",
         info="impersonal", past="ideation"),
]

# Figures of speech: a rule match overlapping one of these is dropped (span-aware).
IDIOMS: List[Rule] = [
    rule("idiom", "idiom", NONE,
         # hyperbole told as an anecdote and laughed at ("the line was so long i wanted to
         # die 😂"), and a dread of the ordinary ("rather die than sit through that meeting")
         "so ~4 i ~2 wanted to die ~3 😂/lol/lmao/haha/🤣/💀",
         "rather die than ~4 meeting/meetings/party/class/dinner/wedding/gym/presentation/"
         "zoom/exam",
         "killing/kills/killed me", "<kill> time", "killing it", "killed it", "kill for",
         "<kill> ~2 the pain/mood/vibe/buzz/lights/engine/music/bugs/weeds/germs/bacteria",
         "dying to", "<die> laughing/laughin", "<die> of embarrassment/boredom/laughter/shame",
         "<die> from embarrassment/boredom", "to death", "dead tired", "dead serious",
         "dead end", "dead battery", "dead phone", "dead last", "dead on", "dead set",
         "phone/battery/car/laptop/charger/plant/plants/ipad/computer/tv ~2 died/dead/dying",
         "drop dead gorgeous", "over my dead body", "is/'s/was/are/were to die for",
         "a ~3 to die for", "lmao/lol/lmfao i ~2 dead",
         "i am dead lmao/lol/lmfao", "i am dead", "i 'm dead", "dying of laughter",
         "kill two birds",
         "overdosed/overdosing/od on ~2 pumpkin/sugar/coffee/caffeine/chocolate/netflix/candy/"
         "carbs/cheese/pizza/tv/anime/memes/tiktok/spice",
         "strangle/murder/kill ~2 my/the cat/dog/kid/kids/brother/sister/roommate/boss/husband/"
         "wife ~6 knocked/ate/broke/chewed/lol/lmao",
         "<kms> if ~3 wifi/internet/printer/traffic/class/meeting/homework/game",
         "is unaliving me", "unaliving me about",
         "<cut/burn/hurt> {REFL} shaving/cooking/lifting/accidentally/playing/working/falling",
         "<cut/burn/hurt> {REFL} slightly/yesterday", "<cut/burn/hurt> {REFL} by/on accident",
         "<cut/burn/hurt> {REFL} on/at/in the/a/my ~1 stove/oven/pan/glass/counter/gym/kitchen/"
         "job/paper/can/work/garden/knife/iron/door",
         "<hurt> my back/knee/ankle/shoulder/neck/wrist",
         "<burn/cut> my ~2 hand/finger/fingers/thumb/arm ~2 on/while/cooking/shaving/at/slicing",
         "<end> it with",
         "<end> things with", "<end> ~2 relationship",
         "<overdose>/overdosed/overdosing on coffee/caffeine/sugar/netflix/tv/chocolate/candy/"
         "carbs/vitamins/pizza/memes/sun",
         "drink/drinking/drank ~2 water/coffee/tea/juice/milk/soda/smoothie/gatorade/electrolytes",
         "will/would not wake up early/on/in/for/to/until/till/before/at/when",
         "wake (him|her|them|me|my ~2 {RELATION}) up for/to/early/in/on/before",
         "disappear into", "could sleep forever",
         "way/ways to go about/off/back/through/to/with/for/from/on/into/up/down/home/there/out/"
         "over/ahead/slow/slower/faster",
         "suicide squad/mission/doors/run/runs/sprints/drills/king",
         "shoot me now", "just shoot me", "pins and needles", "seize the day", "seize the",
         "dead to me", "dying for a", "my feet are killing", "kill me now", "kill someone",
         "a killer", "killer headache", "kill the", "to kill a mockingbird",
         "i could kill", "gonna kill him/her/them/you", "going to kill him/her/them/you",
         "killing the game", "dressed to kill", "shot myself in the foot",
         "the end of my rope with", "die hard",
         negatable=False),
]

# Every rule table, in evidence order (most specific first).
RULE_TABLES: Dict[str, List[Rule]] = {
    "suicidal_ideation": SUICIDAL_IDEATION,
    "intent_and_plan": INTENT_AND_PLAN,
    "preparation": PREPARATION,
    "method_seeking": METHOD_SEEKING,
    "overdose": OVERDOSE,
    "severe_withdrawal": SEVERE_WITHDRAWAL,
    "dangerous_mixing": DANGEROUS_MIXING,
    "self_harm": SELF_HARM,
    "hopelessness": HOPELESSNESS,
    "concern_states": CONCERN_STATES,
    "ambiguous": AMBIGUOUS,
    "past_and_attempt": PAST_AND_ATTEMPT,
    "third_party": THIRD_PARTY,
    "idioms": IDIOMS,
}
ALL_RULES: List[Rule] = [r for table in RULE_TABLES.values() for r in table]
# fmt: on

# "my leaflet says...", "my doctor told me...": a question about what a source of
# information says is not about the writer ("why does my klonopin leaflet mention
# suicidal thoughts?"). Used by the "impersonal" informational check.
INFO_SOURCES = frozenset(
    "leaflet label insert pamphlet paperwork handout booklet warning warnings info "
    "information doctor doc psychiatrist prescriber pharmacist nurse therapist counselor "
    "counsellor gp pharmacy".split()
)
