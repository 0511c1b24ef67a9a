"""From passages to document-level indicator suggestions.

Passage first: every passage is scored per indicator by the rules.  Document
second: the best passage carries the score, further passages add diminishing
support, a document with no 产改 vocabulary at all is marked down, and hits in
the title count a little more because titles say what a document is about.
Then, when a learned model is present (tagging/learned.py), it weighs every
indicator for the document: it adds one the rules missed that it finds very
likely and orders the candidates the rules did not reach.  Last, the caps: a document with only weak 产改 context, an
indicator catalogue, or commentary (tagging/cues.py) gets few suggestions.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tagging.cues import Cues, cues
from tagging.normalize import MatchingCopy, matching_copy
from tagging.prepare import (TITLE_MAX_CHARS, Passage, as_passage, drop_rubric_passages, drop_site_chrome,
                             title_apart)
from tagging.results import PassageHit, Suggestion, TagResult
from tagging.rules import KIND_LABELS, Hit, RuleBook, ScanResult, default_rulebook, passage_score, scan

THRESHOLD = 0.5
MAX_CANDIDATES = 8
MAX_PASSAGES_PER_SUGGESTION = 3
# Support from the 2nd, 3rd… passages: each counts half as much as the one before.
SUPPORT_DECAY = 0.5
TITLE_BOOST = 1.25
# Documents without 产改 vocabulary are marked down (level 0: none; level 1:
# only weaker context words such as 技能培训 or 车间), and a weak-context
# document gets at most one suggestion: such texts are rarely evidence.
DOMAIN_FACTOR = {0: 0.4, 1: 0.85, 2: 1.0}
WEAK_DOMAIN_MAX_SUGGESTIONS = 1
# Cap the work on huge documents: beyond this many characters the rest is not read.
MAX_CHARS = 4_000_000
MIN_CANDIDATE_SCORE = 0.05
# An indicator catalogue (see prepare.drop_rubric_passages) is evidence of little.
CATALOGUE_MAX_SUGGESTIONS = 3
# Commentary (tagging.cues: no date, no number, mostly calls) evidences little.
COMMENTARY_MAX_SUGGESTIONS = 1
# A candidate the rules did not reach is shown only with some probability.
MIN_MODEL_CANDIDATE = 0.02


def _explained(model, reading: Reading, idx: int, no: int) -> list[str]:
    """The model's strongest words in passage `idx`, quoted from the original text
    (the model reads the folded copy; the reviewer reads the document)."""
    copy, original = reading.copies[idx], reading.items[idx].text
    out = []
    for word in model.text.explain(copy.text, no):
        at = copy.text.find(word)
        if at >= 0:
            s, e = copy.span_to_original(at, at + len(word))
            if original[s:e] and original[s:e] not in out:
                out.append(original[s:e])
    return out


def _percent(p: float) -> str:
    # a model is never certain: 99.7% reads as 99%, not 100%
    return f"{min(int(p * 100), 99)}%" if p >= 0.01 else "不到1%"


def _by_score(s: Suggestion):
    # Equal scores are common (one strong hit = 0.6): more supporting passages rank first.
    return (-s.score, -s.support, s.no)


def document_score(passage_scores: list[float]) -> float:
    """Best passage in full, each further one (best first) at half the weight
    of the one before, combined as a noisy-or.  A term scattered once in many
    passages (0.3 each) thus stays below 0.5 however long the document."""
    miss, factor = 1.0, 1.0
    for score in sorted(passage_scores, reverse=True):
        miss *= 1.0 - score * factor
        factor *= SUPPORT_DECAY
    return 1.0 - miss


@dataclass
class Reading:
    """One document as the tagger reads it."""
    items: list[Passage]
    copies: list[MatchingCopy]
    bounds: list[int]     # where each copy starts in the joined text the rules scanned
    scanned: ScanResult
    title_idx: int | None
    is_catalogue: bool
    cues: Cues

    @property
    def texts(self) -> list[str]:
        """The passages' matching copies (folded, noise removed): what the models read."""
        return [c.text for c in self.copies]


@dataclass
class RuleFinding:
    """The rules' view of one indicator in one document."""
    suggestion: Suggestion
    best: int             # index of the best passage
    best_score: float
    strong: bool          # a strong pattern counted
    title: bool           # a hit in the title
    planned: float        # share of the best passage's counted hits that are plans or calls
    support: int          # passages with hits


class Tagger:
    def __init__(self, rulebook: RuleBook | None = None, model=None, indicator_nos: set[int] | None = None):
        self.rulebook = rulebook or default_rulebook()
        self.model = model  # a learned.LearnedModel or None (rules alone)
        # The indicators of the evaluation year; a retired one is never suggested.
        self.indicator_nos = indicator_nos

    @property
    def version(self) -> str:
        from tagging.learned import MODEL_FORMAT
        model = self.model.version if self.model is not None else f"{MODEL_FORMAT}-none"
        return f"{self.rulebook.version}+{model}"

    # ---------------------------------------------------------------- API
    def tag_text(self, text: str, *, pages: list | None = None) -> TagResult:
        from tagging.splitting import split_text
        text = text or ""
        if not text.strip():
            return TagResult([], [], self.version)
        return self.tag_passages(split_text(text[:MAX_CHARS], pages))

    def tag_passages(self, passages: list) -> TagResult:
        reading = self.read(passages)
        if reading is None:
            return TagResult([], [], self.version)
        findings = self.rule_findings(reading)
        if self.model is not None:
            chosen, rest = self._with_model(reading, findings)
        else:
            ranked = sorted((f.suggestion for f in findings.values()), key=_by_score)
            chosen = [s for s in ranked if s.score >= THRESHOLD]
            rest = [s for s in ranked if s.score < THRESHOLD and s.score >= MIN_CANDIDATE_SCORE]
        limit = len(chosen)
        if reading.scanned.domain_level < 2:
            limit = min(limit, WEAK_DOMAIN_MAX_SUGGESTIONS)
        if reading.is_catalogue:
            limit = min(limit, CATALOGUE_MAX_SUGGESTIONS)
        if reading.cues.is_commentary:
            limit = min(limit, COMMENTARY_MAX_SUGGESTIONS)
        rest = chosen[limit:] + rest
        return TagResult(chosen[:limit], rest[:MAX_CANDIDATES], self.version)

    def read(self, passages: list) -> Reading | None:
        """Passages cleaned of site chrome, the title apart, rubric text out, and
        scanned by the rules; None when nothing is left to read."""
        items = [as_passage(p) for p in passages or [] if str(getattr(p, "text", "")).strip()]
        items = drop_site_chrome(items) if items else []
        if not items:
            return None
        items = title_apart(items)
        names = [ind.name for ind in self.rulebook.indicators.values()]
        items, is_catalogue = drop_rubric_passages(items, names)
        if not items:
            return None
        copies, bounds, pos, budget = [], [], 0, MAX_CHARS
        for item in items:
            copy = matching_copy(item.text)
            copies.append(copy)
            bounds.append(pos)
            pos += len(copy.text) + 1
            budget -= len(copy.text)
            if budget <= 0:
                break
        items = items[:len(copies)]
        joined = "\n".join(c.text for c in copies)
        scanned = scan(self.rulebook, joined, bounds)
        title_idx = 0 if len(items[0].text.strip()) <= TITLE_MAX_CHARS else None
        return Reading(items, copies, bounds[:len(copies)], scanned, title_idx, is_catalogue, cues(joined))

    def rule_findings(self, reading: Reading) -> dict[int, RuleFinding]:
        """Every indicator the rules see in the document, with its score and reason."""
        out = {}
        for no in sorted(reading.scanned.hits):
            if self.indicator_nos is not None and no not in self.indicator_nos:
                continue
            found = self._score_indicator(no, reading)
            if found is not None:
                out[no] = found
        return out

    def indicator_passage_scores(self, texts: list[str], no: int,
                                 copies: list | None = None) -> list[tuple[float, list[str]]]:
        """(score, matched terms) of each text as one passage, for indicator `no`
        alone, by the rules: what the evidence ranking of a unit's passages needs
        (``copies``: the texts' matching copies, when the caller keeps them)."""
        ind = self.rulebook.indicators.get(no)
        out: list[tuple[float, list[str]]] = [(0.0, []) for _ in texts]
        if not texts or ind is None:
            return out
        copies = copies if copies is not None else [matching_copy(t or "") for t in texts]
        bounds, pos = [], 0
        for c in copies:
            bounds.append(pos)
            pos += len(c.text) + 1
        joined = "\n".join(c.text for c in copies)
        book = RuleBook({no: ind}, None, None, self.rulebook.digest, self.rulebook.plans)
        scanned = scan(book, joined, bounds)
        context = scanned.context_ok.get(no)
        for idx, hits in scanned.hits.get(no, {}).items():
            has_context = ind.context is None or idx in (context or set())
            score, counted = passage_score(hits, has_context)
            quoted = self._quotes(texts[idx], copies[idx], bounds[idx], counted)
            out[idx] = (score, list(dict.fromkeys(q for _, q in quoted)))
        return out

    # ---------------------------------------------------------- internals
    @staticmethod
    def _quotes(original: str, copy: MatchingCopy, base: int, counted: list[Hit]) -> list[tuple[Hit, str]]:
        """Each hit with its quote from the original text, so the quote is found in the passage."""
        out = []
        for h in sorted(counted, key=lambda h: h.start):
            s, e = copy.span_to_original(h.start - base, h.end - base)
            if original[s:e]:
                out.append((h, original[s:e]))
        return out

    def _score_indicator(self, no: int, reading: Reading) -> RuleFinding | None:
        ind = self.rulebook.indicators.get(no)
        scanned, title_idx = reading.scanned, reading.title_idx
        per_passage = scanned.hits.get(no, {})
        context = scanned.context_ok.get(no)
        title_context = title_idx is not None and context is not None and title_idx in context

        scored: list[tuple[float, int, list[Hit]]] = []
        for idx, hits in per_passage.items():
            has_context = ind is None or ind.context is None or idx in (context or set()) or title_context
            score, counted = passage_score(hits, has_context)
            if idx == title_idx and score:
                score = min(0.95, score * TITLE_BOOST)
            if score > 0:
                scored.append((score, idx, counted))
        if not scored:
            return None
        scored.sort(key=lambda t: (-t[0], t[1]))
        doc_score = document_score([t[0] for t in scored]) * DOMAIN_FACTOR[scanned.domain_level]
        doc_score = round(min(doc_score, 0.99), 4)

        hits_out: list[PassageHit] = []
        all_terms: list[str] = []
        quotes: dict[str, list[str]] = {"strong": [], "terms": [], "weak": []}
        for score, idx, counted in scored[:MAX_PASSAGES_PER_SUGGESTION]:
            item = reading.items[idx]
            quoted = self._quotes(item.text, reading.copies[idx], reading.bounds[idx], counted)
            terms = list(dict.fromkeys(q for _, q in quoted))
            for h, quote in quoted:
                if quote not in quotes[h.rule.kind]:
                    quotes[h.rule.kind].append(quote)
            hits_out.append(PassageHit(item.page, item.start, item.end, item.text, round(score, 4), terms))
            all_terms.extend(t for t in terms if t not in all_terms)
        reason = self._reason(quotes, scored, hits_out, scanned.domain_level)
        best_score, best, counted = scored[0][0], scored[0][1], scored[0][2]
        return RuleFinding(
            Suggestion(no, doc_score, reason, all_terms, hits_out, support=len(scored)),
            best=best, best_score=best_score, strong=bool(quotes["strong"]),
            title=any(idx == title_idx for _, idx, _ in scored[:MAX_PASSAGES_PER_SUGGESTION]),
            planned=sum(h.planned for h in counted) / len(counted) if counted else 0.0,
            support=len(scored))

    def _reason(self, quotes, scored, hits_out, domain_level) -> str:
        parts = []
        for kind in ("strong", "terms", "weak"):
            if quotes[kind]:
                shown = [q if len(q) <= 40 else q[:38] + "…" for q in quotes[kind][:5]]
                parts.append(KIND_LABELS[kind] + "、".join(f"“{q}”" for q in shown))
        best = hits_out[0]
        text = "；".join(parts) + f"。最相关段落在第{best.page}页"
        if len(scored) > 1:
            text += f"，另有{len(scored) - 1}段相关"
        text += "。"
        if domain_level == 0:
            text += "全文未出现产改相关用语，已大幅降分。"
        elif domain_level == 1:
            text += "全文缺少产业工人、工会、职工等核心用语，已降分。"
        return text

    def evidence_rows(self, reading: Reading, findings: dict[int, RuleFinding], model=None):
        """(indicators, feature rows, text-model scores) for the learned combiner."""
        from tagging.features import evidence_features
        model = model or self.model
        nos = [n for n in model.text.nos if self.indicator_nos is None or n in self.indicator_nos]
        cols = [model.text.nos.index(n) for n in nos]
        text_scores = model.text.scores(reading.texts)[:, cols]
        rows = evidence_features(reading, findings, nos, text_scores, model.prior, THRESHOLD)
        return nos, rows, text_scores

    def _with_model(self, reading: Reading, findings: dict[int, RuleFinding]):
        """The learned model's part: an indicator the rules missed joins when the
        model finds it very likely; every rule suggestion notes the model's
        probability; the rules' candidates keep their order (it ranks better than
        the model's under cross-validation), the model's own follow."""
        model = self.model
        nos, rows, text_scores = self.evidence_rows(reading, findings)
        probs = model.probabilities(rows)
        column = {no: j for j, no in enumerate(nos)}
        rule_ranked = sorted((f.suggestion for f in findings.values()), key=_by_score)
        for s in rule_ranked:
            j = column.get(s.no)
            if j is not None:
                s.reason += self._model_note(model, reading, text_scores[:, j], s.no, float(probs[j]),
                                             findings[s.no].best)
        added, model_rest = [], []
        for j, no in enumerate(nos):
            if no not in findings and probs[j] >= MIN_MODEL_CANDIDATE:
                s = self._model_suggestion(model, reading, text_scores[:, j], no, float(probs[j]))
                (added if s.score >= model.add_at else model_rest).append(s)
        chosen = [s for s in rule_ranked if s.score >= THRESHOLD] + sorted(added, key=_by_score)
        rest = [s for s in rule_ranked if MIN_CANDIDATE_SCORE <= s.score < THRESHOLD] + sorted(model_rest, key=_by_score)
        return chosen, rest

    @staticmethod
    def _model_note(model, reading, scores, no, p, best) -> str:
        words = _explained(model, reading, best, no) if scores[best] > 0 else []
        note = f"学习模型估计为证据的概率约 {_percent(p)}"
        if words:
            note += "（有力用语" + "、".join(f"“{w}”" for w in words) + "）"
        return note + "。"

    def _model_suggestion(self, model, reading, scores, no, p) -> Suggestion:
        best = int(np.argmax(scores)) if scores.size and scores.max() > 0 else 0
        item = reading.items[best]
        words = _explained(model, reading, best, no)
        cues_ = reading.cues
        parts = ["规则未命中；学习模型（依据已标注的真实材料与评审反馈训练）判断相关"]
        if words:
            parts.append("有力用语" + "、".join(f"“{w}”" for w in words))
        text = "，".join(parts) + f"，为证据的概率约 {_percent(p)}。最相关段落在第{item.page}页。"
        if cues_.is_commentary:
            text += "全文多为号召与论述，未见日期或数字。"
        hit = PassageHit(item.page, item.start, item.end, item.text, round(float(scores[best]), 4), [])
        return Suggestion(no, round(p, 4), text, [], [hit], support=int((scores > 0).sum()))


# ---------------------------------------------------------------- defaults

_default: dict[tuple, tuple] = {}   # (year, dir) → (rule book, model file stamp, tagger)


def model_dir() -> Path | None:
    value = os.environ.get("KAOPING_TAGGER_MODELS")
    return Path(value) if value else None


def _year_indicators(year: int | None) -> set[int] | None:
    if year is None:
        return None
    try:
        from rubrics.indicators import system_in_force
        return {ind.no for ind in system_in_force(year).indicators}
    except Exception:  # noqa: BLE001 - no system for that year: all rules apply
        return None


def default_tagger(year: int | None = None, models: Path | str | None = None) -> Tagger:
    """Rules plus the learned model: the year's retrained model when `models`
    (or KAOPING_TAGGER_MODELS) holds a valid one for `year`, else the model
    shipped with the code.  A retrained model file (new mtime) or an edited
    vocabulary replaces the cached tagger."""
    from tagging.learned import SHIPPED_PATH, load_model, model_path
    book = default_rulebook()
    directory = Path(models) if models else model_dir()
    path = model_path(directory, year) if (year is not None and directory is not None) else None
    if path is None or not path.exists():
        path = SHIPPED_PATH
    stamp = (str(path), path.stat().st_mtime_ns) if path.exists() else None
    key = (year, str(directory) if directory else None)
    cached = _default.get(key)
    if cached is not None and cached[0] is book and cached[1] == stamp:
        return cached[2]
    model = load_model(path) if stamp is not None else None
    if model is None and path != SHIPPED_PATH:
        model = load_model(SHIPPED_PATH)   # a damaged yearly file: the shipped model still serves
    tagger = Tagger(book, model, _year_indicators(year))
    _default[key] = (book, stamp, tagger)
    return tagger


def tag_text(text: str, *, pages: list | None = None, year: int | None = None) -> TagResult:
    return default_tagger(year).tag_text(text, pages=pages)


def tag_passages(passages: list, *, year: int | None = None) -> TagResult:
    return default_tagger(year).tag_passages(passages)
