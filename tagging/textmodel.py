"""Which indicator a passage's wording speaks for, learned from labelled passages.

Features are the passage's words (rjieba with the domain dictionary) and its
character 2–3-grams, on the matching copy (folded, noise removed), hashed into
N_FEATURES columns, sublinear tf × idf, l2-normalised.  One linear scorer per
indicator is fitted jointly by ridge regression in its dual form (a few hundred
passages, 88 targets: one small linear solve), then the weights are made sparse
(the strongest TOP_WEIGHTS per indicator) so the stored model stays small.

Everything is plain arrays: idf over the used columns and a sparse
feature × indicator weight matrix; `explain` names the words of a passage that
pushed its score up, for the reviewer's reason.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

N_FEATURES = 2 ** 20
NGRAMS = (2, 3)
RIDGE = 1.0
TOP_WEIGHTS = 3000          # per indicator
_CJK_RUN = re.compile(r"[\u4e00-\u9fff0-9%]+")
_HAS_CJK = re.compile(r"[\u4e00-\u9fff]")
WORD_PREFIX = "w:"


def tokens(text: str) -> list[str]:
    """Words of two or more characters and character n-grams of the Chinese runs."""
    from zhtext.chinese import default_segmenter
    words = [WORD_PREFIX + w for w in default_segmenter().cut(text) if len(w) >= 2 and _HAS_CJK.search(w)]
    grams = []
    for run in _CJK_RUN.findall(text):
        for n in NGRAMS:
            grams.extend(run[i:i + n] for i in range(len(run) - n + 1))
    return words + grams


@functools.lru_cache(maxsize=1)
def _hasher():
    from sklearn.feature_extraction.text import HashingVectorizer
    return HashingVectorizer(analyzer=tokens, n_features=N_FEATURES, alternate_sign=False, norm=None)


def _column(token: str) -> int:
    from sklearn.utils import murmurhash3_32
    return abs(murmurhash3_32(token, seed=0)) % N_FEATURES


def term_counts(texts: list[str]):
    """Sparse passage × column counts, sublinear (1 + log tf)."""
    counts = _hasher().transform(texts).tocsr().astype(np.float64)
    counts.data = np.log(counts.data) + 1.0
    return counts


@dataclass
class TextModel:
    columns: np.ndarray        # int64[k]: the columns seen in training, sorted
    idf: np.ndarray            # float32[k]
    default_idf: float         # for columns never seen
    weights: "object"          # scipy CSR, k × n_indicators
    intercepts: np.ndarray     # float32[n_indicators]
    nos: list[int]             # indicator of each weight column

    @functools.cached_property
    def _idf_everywhere(self) -> np.ndarray:
        idf = np.full(N_FEATURES, self.default_idf, dtype=np.float32)
        idf[self.columns] = self.idf
        return idf

    @functools.cached_property
    def _by_indicator(self):
        return self.weights.tocsc()

    @functools.cached_property
    def _compact(self) -> np.ndarray:
        """Hashed column → position among the model's columns (-1: not a model column)."""
        compact = np.full(N_FEATURES, -1, dtype=np.int32)
        compact[self.columns] = np.arange(len(self.columns), dtype=np.int32)
        return compact

    def _matrix(self, texts: list[str]):
        from scipy import sparse
        from sklearn.preprocessing import normalize
        # normalised over every column (unseen words count in a passage's length), then narrowed
        full = normalize(term_counts(texts).multiply(self._idf_everywhere).tocsr(), norm="l2").tocoo()
        position = self._compact[full.col]
        keep = position >= 0
        return sparse.csr_matrix((full.data[keep], (full.row[keep], position[keep])),
                                 shape=(full.shape[0], len(self.columns)))

    def scores(self, texts: list[str]) -> np.ndarray:
        """passage × indicator scores (about 0 for unrelated, about 1 for evidence)."""
        if not texts:
            return np.zeros((0, len(self.nos)))
        return np.asarray((self._matrix(texts) @ self.weights).todense()) + self.intercepts

    def explain(self, text: str, no: int, k: int = 3) -> list[str]:
        """The words of `text` that most raised its score for indicator `no`
        (whole words only: a reviewer reads words, not character n-grams)."""
        if no not in self.nos:
            return []
        weights = self._by_indicator[:, self.nos.index(no)].toarray().ravel()
        row = self._matrix([text]).tocsr()
        value = dict(zip(row.indices.tolist(), (row.data * weights[row.indices]).tolist()))
        best: dict[str, float] = {}
        for token in set(tokens(text)):
            if not token.startswith(WORD_PREFIX):
                continue
            column = _column(token)
            i = int(np.searchsorted(self.columns, column))   # columns are sorted
            if i < len(self.columns) and self.columns[i] == column and value.get(i, 0.0) > 0:
                best[token[len(WORD_PREFIX):]] = value[i]
        return sorted(best, key=lambda w: (-best[w], w))[:k]


def fit(texts: list[str], targets: np.ndarray, nos: list[int], sample_weight: np.ndarray | None = None) -> TextModel:
    """Ridge regression of passage texts on `targets` (passage × indicator, 0/1,
    NaN where unknown: those cells are fitted as 0 with a small weight)."""
    from scipy import sparse
    from sklearn.preprocessing import normalize
    if not texts:   # nothing to learn from (a tiny training fold): a model that scores 0
        return TextModel(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), 1.0,
                         sparse.csr_matrix((0, len(nos)), dtype=np.float32), np.zeros(len(nos), dtype=np.float32),
                         list(nos))
    counts = term_counts(texts)
    df = np.bincount(counts.indices, minlength=N_FEATURES)
    columns = np.flatnonzero(df)
    n = len(texts)
    idf_all = np.log((1 + n) / (1 + df)) + 1.0
    x = normalize(counts.multiply(idf_all).tocsr(), norm="l2")[:, columns].tocsr()
    y = np.nan_to_num(np.asarray(targets, dtype=np.float64), nan=0.0)
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    # weighted ridge in dual form: (X Xᵀ + λ W⁻¹) α = y ; weights = Xᵀ α
    gram = (x @ x.T).toarray()
    alpha = np.linalg.solve(gram + RIDGE * np.diag(1.0 / np.maximum(w, 1e-6)), y)
    dense = np.asarray(x.T @ alpha)                   # k × n_indicators
    keep_rows, keep_cols, keep_vals = [], [], []
    for j in range(dense.shape[1]):
        column = dense[:, j]
        top = np.argsort(-np.abs(column))[:TOP_WEIGHTS]
        top = top[column[top] != 0]
        keep_rows.append(top)
        keep_cols.append(np.full(len(top), j))
        keep_vals.append(column[top])
    weights = sparse.csr_matrix((np.concatenate(keep_vals) if keep_vals else [],
                                 (np.concatenate(keep_rows) if keep_rows else [],
                                  np.concatenate(keep_cols) if keep_cols else [])),
                                shape=(len(columns), len(nos)), dtype=np.float32)
    return TextModel(columns.astype(np.int64), idf_all[columns].astype(np.float32),
                     float(np.log(1 + n) + 1.0), weights, np.zeros(len(nos), dtype=np.float32), list(nos))
