"""The rule book: rubrics/vocabulary.yaml compiled, and how one passage is scored.

A passage earns points for an indicator from three kinds of hits:
strong patterns (enough on their own), indicator terms (related, need company)
and weak words (only add to other hits).  Hits inside a negative context are
ignored, and when the indicator names context words, a passage (or the title)
without any of them counts terms and weak words not at all and strong patterns
only as terms — so "要加强组织领导" in a speech, or "成立工作专班，由…任组长" in a
housing-fund notice, is not evidence for 7 组织领导机构.
"""
from __future__ import annotations

import bisect
import functools
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tagging.prefilter import may_match, required_literals

VOCABULARY_PATH = Path(__file__).resolve().parents[1] / "rubrics" / "vocabulary.yaml"

# Weights are probabilities of "this hit alone makes the passage evidence";
# hits combine as a noisy-or.  One strong hit passes the threshold (0.5),
# one term does not, two different terms just do.
WEIGHTS = {"strong": 0.6, "terms": 0.3, "weak": 0.12}
# A passage without the indicator's context words stays below the threshold.
NO_CONTEXT_CAP = 0.45
# What a document only plans or calls for is weaker evidence than what was done.
PLANNED_FACTOR = 0.5
KIND_LABELS = {"strong": "强证据", "terms": "指标专用词", "weak": "辅助词"}


class VocabularyError(ValueError):
    """vocabulary.yaml is malformed; the message names the indicator and the pattern."""


_SHORT_WORD = re.compile(r"[\u4e00-\u9fff]{1,2}")


@dataclass(frozen=True)
class Rule:
    kind: str          # strong | terms | weak
    source: str        # the pattern as written in the YAML, shown in reasons
    regex: re.Pattern
    literals: tuple[str, ...] | None = None  # one of these must occur for a match (prefilter)
    concept: str = ""  # rules of one concept count once per passage (default: the pattern itself)

    @property
    def key(self) -> str:
        return self.concept or self.source

    @property
    def needs_word_boundary(self) -> bool:
        """A one- or two-character word must be a word of the sentence, not part
        of another: 建会 is not in 新建会议中心, 入会 is not in 出入会场."""
        return bool(_SHORT_WORD.fullmatch(self.source))


@dataclass
class IndicatorRules:
    no: int
    name: str
    rules: list[Rule]
    context: re.Pattern | None
    negatives: list[re.Pattern]
    synonyms: dict[str, str] = field(default_factory=dict)
    # words one of which must occur somewhere in the document (not just the passage)
    document_context: re.Pattern | None = None


@dataclass(frozen=True)
class Hit:
    rule: Rule
    start: int   # offsets in the joined matching copy
    end: int
    text: str
    planned: bool = False  # the sentence speaks of the future ("下一步…将…"), not of work done


@dataclass
class RuleBook:
    indicators: dict[int, IndicatorRules]
    domain: re.Pattern | None
    domain_weak: re.Pattern | None
    digest: str
    plans: re.Pattern | None = None

    @property
    def version(self) -> str:
        return f"rules-{self.digest}"


def _compile(pattern: str, where: str) -> re.Pattern:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise VocabularyError(f"{where}：正则表达式“{pattern}”有误（{exc}）") from exc


def _union(patterns: list[str], where: str) -> re.Pattern | None:
    patterns = [str(p) for p in patterns or [] if str(p).strip()]
    if not patterns:
        return None
    return _compile("|".join(f"(?:{p})" for p in patterns), where)


# A rule ties a subject to an event ("农民工…培训", "获得…专利"): both must be in
# one sentence.  "." in a pattern therefore never crosses a sentence end, or
# "职工获得表彰。专利申请另有奖励" would read as a patent granted.
_WITHIN_SENTENCE = "[^。！？!?\\n]"


def within_sentence(pattern: str) -> str:
    """`pattern` with every bare "." (outside a character class, unescaped)
    replaced by "any character but a sentence end"."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":                      # an escape: copy it whole
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            # "[]…]" and "[^]…]": a "]" right after the opening is a literal
            lead = 2 if pattern.startswith("^]", i + 1) else 1 if pattern.startswith("]", i + 1) else 0
            out.append(pattern[i:i + 1 + lead])
            i += 1 + lead
            continue
        elif c == ".":
            out.append(_WITHIN_SENTENCE)
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _rule(kind: str, pattern: str, where: str, source: str | None = None, concept: str = "") -> Rule:
    literals = required_literals(pattern)
    return Rule(kind, source or pattern, _compile(within_sentence(pattern), where),
                tuple(literals) if literals else None, concept)


def load_rulebook(path: Path | str | None = None) -> RuleBook:
    path = Path(path) if path else VOCABULARY_PATH
    raw = path.read_bytes()
    data = yaml.safe_load(raw.decode("utf-8")) or {}
    indicators: dict[int, IndicatorRules] = {}
    for key, spec in (data.get("indicators") or {}).items():
        try:
            no = int(key)
        except (TypeError, ValueError) as exc:
            raise VocabularyError(f"指标编号“{key}”不是整数") from exc
        spec = spec or {}
        where = f"指标 {no}"
        rules = []
        # Terms that all name one thing (竞赛、大赛、比武) are one mention however many appear.
        one_concept = f"{no}:terms" if spec.get("terms_one_concept") else ""
        for kind in ("strong", "terms", "weak"):
            for pattern in spec.get(kind) or []:
                rules.append(_rule(kind, str(pattern), where, concept=one_concept if kind == "terms" else ""))
        for short, full in (spec.get("synonyms") or {}).items():
            # An abbreviation counts as its full form does: as an indicator term, and
            # as the same one ("职工代表大会（以下简称职代会）" is one mention, not two).
            rules.append(_rule("terms", re.escape(str(short)), where, source=str(full), concept=one_concept))
        indicators[no] = IndicatorRules(
            no=no,
            name=str(spec.get("name") or ""),
            rules=rules,
            context=_union(spec.get("context"), where),
            negatives=[_compile(str(p), where) for p in spec.get("negative") or []],
            synonyms={str(k): str(v) for k, v in (spec.get("synonyms") or {}).items()},
            document_context=_union(spec.get("document_context"), where),
        )
    digest = hashlib.sha256(raw).hexdigest()[:10]
    return RuleBook(indicators=indicators, domain=_union(data.get("domain"), "domain"),
                    domain_weak=_union(data.get("domain_weak"), "domain_weak"), digest=digest,
                    plans=_union(data.get("plans"), "plans"))


@functools.lru_cache(maxsize=4)
def _cached_rulebook(path: str, mtime: float) -> RuleBook:
    return load_rulebook(path)


def default_rulebook() -> RuleBook:
    """The shipped rule book, reloaded when the YAML file changes."""
    return _cached_rulebook(str(VOCABULARY_PATH), VOCABULARY_PATH.stat().st_mtime)


# ------------------------------------------------------------------ scanning

@dataclass
class ScanResult:
    """Every indicator's hits, bucketed by passage index."""
    hits: dict[int, dict[int, list[Hit]]]        # indicator → passage → hits
    context_ok: dict[int, set[int]]              # indicator → passages with a context word
    domain_level: int   # 2: 产改 vocabulary present; 1: only weaker context words; 0: none


# Work caps for huge documents: past this many matches of one rule the
# document score cannot change (support from further passages decays to nothing).
MAX_HITS_PER_RULE = 60
_SENTENCE_START = re.compile(r"[^。；！？!?;\n]*$")


def scan(book: RuleBook, joined: str, bounds: list[int]) -> ScanResult:
    """Scan the joined matching copies once per rule.

    `bounds[i]` is where passage i starts in `joined`; passages are separated
    by newlines, which "." never crosses, so no hit spans two passages.
    """
    ends = [b - 1 for b in bounds[1:]] + [len(joined)]

    def passage_of(offset: int) -> int:
        return bisect.bisect_right(bounds, offset) - 1

    def planned(offset: int) -> bool:
        if book.plans is None:
            return False
        # the sentence so far: from the last sentence end (or line) before the hit
        sentence = _SENTENCE_START.search(joined, max(0, offset - 120), offset)
        return bool(sentence and book.plans.search(sentence.group(0)))

    word_edges: dict[int, tuple[set[int], set[int]]] = {}

    def on_word_boundaries(start: int, end: int) -> bool:
        idx = passage_of(start)
        if idx not in word_edges:  # segment lazily, one passage at a time
            from zhtext.chinese import default_segmenter
            base = bounds[idx]
            tokens = default_segmenter().tokenize(joined[base:ends[idx]])
            word_edges[idx] = ({base + s for _, s, _ in tokens}, {base + e for _, _, e in tokens})
        starts_, ends_ = word_edges[idx]
        return start in starts_ and end in ends_

    hits: dict[int, dict[int, list[Hit]]] = {}
    context_ok: dict[int, set[int]] = {}
    for no, ind in book.indicators.items():
        cancelled: list[tuple[int, int]] = []
        for neg in ind.negatives:
            cancelled.extend((m.start(), m.end()) for m in neg.finditer(joined) if m.end() > m.start())
        cancelled.sort()
        starts = [s for s, _ in cancelled]

        def is_cancelled(s: int, e: int) -> bool:
            i = bisect.bisect_right(starts, s) - 1
            # negatives are short, so checking a few neighbours is enough
            for j in range(max(0, i - 3), min(len(cancelled), i + 4)):
                cs, ce = cancelled[j]
                if cs < e and s < ce:
                    return True
            return False

        per_passage: dict[int, list[Hit]] = {}
        if ind.document_context is not None and not ind.document_context.search(joined):
            continue  # e.g. a central-media report counts for 88 only when it is about 产改
        for rule in ind.rules:
            if not may_match(rule.literals, joined):
                continue
            kept = 0
            for m in rule.regex.finditer(joined):
                if m.end() <= m.start() or (cancelled and is_cancelled(m.start(), m.end())):
                    continue
                if rule.needs_word_boundary and not on_word_boundaries(m.start(), m.end()):
                    continue
                if m.end() > ends[passage_of(m.start())]:
                    continue  # a negated class ([^》]) crossed the joiner: not one passage's text
                per_passage.setdefault(passage_of(m.start()), []).append(
                    Hit(rule, m.start(), m.end(), m.group(0), planned(m.start())))
                kept += 1
                if kept >= MAX_HITS_PER_RULE:
                    break
        if per_passage:
            hits[no] = per_passage
            if ind.context is not None:
                # only passages with hits, and the first (a title), need the check
                context_ok[no] = {i for i in set(per_passage) | {0}
                                  if ind.context.search(joined, bounds[i], ends[i])}
    if book.domain is None or book.domain.search(joined):
        level = 2
    elif book.domain_weak is not None and book.domain_weak.search(joined):
        level = 1
    else:
        level = 0
    return ScanResult(hits=hits, context_ok=context_ok, domain_level=level)


def passage_score(hits: list[Hit], context_present: bool) -> tuple[float, list[Hit]]:
    """Noisy-or of the counted hits; returns the score and the hits that counted.

    Without a context word (for indicators that name some), terms and weak words
    do not count and a strong pattern counts only as much as a term: "开展督查"
    in a passage with nothing about 产改 is not yet evidence of 督促检查.
    """
    counted: list[Hit] = []
    weights: list[float] = []
    seen_rules: set[str] = set()

    def inside_counted(h: Hit) -> bool:
        # a hit inside a counted match (协调小组 inside 产改协调小组, a strong pattern
        # inside a longer strong one) is the same evidence, not extra support
        return any(c.start <= h.start and h.end <= c.end for c in counted)

    order = ("strong", "terms", "weak")
    for h in sorted(hits, key=lambda h: (order.index(h.rule.kind), h.start - h.end)):
        if inside_counted(h) or (h.rule.kind != "strong" and not context_present):
            continue
        if h.rule.key in seen_rules:
            continue  # the same pattern (or concept) twice in one passage is one piece of evidence
        seen_rules.add(h.rule.key)
        counted.append(h)
        kind = h.rule.kind if context_present else "terms"
        weights.append(WEIGHTS[kind] * (PLANNED_FACTOR if h.planned else 1.0))
    if not any(h.rule.kind in ("strong", "terms") for h in counted):
        return 0.0, []
    miss = 1.0
    for w in weights:
        miss *= 1.0 - w
    score = 1.0 - miss
    if not context_present:
        # however many demoted hits, a passage off the indicator's subject is
        # at most "related"; only support from other passages can lift it
        score = min(score, NO_CONTEXT_CAP)
    return score, counted
