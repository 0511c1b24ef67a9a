"""From passages to document-level indicator suggestions.

Passage first: every passage is scored per indicator by the rules (and, once
reviewers have given feedback, by the learned model).  Document second: the
best passage carries the score, further passages add diminishing support, a
document with no 产改 vocabulary at all is marked down, and hits in the title
count a little more because titles say what a document is about.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

from tagging.normalize import matching_copy
from tagging.prepare import (TITLE_MAX_CHARS, as_passage, drop_rubric_passages, drop_site_chrome,
                                    title_apart)
from tagging.results import PassageHit, Suggestion, TagResult
from tagging.rules import KIND_LABELS, Hit, RuleBook, default_rulebook, passage_score, scan

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
# A passage the rules did not hit counts for the model only with some conviction.
MIN_MODEL_ONLY_SCORE = 0.25


def document_score(passage_scores: list[float]) -> float:
    """Best passage in full, each further one (best first) at half the weight
    of the one before, combined as a noisy-or.  A term scattered once in many
    passages (0.3 each) thus stays below 0.5 however long the document."""
    miss, factor = 1.0, 1.0
    for score in sorted(passage_scores, reverse=True):
        miss *= 1.0 - score * factor
        factor *= SUPPORT_DECAY
    return 1.0 - miss


class Tagger:
    def __init__(self, rulebook: RuleBook | None = None, model=None, indicator_nos: set[int] | None = None,
                 calibration=None):
        self.rulebook = rulebook or default_rulebook()
        self.model = model  # a learned.LearnedModel or None
        # The indicators of the evaluation year; a retired one is never suggested.
        self.indicator_nos = indicator_nos
        self.calibration = calibration  # a calibration.Calibration or None (rules' own scores)

    @property
    def version(self) -> str:
        from tagging.learned import MODEL_FORMAT
        model = self.model.version if self.model is not None else f"{MODEL_FORMAT}-none"
        version = f"{self.rulebook.version}+{model}"
        if self.calibration is not None:
            version += f"+{self.calibration.version}"
        return version

    # ---------------------------------------------------------------- API
    def tag_text(self, text: str, *, pages: list | None = None) -> TagResult:
        from tagging.splitting import split_text
        text = text or ""
        if not text.strip():
            return TagResult([], [], self.version)
        return self.tag_passages(split_text(text[:MAX_CHARS], pages))

    def tag_passages(self, passages: list) -> TagResult:
        found = self._suggestions(passages)
        if found is None:
            return TagResult([], [], self.version)
        suggestions, features, domain_level, is_catalogue = found
        threshold = THRESHOLD
        if self.calibration is not None:
            for s in suggestions:
                p = self.calibration.probability(features[s.no])
                s.reason += f"经标注样本校准，为证据的概率约 {p:.0%}（规则分 {s.score:.2f}）。"
                s.score = round(p, 4)
            threshold = self.calibration.threshold
        # Equal scores are common (one strong hit = 0.6): more supporting passages rank first.
        suggestions.sort(key=lambda s: (-s.score, -s.support, s.no))
        chosen = [s for s in suggestions if s.score >= threshold]
        if domain_level < 2:
            chosen = chosen[:WEAK_DOMAIN_MAX_SUGGESTIONS]
        if is_catalogue:
            chosen = chosen[:CATALOGUE_MAX_SUGGESTIONS]
        chosen_nos = {s.no for s in chosen}
        rest = [s for s in suggestions if s.no not in chosen_nos and s.score >= MIN_CANDIDATE_SCORE]
        return TagResult(chosen, rest[:MAX_CANDIDATES], self.version)

    def rule_examples(self, text: str) -> list[tuple[int, dict, float]]:
        """(indicator, calibration features, rule score) for every rule suggestion
        of a text: what a calibration is trained on."""
        from tagging.splitting import split_text
        if not (text or "").strip():
            return []
        found = self._suggestions(split_text(text[:MAX_CHARS]), want_features=True)
        if found is None:
            return []
        suggestions, features, _, _ = found
        return [(s.no, features[s.no], s.score) for s in suggestions]

    def indicator_passage_scores(self, texts: list[str], no: int,
                                 copies: list | None = None) -> list[tuple[float, list[str]]]:
        """(score, matched terms) of each text as one passage, for indicator `no`
        alone: what the evidence ranking of a unit's passages needs (``copies``:
        the texts' matching copies, when the caller keeps them)."""
        ind = self.rulebook.indicators.get(no)
        out: list[tuple[float, list[str]]] = [(0.0, []) for _ in texts]
        if not texts:
            return out
        copies = copies if copies is not None else [matching_copy(t or "") for t in texts]
        bounds, pos = [], 0
        for c in copies:
            bounds.append(pos)
            pos += len(c.text) + 1
        joined = "\n".join(c.text for c in copies)
        if ind is not None:
            book = RuleBook({no: ind}, None, None, self.rulebook.digest, self.rulebook.plans)
            scanned = scan(book, joined, bounds)
            context = scanned.context_ok.get(no)
            for idx, hits in scanned.hits.get(no, {}).items():
                has_context = ind.context is None or idx in (context or set())
                score, counted = passage_score(hits, has_context)
                terms = []
                for h in sorted(counted, key=lambda h: h.start):
                    s, e = copies[idx].span_to_original(h.start - bounds[idx], h.end - bounds[idx])
                    if texts[idx][s:e] and texts[idx][s:e] not in terms:
                        terms.append(texts[idx][s:e])
                out[idx] = (score, terms)
        if self.model is not None and self.model.blend_weight(no) > 0:
            weight = self.model.blend_weight(no)
            probs = self.model.passage_scores(list(texts)).get(no)
            if probs is not None:
                out = [((1 - weight) * s + weight * float(p), terms) for (s, terms), p in zip(out, probs)]
        return out

    # ---------------------------------------------------------- internals
    def _suggestions(self, passages: list, want_features: bool = False):
        """Every indicator the rules (and the feedback model) see in the passages,
        scored by the rules, with the calibration features of each; None when
        nothing is left to read."""
        items = [as_passage(p) for p in passages or [] if str(getattr(p, "text", "")).strip()]
        if not items:
            return None
        items = drop_site_chrome(items)
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
        model_scores = self.model.passage_scores([i.text for i in items]) if self.model is not None else {}

        title_idx = 0 if len(items[0].text.strip()) <= TITLE_MAX_CHARS else None
        suggestions: list[Suggestion] = []
        infos: dict[int, dict] = {}
        for no in sorted(set(scanned.hits) | set(model_scores)):
            if self.indicator_nos is not None and no not in self.indicator_nos:
                continue
            found = self._score_indicator(no, items, copies, bounds, scanned, model_scores.get(no), title_idx)
            if found is not None:
                suggestions.append(found[0])
                infos[no] = found[1]
        suggestions.sort(key=lambda s: (-s.score, -s.support, s.no))
        features = self._features(suggestions, infos, items, scanned.domain_level) \
            if self.calibration is not None or want_features else {}
        return suggestions, features, scanned.domain_level, is_catalogue

    def _features(self, suggestions, infos, items, domain_level) -> dict[int, dict[str, float]]:
        from tagging.calibration import meaning_similarity, passage_cues
        cues = [passage_cues(i.text) for i in items]
        doc_fact = sum(1 for f, _ in cues if f > 0) / len(cues)
        doc_exhort = sum(e for _, e in cues) / len(cues)
        n_suggested = sum(1 for s in suggestions if s.score >= THRESHOLD)
        best_idx = [infos[s.no]["best"] for s in suggestions]
        meaning = meaning_similarity([items[i].text for i in best_idx], [s.no for s in suggestions])
        out = {}
        for rank, (s, idx, sim) in enumerate(zip(suggestions, best_idx, meaning)):
            info = infos[s.no]
            fact, exhort = cues[idx]
            out[s.no] = {
                "rule_score": s.score, "best_passage": s.passages[0].score if s.passages else 0.0,
                "support": math.log1p(s.support), "strong": float(info["strong"]), "title": float(info["title"]),
                "fact": fact, "exhortation": exhort, "doc_fact_share": doc_fact,
                "doc_exhortation_share": doc_exhort, "rank": 1.0 / (1 + rank),
                "n_suggested": math.log1p(n_suggested), "domain": domain_level / 2,
                "prior": self.calibration.prior(s.no) if self.calibration is not None else 0.0,
                "meaning": sim, "share": s.support / len(items),
            }
        return out

    def _score_indicator(self, no, items, copies, bounds, scanned, model_probs, title_idx):
        ind = self.rulebook.indicators.get(no)
        per_passage = scanned.hits.get(no, {})
        context = scanned.context_ok.get(no)
        title_context = title_idx is not None and context is not None and title_idx in context
        weight = self.model.blend_weight(no) if self.model is not None else 0.0

        scored: list[tuple[float, int, list[Hit]]] = []
        for idx in set(per_passage) | (set(range(len(items))) if model_probs is not None else set()):
            has_context = ind is None or ind.context is None or idx in (context or set()) or title_context
            rule_score, counted = passage_score(per_passage.get(idx, []), has_context)
            if idx == title_idx and rule_score:
                rule_score = min(0.95, rule_score * TITLE_BOOST)
            score = rule_score
            if model_probs is not None and weight > 0:
                score = (1 - weight) * rule_score + weight * float(model_probs[idx])
            if rule_score > 0 or score >= MIN_MODEL_ONLY_SCORE:
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
            item, copy, base = items[idx], copies[idx], bounds[idx]
            terms = []
            for h in sorted(counted, key=lambda h: h.start):
                s, e = copy.span_to_original(h.start - base, h.end - base)
                original = item.text[s:e]  # quoted from the original, so it is found in the passage
                if not original:
                    continue
                if original not in terms:
                    terms.append(original)
                if original not in quotes[h.rule.kind]:
                    quotes[h.rule.kind].append(original)
            hits_out.append(PassageHit(item.page, item.start, item.end, item.text, round(score, 4), terms))
            all_terms.extend(t for t in terms if t not in all_terms)
        reason = self._reason(quotes, scored, hits_out, scanned.domain_level, weight)
        info = {"best": scored[0][1], "strong": bool(quotes["strong"]),
                "title": any(idx == title_idx for _, idx, _ in scored[:MAX_PASSAGES_PER_SUGGESTION])}
        return Suggestion(no, doc_score, reason, all_terms, hits_out, support=len(scored)), info

    def _reason(self, quotes, scored, hits_out, domain_level, weight) -> str:
        parts = []
        for kind in ("strong", "terms", "weak"):
            if quotes[kind]:
                shown = [q if len(q) <= 40 else q[:38] + "…" for q in quotes[kind][:5]]
                parts.append(KIND_LABELS[kind] + "、".join(f"“{q}”" for q in shown))
        if not parts:
            parts.append("规则未命中，依据评审反馈训练的模型判断相关")
        best = hits_out[0]
        text = "；".join(parts) + f"。最相关段落在第{best.page}页"
        if len(scored) > 1:
            text += f"，另有{len(scored) - 1}段相关"
        text += "。"
        if weight > 0:
            text += f"已结合评审反馈训练的模型（权重{weight:.2f}）。"
        if domain_level == 0:
            text += "全文未出现产改相关用语，已大幅降分。"
        elif domain_level == 1:
            text += "全文缺少产业工人、工会、职工等核心用语，已降分。"
        return text


_default: dict[tuple, tuple] = {}   # (year, dir) → (rule book, model file stamp, tagger)


def model_dir() -> Path | None:
    value = os.environ.get("KAOPING_TAGGER_MODELS")
    return Path(value) if value else None


def _year_indicators(year: int | None) -> set[int] | None:
    if year is None:
        return None
    try:
        from rubrics.indicators import load_system
        return {ind.no for ind in load_system(year).indicators}
    except Exception:  # noqa: BLE001 - no system for that year: all rules apply
        return None


def default_tagger(year: int | None = None, models: Path | str | None = None) -> Tagger:
    """Rules plus, when `models` (or KAOPING_TAGGER_MODELS) names a directory
    holding a model for `year`, that year's learned model.  A retrained model
    file (new mtime) or an edited vocabulary replaces the cached tagger."""
    from tagging.learned import load_model, model_path
    book = default_rulebook()
    directory = Path(models) if models else model_dir()
    path = model_path(directory, year) if (year is not None and directory is not None) else None
    stamp = path.stat().st_mtime_ns if path is not None and path.exists() else None
    key = (year, str(directory) if directory else None)
    cached = _default.get(key)
    if cached is not None and cached[0] is book and cached[1] == stamp:
        return cached[2]
    model = load_model(directory, year) if stamp is not None else None
    tagger = Tagger(book, model, _year_indicators(year))
    _default[key] = (book, stamp, tagger)
    return tagger


def tag_text(text: str, *, pages: list | None = None, year: int | None = None) -> TagResult:
    return default_tagger(year).tag_text(text, pages=pages)


def tag_passages(passages: list, *, year: int | None = None) -> TagResult:
    return default_tagger(year).tag_passages(passages)
