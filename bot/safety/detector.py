"""The safety detector: deterministic, explainable screening of one message.

How a message is assessed (see :func:`assess`):

1. Clean-up: mojibake repaired ("donâ\x80\x99t"), Unicode NFKC, control characters to
   spaces, lower case, the rewrites of
   ``patterns.TEXT_REWRITES`` ("k.m.s" -> "kms", "cold-turkey" -> "coldturkey"...). Very
   long messages keep their start and their end (``MAX_CHARS``).
2. spaCy (``bot.nlp.load_pipeline()``: blank English tokenizer + lookup lemmatizer), then each
   token's NORM and LEMMA are normalised with ``patterns.NORM_MAP`` / ``patterns.LEMMA_FIXES``
   (misspellings such as "suicde", "seizer", "overdoes", "klonipin").
3. One spaCy ``Matcher`` holds every rule of ``patterns.ALL_RULES``; each match is then
   checked in its own span context:
   - idioms: a match overlapping an idiom span ("this taper is killing me") is dropped;
   - negation: a negation cue in the few tokens before the match, in the same clause
     ("I'm not suicidal", "never had thoughts of hurting myself") drops it;
   - question / hypothetical clause: informational topics become ``concern`` +
     ``informational`` ("can withdrawal cause seizures?");
   - time: past cues ("years ago", "used to") make ideation ``past_ideation`` (concern);
     recent cues ("last night") make an attempt an emergency;
   - person: the nearest person mention decides whether it is about the writer or about
     someone else (``third_party``: the situation keeps its level, but a hedged worry such
     as "might" stays at ``concern``).
4. Composition: an overdose/lethality question asked with current ideation, self-harm or
   hopelessness is method-seeking; context such as a timeframe ("tonight") or means at
   hand ("the pills are right here") and method-seeking raise ideation to ``emergency``.

Public API: :func:`assess`, :class:`Assessment`, :class:`Level`.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bot.safety import patterns as P

MAX_SENTENCE_TOKENS = 60  # run-on text is cut into pieces this long for the span checks
MAX_MATCHES_PER_RULE = 6  # evidence of one rule: its first 4 and last 2 matches
MAX_CHARS = 8000  # longer messages: the first and last HALF_CHARS characters are screened
HALF_CHARS = MAX_CHARS // 2
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_REWRITES = [(re.compile(src), dst) for src, dst in P.TEXT_REWRITES]


class Level(str, Enum):
    """Risk level, ordered by severity: none < concern < crisis < emergency."""

    NONE = "none"
    CONCERN = "concern"
    CRISIS = "crisis"
    EMERGENCY = "emergency"

    @property
    def rank(self) -> int:
        """0 for none ... 3 for emergency."""
        return _RANK[self.value]

    @classmethod
    def coerce(cls, value: Any) -> Level:
        """A Level from a Level or its string value ("crisis")."""
        if isinstance(value, Level):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            raise ValueError(f"unknown safety level: {value!r}") from None

    def __lt__(self, other: Any) -> bool:
        return self.rank < Level.coerce(other).rank

    def __le__(self, other: Any) -> bool:
        return self.rank <= Level.coerce(other).rank

    def __gt__(self, other: Any) -> bool:
        return self.rank > Level.coerce(other).rank

    def __ge__(self, other: Any) -> bool:
        return self.rank >= Level.coerce(other).rank

    def __str__(self) -> str:
        return self.value


_RANK = {"none": 0, "concern": 1, "crisis": 2, "emergency": 3}


def max_level(*levels: Any) -> Level:
    """The most severe of the given levels (Level.NONE when none given)."""
    best = Level.NONE
    for lv in levels:
        lv = Level.coerce(lv)
        if lv.rank > best.rank:
            best = lv
    return best


@dataclass
class Assessment:
    """The result of :func:`assess` for one message.

    ``evidence`` lists what fired: ``{"pattern", "category", "level", "text"}`` (plus
    ``"tags"`` such as ``third_party`` when relevant). ``suppressed`` lists matches dropped
    by a negation or an idiom (for staff and debugging, not part of :meth:`to_dict`).
    ``context`` lists context-only matches (timeframe, means at hand) that did not fire
    on their own; :class:`bot.safety.ConversationRisk` uses them across turns.
    """

    text: str
    level: Level = Level.NONE
    categories: List[str] = field(default_factory=list)
    evidence: List[Dict[str, Any]] = field(default_factory=list)
    about_self: bool = True
    suppressed: List[Dict[str, Any]] = field(default_factory=list)
    context: List[Dict[str, Any]] = field(default_factory=list)
    weak_signals: int = 0
    # Set by bot.safety.screen: the learned layer's evidence entry and P(crisis or above),
    # or why it could not run.
    model: Optional[Dict[str, Any]] = None
    model_risk: float = 0.0
    model_error: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        """JSON-serialisable summary: text, level, categories, evidence."""
        return {
            "text": self.text,
            "level": self.level.value,
            "categories": list(self.categories),
            "evidence": [dict(e) for e in self.evidence],
        }


# --------------------------------------------------------------------------------------
# Compiling the token language of bot/safety/patterns.py into Matcher patterns
# --------------------------------------------------------------------------------------
# A gap token: anything but sentence punctuation or a negation (a gap never hides "not").
_GAP_TOKEN = {
    "NORM": {"NOT_IN": sorted(P.SENTENCE_PUNCT | P.NEGATION_CUES | {"\n", "\n\n"})},
    "IS_SPACE": False,
}


def _split_alternatives(spec: str) -> List[str]:
    """Split ``a/<b/c>/{D}`` on the slashes that are not inside <...> or {...}."""
    parts, depth, cur = [], 0, ""
    for ch in spec:
        if ch in "<{":
            depth += 1
        elif ch in ">}":
            depth -= 1
        if ch == "/" and depth == 0 and cur:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        parts.append(cur)
    return parts


def _token_alternatives(spec: str) -> List[Dict[str, Any]]:
    """The Matcher token dicts (one per attribute used) for one token spec."""
    if spec == "*":
        return [dict(_GAP_TOKEN)]
    if spec == "#":
        return [{"LIKE_NUM": True}]
    norms: List[str] = []
    lemmas: List[str] = []
    for alt in _split_alternatives(spec):
        if alt.startswith("<") and alt.endswith(">"):
            lemmas.extend(alt[1:-1].split("/"))
        elif alt.startswith("{") and alt.endswith("}"):
            name = alt[1:-1]
            if name not in P.WORDS:
                raise ValueError(f"unknown word class {{{name}}} in pattern token {spec!r}")
            norms.extend(P.WORDS[name])
        else:
            norms.append(alt)
    out = []
    if norms:
        out.append({"NORM": {"IN": sorted(set(norms))}})
    if lemmas:
        out.append({"LEMMA": {"IN": sorted(set(lemmas))}})
    return out


def _pattern_items(text: str) -> List[str]:
    """Split a pattern string into token specs, keeping ``( ... | ... )`` groups whole."""
    items, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(" and not cur.strip():
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        if ch.isspace() and depth == 0:
            if cur:
                items.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        items.append(cur)
    return items


def _compile_items(items: List[str]) -> List[List[Dict[str, Any]]]:
    variants: List[List[Dict[str, Any]]] = [[]]
    for raw in items:
        optional = raw.endswith("?") and len(raw) > 1
        spec = raw[:-1] if optional else raw
        if spec.startswith("(") and spec.endswith(")") and len(spec) > 2:
            # a group of multi-word alternatives: (be alive|go on|exist)
            subs = []
            for alt in spec[1:-1].split("|"):
                subs.extend(_compile_items(_pattern_items(alt)))
            if optional:
                subs = subs + [[]]
            variants = [v + sub for v in variants for sub in subs]
            continue
        if re.fullmatch(r"~\d+", spec):
            gap = [dict(_GAP_TOKEN, OP="?") for _ in range(int(spec[1:]))]
            variants = [v + gap for v in variants]
            continue
        alts = _token_alternatives(spec)
        if optional:
            alts = [dict(a, OP="?") for a in alts]
        variants = [v + [a] for v in variants for a in alts]
    return variants


def compile_pattern(text: str) -> List[List[Dict[str, Any]]]:
    """Compile one pattern string into one or more spaCy Matcher token patterns.

    A pattern may not start or end with an optional token or a gap: the match would then
    swallow neighbouring words (and a negation cue before it).
    """
    variants = _compile_items(_pattern_items(text))
    for v in variants:
        required = [i for i, t in enumerate(v) if t.get("OP") != "?"]
        if not required:
            raise ValueError(f"pattern matches nothing or everything: {text!r}")
        edges = v[: required[0]] + v[required[-1] + 1 :]
        if any("IS_SPACE" in t for t in edges):
            raise ValueError(f"pattern starts or ends with a gap: {text!r}")
    return variants


# --------------------------------------------------------------------------------------
# Lazy state: the spaCy pipeline and the compiled Matcher, built once on first use
# --------------------------------------------------------------------------------------
_COMMON_WORDS = frozenset(
    """i me my myself we you he she it they to a an the of in on at for with and or but so
    not no is am are was were be been being do does did have has had will would can could
    should might may this that all just up out off about like get got go going take took""".split()
)


def _anchor(token_pattern: List[Dict[str, Any]]) -> Tuple[str, Tuple[str, ...]]:
    """The rarest required token of a compiled pattern: a match needs one of its words.

    Returns ("NORM" or "LEMMA", words). Used to run only the matchers whose anchor word
    occurs in the message (a pre-filter: the Matcher still checks the whole pattern).
    """
    best, best_score = None, None
    for tok in token_pattern:
        if tok.get("OP") == "?" or "IS_SPACE" in tok or "LIKE_NUM" in tok:
            continue
        attr = "NORM" if "NORM" in tok else "LEMMA"
        words = tuple(tok[attr]["IN"])
        score = (sum(w in _COMMON_WORDS for w in words), len(words))
        if best_score is None or score < best_score:
            best, best_score = (attr, words), score
    if best is None:
        raise ValueError(f"pattern has no required word: {token_pattern!r}")
    return best


class _State:
    """The loaded pipeline, one Matcher per (rule, anchor) group, and the anchor index."""

    def __init__(self) -> None:
        from spacy.matcher import Matcher

        from bot.nlp import load_pipeline

        self.nlp = load_pipeline()
        self.rules: Dict[int, P.Rule] = {}
        self.matchers: List[Any] = []
        self.index: Dict[Tuple[str, str], List[int]] = {}
        seen = set()
        for index, rule in enumerate(P.ALL_RULES):
            key = f"{rule.category}:{rule.name}:{index}"
            if (rule.category, rule.name) in seen and rule.category != "idiom":
                raise ValueError(f"duplicate rule name {rule.name!r} in {rule.category}")
            seen.add((rule.category, rule.name))
            groups: Dict[Tuple[str, Tuple[str, ...]], List] = {}
            for text in rule.patterns:
                for tp in compile_pattern(text):
                    groups.setdefault(_anchor(tp), []).append(tp)
            self.rules[self.nlp.vocab.strings.add(key)] = rule
            for (attr, words), pats in groups.items():
                matcher = Matcher(self.nlp.vocab, validate=True)
                matcher.add(key, pats, greedy="LONGEST")
                gid = len(self.matchers)
                self.matchers.append(matcher)
                for w in words:
                    self.index.setdefault((attr, w), []).append(gid)

    def match(self, doc) -> List[Tuple[int, int, int]]:
        """All (key, start, end) matches, longest per rule where they overlap."""
        index = self.index
        candidates = set()
        for tok in doc:
            candidates.update(index.get(("NORM", tok.norm_), ()))
            candidates.update(index.get(("LEMMA", tok.lemma_), ()))
        if not candidates:
            return []
        found = []
        for gid in sorted(candidates):
            found.extend(self.matchers[gid](doc))
        if len(found) < 2:
            return found
        found.sort(key=lambda m: (m[0], m[1] - m[2]))  # per rule, longest first
        taken: Dict[int, List[Tuple[int, int]]] = {}
        for key, start, end in found:
            spans = taken.setdefault(key, [])
            if any(start < e and s < end for s, e in spans):
                continue
            spans.append((start, end))
        kept: List[Tuple[int, int, int]] = []
        for key, spans in taken.items():
            spans.sort()
            if len(spans) > MAX_MATCHES_PER_RULE:  # pathological repetition: keep both ends
                spans = spans[:4] + spans[-2:]
            kept.extend((key, s, e) for s, e in spans)
        return kept


_STATE: Optional[_State] = None
_LOCK = threading.Lock()


def _state() -> _State:
    global _STATE
    if _STATE is None:
        with _LOCK:
            if _STATE is None:
                _STATE = _State()
    return _STATE


def warm_up() -> None:
    """Load the pipeline and compile the patterns now (otherwise done on first use)."""
    _state()


# --------------------------------------------------------------------------------------
# Text preparation
# --------------------------------------------------------------------------------------
_MOJIBAKE_MARKERS = ("\u00e2\u0080", "\u00e2\u20ac", "\u00c3", "\u00f0\u009f", "\u00f0\u0178")
_MOJIBAKE_PIECES = [
    ("\u00e2\u0080\u0099", "'"),
    ("\u00e2\u0080\u0098", "'"),
    ("\u00e2\u0080\u009c", '"'),
    ("\u00e2\u0080\u009d", '"'),
    ("\u00e2\u0080\u00a6", "..."),
    ("\u00e2\u0080\u0093", "-"),
    ("\u00e2\u0080\u0094", "-"),
    ("\u00e2\u20ac\u2122", "'"),
    ("\u00e2\u20ac\u02dc", "'"),
    ("\u00e2\u20ac\u0153", '"'),
    ("\u00e2\u20ac\u009d", '"'),
    ("\u00e2\u20ac\u00a6", "..."),
]


def fix_mojibake(text: str) -> str:
    """Repair UTF-8 text that was decoded as Latin-1/cp1252 ("donâ\x80\x99t" -> "don't")."""
    if not any(m in text for m in _MOJIBAKE_MARKERS):
        return text
    for codec in ("latin-1", "cp1252"):
        try:
            return text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    for bad, good in _MOJIBAKE_PIECES:
        text = text.replace(bad, good)
    return text


def clean_text(text: str) -> str:
    """Normalise a message for matching: NFKC, no control characters, lower case, rewrites.

    Messages longer than ``MAX_CHARS`` keep their first and last ``HALF_CHARS`` characters
    (cut at whitespace), so a signal at either end is still screened.
    """
    if len(text) > MAX_CHARS:
        head = text[:HALF_CHARS]
        tail = text[-HALF_CHARS:]
        head = head[: head.rfind(" ")] if " " in head[-200:] else head
        tail = tail[tail.find(" ") + 1 :] if " " in tail[:200] else tail
        text = head + "\n...\n" + tail
    text = unicodedata.normalize("NFKC", fix_mojibake(text))
    text = _CONTROL_RE.sub(" ", text).lower()
    for regex, repl in _REWRITES:
        text = regex.sub(repl, text)
    return text


def _within(a: str, b: str, limit: int) -> bool:
    """Whether ``a`` is at most ``limit`` edits (insert, delete, substitute, swap) from ``b``."""
    if abs(len(a) - len(b)) > limit:
        return False
    prev2, prev = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if prev2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return False
        prev2, prev = prev, cur
    return prev[-1] <= limit


@functools.lru_cache(maxsize=20000)
def near_risk_word(word: str) -> Optional[str]:
    """The risk lexicon word a misspelled token stands for (see ``P.RISK_LEXICON``)."""
    if len(word) < 5 or not word.isalpha() or word in P.RISK_LEXICON:
        return None
    if word in P.KNOWN_NEAR_MISSES or word in P.NORM_MAP:
        return None
    limit = 2 if len(word) >= 8 else 1
    for target in sorted(P.RISK_LEXICON):
        if _within(word, target, limit):
            return target
    return None


def normal_form(word: str) -> str:
    """The one spelling the patterns read a lower-cased word as: slang and spelling variants
    from ``P.NORM_MAP``, near misses of the risk lexicon, or the word itself."""
    return P.NORM_MAP.get(word) or near_risk_word(word) or word


def _normalise_tokens(doc) -> None:
    """Map misspellings and slang onto one NORM (and LEMMA) per token, in place."""
    lemma_fixes = P.LEMMA_FIXES
    for tok in doc:
        norm = tok.norm_
        new = normal_form(norm)
        if new != norm:
            tok.norm_ = new
            tok.lemma_ = lemma_fixes.get(new, new)
        else:
            fix = lemma_fixes.get(norm)
            if fix is not None:
                tok.lemma_ = fix


class _Context:
    """Per-message token views used by the span checks (computed only when something fired)."""

    def __init__(self, doc) -> None:
        self.doc = doc
        self.norms = [t.norm_ for t in doc]
        n = len(doc)
        self.sent_start = [0] * n
        self.clause_start = [0] * n
        self.sent_end = [n] * n
        sent, clause = 0, 0
        for i, tok in enumerate(doc):
            norm = self.norms[i]
            is_sent_break = (
                norm in P.SENTENCE_PUNCT or "\n" in tok.text or i - sent >= MAX_SENTENCE_TOKENS
            )
            is_clause_break = (
                is_sent_break or norm in P.CLAUSE_PUNCT or (norm in P.CLAUSE_BREAK_WORDS)
            )
            self.sent_start[i] = sent
            self.clause_start[i] = clause
            if is_sent_break:
                sent = clause = i + 1
            elif is_clause_break:
                clause = i + 1
        end = n
        for i in range(n - 1, -1, -1):
            if i + 1 < n and self.sent_start[i + 1] == i + 1:
                end = i + 1
            self.sent_end[i] = end

    def has_phrase_before(self, phrases: Sequence[Tuple[str, ...]], lo: int, hi: int) -> bool:
        """True when one of ``phrases`` (token tuples) occurs within tokens [lo, hi)."""
        norms = self.norms
        for i in range(lo, hi):
            for ph in phrases:
                if norms[i] == ph[0] and tuple(norms[i : i + len(ph)]) == ph and i + len(ph) <= hi:
                    return True
        return False


# --------------------------------------------------------------------------------------
# Span checks
# --------------------------------------------------------------------------------------
def _negated(ctx: _Context, start: int, rule: P.Rule) -> Optional[str]:
    """The negation cue shortly before the span in the same clause, or None."""
    norms = ctx.norms
    lo = max(ctx.clause_start[start], start - P.NEGATION_WINDOW)
    for i in range(start - 1, lo - 1, -1):
        word = norms[i]
        if word in P.NEGATION_CUES or word in rule.neg_extra:
            after = norms[i + 1 : min(i + 4, start)]
            if after and after[0] in P.PSEUDO_NEGATION_NEXT:
                continue
            if word == "never" and any(w in ("so", "this", "more", "felt") for w in after):
                continue  # "never felt so hopeless": an intensifier, not a denial
            return word
        if word in P.SUBJECT_PRONOUNS:
            break  # a new subject starts a new clause: "I don't know why I want to die"
    return None


def _first_word(ctx: _Context, lo: int, hi: int) -> int:
    """Index of the first non-filler token of tokens [lo, hi), or -1."""
    for i in range(lo, hi):
        if ctx.norms[i] not in P.QUESTION_FILLERS and ctx.norms[i].strip():
            return i
    return -1


def _opens_question(ctx: _Context, i: int) -> bool:
    """True when token i opens a question ("can withdrawal cause...", "is it safe...")."""
    if i < 0 or ctx.norms[i] not in P.QUESTION_STARTERS:
        return False
    word = ctx.norms[i]
    nxt = ctx.norms[i + 1] if i + 1 < len(ctx.norms) else ""
    if word in P.DROPPED_SUBJECT_AUX:
        if nxt == "not":
            after = ctx.norms[i + 2] if i + 2 < len(ctx.norms) else ""
            return after in P.QUESTION_AFTER_NOT
        if nxt in P.STATEMENT_NEXT:
            return False
    return True


def _source_owner(norms: List[str], k: int) -> bool:
    """True for "my"/"our" that owns a source of information ("my klonopin leaflet",
    "my doctor"): "my leaflet mentions suicidal thoughts" is not about the writer."""
    return norms[k] in ("my", "our") and any(w in P.INFO_SOURCES for w in norms[k + 1 : k + 4])


def _clause_kind(ctx: _Context, start: int, end: int) -> Tuple[bool, bool, bool]:
    """(question, hypothetical, first-person statement) for the clause of a match."""
    norms = ctx.norms
    cs, ss, se = ctx.clause_start[start], ctx.sent_start[start], ctx.sent_end[start]
    before = norms[cs:start]
    hypothetical = any(w in P.HYPOTHETICAL_CUES for w in norms[ss:start])
    first = _first_word(ctx, cs, end)
    first_word = norms[first] if first >= 0 else ""
    starts_as_question = _opens_question(ctx, first) or (
        _opens_question(ctx, _first_word(ctx, ss, end)) and first_word not in ("i", "my")
    )
    statement = (not starts_as_question) and any(
        w in P.FIRST_PERSON and not _source_owner(norms, k) for k, w in enumerate(before, start=cs)
    )
    sentence = norms[ss:se]
    question = starts_as_question or (
        not statement
        and (any(w in P.QUESTION_CUES for w in sentence) or any("?" in w for w in sentence))
    )
    return question, hypothetical, statement


def _reported_question(ctx: _Context, start: int) -> bool:
    """True after "asked (me) if", "asking whether": a question someone else put."""
    norms = ctx.norms
    for i in range(ctx.sent_start[start], start - 1):
        if norms[i] in ("asked", "ask", "asks", "asking") and (
            norms[i + 1] in ("if", "whether", "about")
            or (norms[i + 1] == "me" and i + 2 < start and norms[i + 2] in ("if", "whether"))
        ):
            return True
    return False


def _disclosure_opener(ctx: _Context, start: int) -> bool:
    """True for questions that disclose ("is it normal to want to die?")."""
    ss = ctx.sent_start[start]
    words = tuple(w for w in ctx.norms[ss : ss + 8] if w not in P.QUESTION_FILLERS)
    return any(words[: len(op)] == op for op in P.DISCLOSURE_OPENERS)


def _person(ctx: _Context, start: int, end: int) -> str:
    """Who a match is about: "self", "third" (someone else) or "generic" ("you")."""
    norms = ctx.norms
    span = norms[start:end]
    if any(w in P.THIRD_PERSON for w in span):
        return "third"
    if any(w in P.FIRST_PERSON for w in span):
        return "self"
    for i in range(start - 1, max(-1, start - 40), -1):
        word = norms[i]
        if word in P.THIRD_PERSON:
            return "third"
        if word in P.FIRST_PERSON:
            return "self"
        if word in P.SECOND_PERSON:
            return "generic"
    return "self"


def _in_sentence(ctx: _Context, start: int, phrases) -> bool:
    ss, se = ctx.sent_start[start], ctx.sent_end[start]
    return ctx.has_phrase_before(phrases, ss, se)


def _is_past(ctx: _Context, start: int) -> bool:
    """A past-time cue in the sentence and no current cue ("lately", "again", "now")."""
    norms = ctx.norms
    ss, se = ctx.sent_start[start], ctx.sent_end[start]
    past = ctx.has_phrase_before(P.PAST_CUES, ss, se)
    if not past:
        for i in range(ss, se - 1):
            if norms[i] == "in" and re.fullmatch(r"(19|20)\d\d", norms[i + 1]):
                past = True
                break
            # Spanish "hace 3 años", "hace dos meses"
            if (
                norms[i] == "hace"
                and i + 2 < se
                and norms[i + 2] in ("años", "anos", "meses", "año", "ano")
            ):
                past = True
                break
            # "in the 80s", "in the '90s", "in the 1990s"
            if (
                norms[i] == "in"
                and i + 2 < se
                and norms[i + 1] == "the"
                and re.fullmatch(r"'?(19|20)?\d0'?s", norms[i + 2])
            ):
                past = True
                break
    if not past:
        return False
    if ctx.has_phrase_before(P.CURRENT_PHRASES, ss, se):
        return False
    cs, ce = ctx.clause_start[start], start
    while ce < se and not (ctx.clause_start[ce] != cs or norms[ce] == "and"):
        ce += 1
    for i in range(ss, se):
        word = norms[i]
        if word in P.CLAUSE_CURRENT_CUES:
            if not cs <= i < ce:
                continue
            if word == "now" and any(w in P.RECOVERY_WORDS for w in norms[max(ss, i - 4) : i + 4]):
                continue
            return False
        if word not in P.CURRENT_CUES:
            continue
        if word == "anymore" and any(
            w in ("not", "never", "no") for w in norms[max(ss, i - 5) : i]
        ):
            continue
        return False
    return True


_THIRD_SUBJECTS = frozenset({"he", "she", "they"}) | frozenset(P.WORDS["RELATION"])


def _two_people(span_norms: List[str]) -> bool:
    """True when a span has the writer and another person as subjects ("i ... my husband")."""
    first = any(w in ("i", "my", "me", "we") for w in span_norms)
    following = span_norms[2:] + [""]
    return (
        first
        and any(
            w in _THIRD_SUBJECTS and nxt != "'s"  # "my brother's wedding" is not a subject
            for w, nxt in zip(span_norms[1:], following, strict=True)
        )
    )


def _number_ok(doc, start: int, end: int, minimum: Optional[float]) -> bool:
    """For rules with ``min_number``: the first number in the span is at least that big."""
    if minimum is None:
        return True
    for tok in doc[start:end]:
        if tok.like_num:
            value = _to_number(tok.norm_)
            return value is not None and value >= minimum
    return True


_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "hundred": 100,
    "dozen": 12,
}


def _to_number(word: str) -> Optional[float]:
    try:
        return float(word.replace(",", ""))
    except ValueError:
        return _NUMBER_WORDS.get(word)


# --------------------------------------------------------------------------------------
# Assessing one message
# --------------------------------------------------------------------------------------
@dataclass
class _Hit:
    rule: P.Rule
    start: int
    end: int
    text: str
    level: Level
    category: str
    person: str
    tags: List[str] = field(default_factory=list)
    informational: bool = False
    past: bool = False

    def evidence(self) -> Dict[str, Any]:
        item = {
            "pattern": self.rule.name,
            "category": self.category,
            "level": self.level.value,
            "text": self.text,
        }
        if self.tags:
            item["tags"] = list(self.tags)
        return item


def _topic_fragment(norms: List[str]) -> bool:
    """A few words naming the medicine and a topic, nobody in them ("klonopin and suicidal
    thoughts", "clonazepam suicidal ideation"): typed into a search box, not a disclosure."""
    return (
        len(norms) <= 6
        and any(w in P.WORDS["BENZO"] for w in norms)
        and not P.FIRST_PERSON.intersection(norms)
        and not (P.CURRENT_CUES | P.CLAUSE_CURRENT_CUES).intersection(norms)
    )


def _evaluate(ctx: _Context, rule: P.Rule, start: int, end: int) -> _Hit:
    """Turn one surviving match into a hit: level and category in their span context."""
    doc, norms = ctx.doc, ctx.norms
    hit = _Hit(
        rule,
        start,
        end,
        doc[start:end].text,
        Level(rule.level),
        rule.category,
        _person(ctx, start, end),
    )
    question, hypothetical, statement = _clause_kind(ctx, start, end)
    if rule.info == "topic":
        hit.informational = (question and not statement) or hypothetical
    elif rule.info == "impersonal":
        cs = ctx.clause_start[start]
        personal = any(
            w in ("i", "my", "myself", "we", "our") and not _source_owner(norms, k)
            for k, w in enumerate(norms[cs:end], start=cs)
        )
        hit.informational = (
            (question and not personal and not _disclosure_opener(ctx, start))
            or _reported_question(ctx, start)
            or _topic_fragment(norms)
        )
    elif rule.info == "hypothetical":
        hit.informational = hypothetical
    if rule.past and _is_past(ctx, start):
        hit.past = True
        hit.level = min(hit.level, Level.CONCERN, key=lambda lv: lv.rank)
        if rule.past == "ideation" and hit.category in (
            "suicidal_ideation",
            "self_harm",
            "overdose",
            "preparation",
        ):
            hit.category = "past_ideation"
    elif rule.recent and _in_sentence(ctx, start, P.RECENT_CUES):
        hit.level = Level.EMERGENCY
    if hit.informational and hit.level > Level.NONE:
        hit.tags.append(hit.category)
        hit.category = "informational"
        hit.level = min(hit.level, Level.CONCERN, key=lambda lv: lv.rank)
    if hit.person == "third":
        hit.tags.append("third_party")
        hedged = any(w in P.HEDGE_CUES for w in norms[ctx.sent_start[start] : end])
        if hit.level == Level.CRISIS and hedged:
            hit.level = Level.CONCERN
        # Someone else, back then, and well now ("my friend had a seizure 10 yrs ago,
        # shes fine now"): a story, not a situation.
        if hit.past or _recovered(ctx, start):
            hit.level = min(hit.level, Level.CONCERN, key=lambda lv: lv.rank)
    if _near_words(ctx, start, end, P.MEDIA_CUES, 4) and (
        hit.person != "self" or not _in_sentence_words(ctx, start, P.FIRST_PERSON)
    ):
        hit.tags.append("fiction_or_media")
        hit.level = Level.NONE
    if rule.name == "at_the_edge" and _in_sentence_words(ctx, start, P.ORDINARY_PLACE_CUES):
        hit.tags.append("ordinary_place")
        hit.level = Level.NONE
    if hit.category == "preparation" and _in_sentence_words(ctx, start, P.ORDINARY_MEANS_CUES):
        hit.tags.append("ordinary_use")
        hit.level = Level.NONE
    if hit.category in _BODY_CATEGORIES and (
        _animal_subject(ctx, start)
        or (
            hit.person == "third"
            and any(w in P.VET_WORDS for w in ctx.norms)
            and not any(w in P.WORDS["RELATION"] for w in ctx.norms)
        )
    ):
        hit.tags.append("animal")
        hit.level = Level.NONE
    # Anywhere in the message: "...mixed with other stuff? pharmacy tech here, studying".
    if hit.category in _STUDY_CATEGORIES and ctx.has_phrase_before(P.STUDY_CUES, 0, len(norms)):
        hit.tags.append(hit.category)
        hit.category = "informational"
        hit.informational = True
        hit.level = min(hit.level, Level.CONCERN, key=lambda lv: lv.rank)
    return hit


_BODY_CATEGORIES = frozenset({"severe_withdrawal", "overdose", "dangerous_mixing"})
# Categories a study or work framing can make informational: asking about methods or
# mixing. Never "overdose": "i'm a nurse and i took all my pills" stays an emergency.
_STUDY_CATEGORIES = frozenset({"method_seeking", "dangerous_mixing"})


def _near_words(ctx: _Context, start: int, end: int, words: frozenset, window: int) -> bool:
    """One of ``words`` within ``window`` tokens before or after the match, in its sentence
    (close enough to be what the match is about: "my dnd character just overdosed")."""
    ss, se = ctx.sent_start[start], ctx.sent_end[start]
    return any(w in words for w in ctx.norms[max(ss, start - window) : min(se, end + window)])


def _in_sentence_words(ctx: _Context, start: int, words: frozenset) -> bool:
    ss, se = ctx.sent_start[start], ctx.sent_end[start]
    return any(w in words for w in ctx.norms[ss:se])


def _animal_subject(ctx: _Context, start: int) -> bool:
    """An animal named in the few words before the match, in its sentence."""
    ss = ctx.sent_start[start]
    return any(w in P.ANIMAL_WORDS for w in ctx.norms[max(ss, start - 6) : start + 1])


def _recovered(ctx: _Context, start: int) -> bool:
    """The message says the person is well now ("shes fine now", "doing great")."""
    norms = ctx.norms
    for i, word in enumerate(norms):
        if word == "now" and any(w in P.RECOVERY_WORDS for w in norms[max(0, i - 4) : i]):
            return True
    return False


def _apply_boosts(hits: List[_Hit]) -> None:
    """Raise hits whose ``boost`` categories are also present (current, not informational)."""
    active = [h for h in hits if h.level >= Level.CONCERN and not h.informational and not h.past]
    for hit in hits:
        if not hit.rule.boost or hit.informational or hit.past:
            continue
        for other in active:
            if other is hit or other.category not in hit.rule.boost:
                continue
            if other.start < hit.end and hit.start < other.end:
                continue  # the means/timeframe is part of the same statement
            if hit.rule.boost_active_only and other.rule.passive:
                continue  # "hope I don't wake up tomorrow": a wish, not a timed plan
            hit.level = max_level(hit.level, hit.rule.boost_level)
            break


_METHOD_TOPICS = {"overdose", "method_seeking", "dangerous_mixing", "preparation"}
_DISTRESS = {"suicidal_ideation", "self_harm", "hopelessness"}


def _questions_after_distress(hits: List[_Hit]) -> None:
    """An "informational" question about overdose or lethality asked in the same message as
    current ideation, self-harm or hopelessness is method-seeking (CLINICAL.md: method-seeking
    after distress): crisis, or emergency when ideation or self-harm is present."""
    distress = [
        h
        for h in hits
        # Context-only hits (a bare "saturday" timeframe, level none) are not distress:
        # "is it ok to have wine on clonazepam? its my anniversary saturday" is a question.
        if h.category in _DISTRESS
        and h.level > Level.NONE
        and not h.informational
        and not h.past
        and h.person != "third"
    ]
    if not distress:
        return
    ideation = any(h.category != "hopelessness" and h.level >= Level.CRISIS for h in distress)
    for h in hits:
        if h.informational and _METHOD_TOPICS & set(h.tags):
            h.informational = False
            h.tags = [t for t in h.tags if t not in _METHOD_TOPICS]
            h.category = "method_seeking"
            h.level = Level.EMERGENCY if ideation else Level.CRISIS


def _drop_nested(hits: List[_Hit]) -> List[_Hit]:
    """Drop a hit inside another hit of the same category with at least its level."""
    kept = []
    for h in hits:
        inside = any(
            o is not h
            and o.category == h.category
            and o.start <= h.start
            and h.end <= o.end
            and o.level >= h.level
            and (o.end - o.start > h.end - h.start or o.level > h.level)
            for o in hits
        )
        if not inside:
            kept.append(h)
    return kept


def assess(text: str) -> Assessment:
    """Screen one message and return its :class:`Assessment` (level, categories, evidence).

    Raises TypeError when ``text`` is not a str. Empty or blank text is level ``none``.
    """
    if not isinstance(text, str):
        raise TypeError(f"assess() expects the message as a str, got {type(text).__name__}")
    state = _state()
    cleaned = clean_text(text)
    if not cleaned.strip():
        return Assessment(text=text)
    doc = state.nlp(cleaned)
    _normalise_tokens(doc)
    matches = state.match(doc)
    if not matches:
        return Assessment(text=text)
    ctx = _Context(doc)
    rules = state.rules
    idioms = [(s, e) for key, s, e in matches if rules[key].category == "idiom"]
    hits: List[_Hit] = []
    # Idioms are recorded too: the screen's idiom guard reads them (bot/safety/screen.py).
    suppressed: List[Dict[str, Any]] = [
        {"pattern": rules[key].name, "text": doc[s:e].text, "reason": "idiom"}
        for key, s, e in matches
        if rules[key].category == "idiom"
    ]
    negated_spans: List[Tuple[int, int]] = []
    for key, start, end in sorted(matches, key=lambda m: (m[1], -m[2])):
        rule = rules[key]
        if rule.category == "idiom":
            continue
        span = doc[start:end].text
        if any(start < ie and i_s < end for i_s, ie in idioms):
            suppressed.append({"pattern": rule.name, "text": span, "reason": "idiom"})
            continue
        cue = _negated(ctx, start, rule) if rule.negatable else None
        if cue is None and any(ns <= start and end <= ne for ns, ne in negated_spans):
            cue = "inside a negated phrase"
        if cue:
            suppressed.append({"pattern": rule.name, "text": span, "reason": f"negated: {cue}"})
            negated_spans.append((start, end))
            continue
        if not _number_ok(doc, start, end, rule.min_number):
            continue
        if rule.not_followed_by and end < len(doc) and ctx.norms[end] in rule.not_followed_by:
            continue
        if rule.one_person and _two_people(ctx.norms[start:end]):
            continue
        hits.append(_evaluate(ctx, rule, start, end))
    _questions_after_distress(hits)
    _apply_boosts(hits)
    context = [h.evidence() for h in hits if h.level == Level.NONE]
    weak = len({h.rule.name for h in hits if h.rule.weak and not h.informational and not h.past})
    hits = _drop_nested([h for h in hits if h.level > Level.NONE])
    hits.sort(key=lambda h: (-h.level.rank, h.start))
    categories: List[str] = []
    for h in hits:
        for cat in [h.category] + h.tags:
            if cat not in categories:
                categories.append(cat)
    about_self = not hits or any(h.person != "third" and not h.informational for h in hits)
    return Assessment(
        text=text,
        level=max_level(*(h.level for h in hits)),
        categories=categories,
        evidence=[h.evidence() for h in hits],
        about_self=about_self,
        suppressed=suppressed,
        context=context,
        weak_signals=weak,
    )
