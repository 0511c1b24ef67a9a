"""The reviewer's query language, parsed tolerantly into Whoosh queries.

Whoosh's own parser raises on input people really type (unbalanced quotes,
stray colons, Chinese punctuation), and its default analysis is wrong for
Chinese, so we parse ourselves. Nothing here raises to the caller: problems
become a Chinese message in ``ParsedQuery.error`` and a best-effort query.

Syntax: words, "quoted phrases" (also “…”), AND/OR/NOT (与/或/非, and a
leading ``-`` before a word, a phrase, a field or a group: ``-学院``,
``-"学院"``, ``-unit:BJ``, ``-(a OR b)``), parentheses, and field filters
``unit:JS year:2020..2022 kind:policy indicator:4 文号:… 单位:/年度:/类型:/指标:``.
Adjacent terms are ANDed. Every text literal means "this text occurs in the
passage" (a substring, traditional and simplified alike): it compiles to a
``Substring`` query, whose meaning ``index/substring.py`` defines and the
executor evaluates. The lexer and the parser are total: any string ends as a
query and/or a Chinese note (a dangling operator, a stray closing quote), never
as an exception.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from whoosh import query as wq

from index.analysis import _RUN, gram_tokens, word_tokens
from index.substring import Substring, verify_form
from zhtext.chinese import fold

OFFICE_CODE = "OFFICE"  # the office's own publications (index.feed.OFFICE_UNIT)

# The names people type for units (江苏, 江苏省, 苏 → JS). The index knows no indicator system, so
# the application hands it the table at start (configure_unit_names); until then only codes work.
_UNIT_NAMES: dict[str, str] = {}


def configure_unit_names(names: dict[str, str]) -> None:
    """Accept these names (full, short, aliases; any case for codes) wherever a unit is typed."""
    _UNIT_NAMES.clear()
    _UNIT_NAMES.update(names)


def resolve_unit(text: str) -> str | None:
    if text.upper() == OFFICE_CODE:
        return OFFICE_CODE
    if not _UNIT_NAMES:
        return text.upper()
    return _UNIT_NAMES.get(text) or _UNIT_NAMES.get(text.upper())
MAX_QUERY_CHARS = 500
MAX_CLAUSES = 64
YEAR_MIN, YEAR_MAX = 1900, 2200  # closed bounds: open numeric ranges are unsafe in whoosh 2.7

FIELD_ALIASES = {
    "unit": "unit", "单位": "unit", "省份": "unit",
    "year": "year", "年度": "year", "年份": "year", "年": "year",
    "kind": "kind", "类型": "kind", "类别": "kind",
    "indicator": "indicators", "indicators": "indicators", "指标": "indicators",
    "confirmed": "confirmed", "确认指标": "confirmed",
    "doc_number": "doc_number", "docno": "doc_number", "文号": "doc_number",
    "issuer": "issuer", "发文机关": "issuer", "发文单位": "issuer",
    "title": "title", "标题": "title",
    "document": "document_id", "document_id": "document_id", "文档": "document_id",
    "version": "version_id", "version_id": "version_id",
    "page": "page", "页": "page", "页码": "page",
    "date": "date", "日期": "date",
}
_OPS = {"AND": "AND", "与": "AND", "且": "AND", "&&": "AND",
        "OR": "OR", "或": "OR", "||": "OR",
        "NOT": "NOT", "非": "NOT"}
_OPEN_QUOTES = {'"': '"', "“": "”", "”": "“", "「": "」", "『": "』"}
_FIELD_RE = re.compile(r"([A-Za-z_\u4e00-\u9fff]{1,20})[:：](.*)", re.S)


# ---------------------------------------------------------------- AST

@dataclass
class Lit:
    text: str
    quoted: bool


@dataclass
class Fld:
    name: str        # schema field
    value: str
    quoted: bool = False


@dataclass
class Not:
    child: object


@dataclass
class Bool:
    op: str          # "AND" | "OR"
    children: list


@dataclass
class ParsedQuery:
    query: wq.Query | None                            # None: match nothing
    literals: list[str] = field(default_factory=list)  # folded texts to highlight
    ast: object = None
    error: str | None = None
    has_text: bool = False


# ---------------------------------------------------------------- lexer

_SEPARATORS = "，,；;、。"
_NEGATE = "-－"                   # a leading minus (half or full width) excludes what follows
_CLOSE_ONLY = "」』"              # closing quotes with no opening one: ignored, never a word
_WORD_STOP = "()（）\"“”「」『』"


def _lex(q: str, notes: list[str]) -> list[tuple[str, str, bool]]:
    """Tokens (kind, value, quoted): kind in WORD, FIELD:<name>, OP, LP, RP.

    Every branch consumes at least one character, so the lexer ends on any input."""
    toks: list[tuple[str, str, bool]] = []
    i, n = 0, len(q)
    while i < n:
        ch = q[i]
        if ch.isspace() or ch in _SEPARATORS:
            i += 1
            continue
        if ch in "(（":
            toks.append(("LP", ch, False)); i += 1; continue
        if ch in ")）":
            toks.append(("RP", ch, False)); i += 1; continue
        if ch in _NEGATE and i + 1 < n and not q[i + 1].isspace() and q[i + 1] not in _NEGATE + ")）" + _SEPARATORS:
            # -word, -"phrase", -field:value, -(group): the minus is NOT, whatever follows it
            toks.append(("OP", "NOT", False)); i += 1; continue
        if ch in _NEGATE and (i + 1 == n or q[i + 1].isspace()):
            notes.append(f"“{_OP_NAMES['NOT']}”后缺少要排除的词，已忽略")
            i += 1
            continue
        if ch in _OPEN_QUOTES:
            value, i = _quoted(q, i, notes)
            toks.append(("WORD", value, True))
            continue
        if ch in _CLOSE_ONLY:
            notes.append(f"多余的“{ch}”已忽略")
            i += 1
            continue
        j = i
        while j < n and not q[j].isspace() and q[j] not in _WORD_STOP:
            j += 1
        j = max(j, i + 1)
        word = q[i:j]
        i = j
        m = _FIELD_RE.fullmatch(word)
        if m:
            name, value = m.group(1), m.group(2)
            quoted = False
            if not value and i < n and q[i] in _OPEN_QUOTES:
                value, i = _quoted(q, i, notes)
                quoted = True
            target = FIELD_ALIASES.get(name.lower()) or FIELD_ALIASES.get(name)
            if target is None:
                notes.append(f"未知字段“{name}”，已按普通文字搜索")
                toks.append(("WORD", word.replace("：", ":"), False))
            elif not value.strip():
                notes.append(f"字段“{name}”缺少取值，已忽略")
            else:
                toks.append(("FIELD:" + target, value.strip(), quoted))
            continue
        op = _OPS.get(word.upper() if word.isascii() else word)
        toks.append(("OP", op, False) if op else ("WORD", word, False))
    return toks


def _quoted(q: str, i: int, notes: list[str]) -> tuple[str, int]:
    """The text of the quotation opening at q[i], and the index after its closing quote."""
    ch = q[i]
    j = q.find(_OPEN_QUOTES[ch], i + 1)
    if ch == "“" and j < 0:
        j = q.find('"', i + 1)
    if j < 0:
        notes.append("引号未配对，已按引号闭合处理")
        j = len(q)
    return q[i + 1:j], j + 1


# ---------------------------------------------------------------- parser

_AND, _OR, _NOT = ("OP", "AND", False), ("OP", "OR", False), ("OP", "NOT", False)
_OP_NAMES = {"AND": "与/AND", "OR": "或/OR", "NOT": "非/NOT/-"}


class _Parser:
    """or := and (OR and)* ; and := unary (AND? unary)* ; unary := NOT unary | atom.

    Total: a dangling or doubled operator becomes a Chinese note and is left out."""

    def __init__(self, toks, notes):
        self.toks, self.i, self.notes = toks, 0, notes

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def parse(self):
        nodes = []
        while self.peek() is not None:
            node = self.parse_or()
            if node is not None:
                nodes.append(node)
            if self.peek() is not None and self.peek()[0] == "RP":
                self.note("括号未配对，已忽略多余的右括号")
                self.i += 1
        return _simplify(Bool("AND", nodes))

    def parse_or(self):
        parts = [self.parse_and()]
        while self.peek() == _OR:
            self.i += 1
            parts.append(self.parse_and())
        if len(parts) > 1 and any(p is None for p in parts):
            self.note(f"“{_OP_NAMES['OR']}”前后缺少检索词，已忽略")
        return _simplify(Bool("OR", [p for p in parts if p is not None]))

    def parse_and(self):
        parts = []
        dangling = False
        while True:
            tok = self.peek()
            if tok is None or tok[0] == "RP" or tok == _OR:
                break
            if tok == _AND:
                self.i += 1
                nxt = self.peek()
                dangling |= not parts or nxt is None or nxt[0] == "RP" or nxt in (_AND, _OR)
                continue
            node = self.parse_unary()
            if node is not None:
                parts.append(node)
        if dangling:
            self.note(f"“{_OP_NAMES['AND']}”前后缺少检索词，已忽略")
        return _simplify(Bool("AND", parts))

    def parse_unary(self):
        tok = self.peek()
        if tok is None or tok[0] == "RP":
            return None
        self.i += 1
        if tok == _NOT:
            nxt = self.peek()
            if nxt is None or nxt[0] == "RP" or nxt in (_AND, _OR):
                self.note(f"“{_OP_NAMES['NOT']}”后缺少要排除的词，已忽略")
                return None
            child = self.parse_unary()
            return Not(child) if child is not None else None
        kind, value, quoted = tok
        if kind == "LP":
            node = self.parse_or()
            if self.peek() is not None and self.peek()[0] == "RP":
                self.i += 1
            else:
                self.note("括号未配对，已自动补全")
            return node
        if kind == "WORD":
            return Lit(value, quoted)
        if kind.startswith("FIELD:"):
            return Fld(kind[6:], value, quoted)
        self.note(f"多余的“{_OP_NAMES.get(value, value)}”已忽略")
        return None


def _simplify(node):
    if isinstance(node, Bool):
        kids = [k for k in node.children if k is not None]
        if not kids:
            return None
        if len(kids) == 1:
            return kids[0]
        return Bool(node.op, kids)
    return node


# ---------------------------------------------------------------- compile

def _squash(text: str) -> str:
    return "".join(text.split())


def gram_query(fieldname: str, text: str) -> Substring | None:
    """Passages whose ``fieldname`` contains ``text`` (None: nothing searchable in it).

    One gram term decides alone when the text holds nothing else the index
    does not store (punctuation); otherwise the executor checks the text.
    """
    toks = gram_tokens(text, trailing_unigram_last_run=False)
    if not toks:
        return None
    folded = fold(text)
    runs = [m.group() for m in _RUN.finditer(folded)]
    terms = [t for t, _, _ in toks]
    exact = len(terms) == 1 and "".join(runs) == _squash(folded)
    return Substring(fieldname, terms, verify_form(text), exact)


class _Compiler:
    def __init__(self, notes):
        self.notes = notes
        self.literals: list[str] = []
        self.clauses = 0
        self.has_text = False

    def compile(self, node, negated=False):
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            if self.clauses == MAX_CLAUSES + 1:
                self.notes.append(f"查询条件过多，只使用前 {MAX_CLAUSES} 个")
            return None
        if isinstance(node, Bool):
            kids = [q for q in (self.compile(k, negated) for k in node.children) if q is not None]
            if not kids:
                return None
            if len(kids) == 1:
                return kids[0]
            return wq.And(kids) if node.op == "AND" else wq.Or(kids)
        if isinstance(node, Not):
            inner = self.compile(node.child, not negated)
            return wq.Not(inner) if inner is not None else None
        if isinstance(node, Lit):
            return self.literal(node, negated)
        if isinstance(node, Fld):
            return self.field(node)
        return None

    def literal(self, node: Lit, negated: bool):
        self.has_text = True
        if node.quoted:
            q = gram_query("grams", node.text)
            if q is None:
                return None
            if not negated:
                self.literals.append(q.literal)
            return q
        words = [w for w, _, _ in word_tokens(node.text)]
        required = []
        for w in words:
            q = gram_query("grams", w)
            if q is not None:
                required.append(q)
                if not negated:
                    self.literals.append(w)
        if not required:
            return None
        must = required[0] if len(required) == 1 else wq.And(required)
        # Whole-word matches in the segmented field rank first; they are
        # optional, so segmentation differences never lose a passage.
        boost = wq.Term("words", words[0]) if len(words) == 1 else wq.Phrase("words", words)
        return wq.AndMaybe(must, boost)

    def field(self, node: Fld):
        name, value = node.name, node.value
        if name == "unit":  # a code or the name people type: unit:JS, 单位:江苏, unit:江苏省
            codes = []
            for v in (v.strip() for v in re.split(r"[,，、|/]", value)):
                code = resolve_unit(v) if v else None
                if v and code is None:
                    self.notes.append(f"没有名为“{v}”的单位，请使用省份名称，如“江苏”")
                elif code:
                    codes.append(code)
            return wq.Or([wq.Term("unit", c) for c in codes]) if codes else wq.NullQuery
        if name in ("kind", "document_id", "version_id"):
            return wq.Term(name, value)
        if name in ("indicators", "confirmed"):
            vals = [v for v in re.split(r"[,，|/]", value) if v]
            return wq.Or([wq.Term(name, v) for v in vals]) if vals else None
        if name in ("year", "page"):
            return self.numeric(name, value)
        if name == "date":
            return wq.Prefix("date", value)
        return gram_query(name, value)  # doc_number, issuer, title

    def numeric(self, name: str, value: str):
        lo_default, hi_default = (YEAR_MIN, YEAR_MAX) if name == "year" else (0, 10 ** 8)
        m = re.fullmatch(r"\s*(\d{0,6})\s*(?:\.\.|-|~|～|至|到)\s*(\d{0,6})\s*", value)
        try:
            if m:
                lo = int(m.group(1)) if m.group(1) else lo_default
                hi = int(m.group(2)) if m.group(2) else hi_default
                if lo > hi:
                    lo, hi = hi, lo
                return wq.NumericRange(name, max(lo, lo_default), min(hi, hi_default))
            if re.fullmatch(r"\s*\d{1,6}\s*", value):
                v = int(value)
                return wq.NumericRange(name, v, v)
        except ValueError:
            pass
        label = "年度" if name == "year" else "页码"
        self.notes.append(f"{label}“{value}”无法识别，应为数字或范围（如 2020..2022）")
        return wq.NullQuery


def parse(text: str) -> ParsedQuery:
    notes: list[str] = []
    if text is None:
        text = ""
    if len(text) > MAX_QUERY_CHARS:
        notes.append(f"查询过长，只使用前 {MAX_QUERY_CHARS} 个字符")
        text = text[:MAX_QUERY_CHARS]
    try:
        ast = _Parser(_lex(text, notes), notes).parse()
        comp = _Compiler(notes)
        q = comp.compile(ast) if ast is not None else None
    except RecursionError:
        return ParsedQuery(None, error="查询嵌套过深，无法解析")
    if q is None or q is wq.NullQuery:
        msg = "请输入检索词" if not text.strip() else "查询中没有可检索的文字或条件"
        return ParsedQuery(None, error="；".join(notes + [msg]), ast=ast)
    if _only_negative(ast):
        q = wq.And([wq.Every(), q])
    return ParsedQuery(q, comp.literals, ast, "；".join(notes) or None, comp.has_text)


def _only_negative(node) -> bool:
    if isinstance(node, Not):
        return True
    if isinstance(node, Bool) and node.op == "AND":
        return all(_only_negative(k) for k in node.children)
    return False
