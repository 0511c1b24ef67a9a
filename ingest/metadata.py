"""Official-document metadata read from the text: 文号, title, issuer, date, kind, province.

Each field comes with a confidence in 0..1 so the reviewer UI can show which
values were read from a clear position (own line in the head of an official
document) and which are guesses.
"""
from __future__ import annotations

import functools
import re
from datetime import date
from dataclasses import asdict, dataclass, field

import yaml

from zhtext.chinese import RUBRICS_DIR, fold

DOC_KINDS = {"policy": "政策文件", "notice": "会议纪要/通知", "media": "媒体报道", "summary": "工作总结",
             "briefing": "简报专报", "case": "案例材料", "research": "调研报告", "statistics": "统计数据",
             "other": "其他"}


@dataclass
class Metadata:
    title: str | None = None
    doc_number: str | None = None
    issuer: str | None = None
    date: str | None = None
    kind: str = "other"
    unit_code: str | None = None
    confidence: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------- 文号
_OPEN, _CLOSE = "〔\\[(（【［{｛", "〕\\])）】］}｝"
DOC_NUMBER = re.compile(
    rf"(?P<prefix>[\u4e00-\u9fff]{{1,10}})\s*[{_OPEN}]\s*(?P<year>(?:19|20)\d\d)\s*[{_CLOSE}]\s*第?\s*(?P<no>\d{{1,5}})\s*号")
_PREFIX_NOISE = re.compile(r"^.*(?:印发|转发|根据|按照|依据|关于|的|及|和|与|《|》)")


def normalise_doc_number(prefix: str, year: str, no: str) -> str:
    return f"{prefix}〔{year}〕{int(no)}号"


def find_doc_number(lines: list[str]) -> tuple[str | None, float]:
    best: tuple[str | None, float] = (None, 0.0)
    for i, line in enumerate(lines):
        compact = re.sub(r"\s+", "", line) if len(line) < 60 else line
        for m in DOC_NUMBER.finditer(compact):
            prefix = _PREFIX_NOISE.sub("", m.group("prefix")) or m.group("prefix")
            prefix = prefix[-6:] if len(prefix) > 6 else prefix
            value = normalise_doc_number(prefix, m.group("year"), m.group("no"))
            own_line = m.start() == 0 and len(compact) - m.end() < 12  # "…号  签发人：XX" still counts
            if own_line and i < 30:
                conf = 0.95
            elif i < 30:
                conf = 0.6
            else:
                conf = 0.3
            if conf > best[1]:
                best = (value, conf)
    return best


# ---------------------------------------------------------------- dates
_CN_DIGITS = {"〇": 0, "○": 0, "零": 0, "O": 0, "o": 0, "0": 0, "Ｏ": 0, "一": 1, "二": 2, "三": 3, "四": 4,
              "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
DATE_PATTERNS = [
    re.compile(r"(?P<y>(?:19|20)\d\d)\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日"),
    re.compile(r"(?P<y>[〇○零一二三四五六七八九OoＯ0]{4})\s*年\s*(?P<m>[一二三四五六七八九十]{1,3})\s*月\s*(?P<d>[一二三四五六七八九十]{1,3})\s*日"),
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d\d)[-./](?P<m>\d{1,2})[-./](?P<d>\d{1,2})(?!\d)"),
]


def _cn_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (_CN_DIGITS.get(ones, 0) if ones else 0)
    return _CN_DIGITS.get(text, 0)


def parse_date(match: re.Match) -> str | None:
    y_raw = match.group("y")
    year = int(y_raw) if y_raw.isdigit() else int("".join(str(_CN_DIGITS.get(c, 0)) for c in y_raw))
    month, day = _cn_number(match.group("m")), _cn_number(match.group("d"))
    if not 1990 <= year <= 2100:
        return None
    try:
        return date(year, month, day).isoformat()  # 2月31日 is no date
    except ValueError:
        return None


def find_dates(lines: list[str]) -> list[tuple[int, str, bool]]:
    """(line index, ISO date, date is the whole line)."""
    found = []
    for i, line in enumerate(lines):
        for pattern in DATE_PATTERNS:
            for m in pattern.finditer(line):
                iso = parse_date(m)
                if iso:
                    rest = (line[: m.start()] + line[m.end():]).strip(" （）()")
                    found.append((i, iso, not rest))
    return found


def pick_date(lines: list[str]) -> tuple[str | None, float, int | None]:
    dates = find_dates(lines)
    if not dates:
        return None, 0.0, None
    own = [d for d in dates if d[2]]
    if own:
        # The 成文日期 closes the body, after the signature; later own-line dates are rarer than earlier ones.
        i, iso, _ = own[-1] if own[-1][0] > len(lines) * 0.3 else own[0]
        return iso, 0.9, i
    head = [d for d in dates if d[0] < 8]
    if head:
        return head[0][1], 0.6, head[0][0]
    return dates[0][1], 0.3, dates[0][0]


# ---------------------------------------------------------------- issuer
ORG_SUFFIX = re.compile(r"(委员会|协调小组|领导小组|办公室|办公厅|总工会|工会|人民政府|政府|厅|局|部|委|会|组|室|院|中心|"
                        r"公司|集团|联合会|协会|学会|党组|党委|研究会|研究院|大学|学院|报社|日报|电视台)$")
RED_HEADER = re.compile(r"^(?P<org>.{2,40}?)(文件|函|简报|专报|情况通报|工作动态|信息)$")
SOURCE_LINE = re.compile(r"(?:来源|发布机构|发文机关|信息来源)[:：]\s*(?P<org>[^\s|｜]{2,30})")


def find_issuer(lines: list[str], date_line: int | None) -> tuple[str | None, float]:
    if date_line is not None and date_line > 0:
        orgs = []
        for j in range(date_line - 1, max(-1, date_line - 4), -1):
            cand = lines[j].strip()
            if 2 <= len(cand) <= 40 and ORG_SUFFIX.search(cand) and not cand.endswith(("。", "；")):
                orgs.insert(0, cand)
            else:
                break
        if orgs:
            return "、".join(orgs), 0.85
    for line in lines[:5]:
        m = RED_HEADER.match(re.sub(r"\s+", "", line))
        if m and ORG_SUFFIX.search(m.group("org")):
            return m.group("org"), 0.75
    for line in lines[:15]:
        m = SOURCE_LINE.search(line)
        if m:
            return m.group("org"), 0.6
    return None, 0.0


# ---------------------------------------------------------------- title
# News headlines end in an organisation as often as not ("…命名首批12家省级工匠学院"): an action verb
# marks the line as a title rather than an issuing body.
TITLE_WORDS = re.compile(r"关于|通知|意见|办法|方案|报告|纪要|总结|决定|规定|细则|通报|批复|简报|专报|规划|条例|措施|汇报|情况|案例|调研|"
                         r"命名|召开|举办|举行|揭牌|授牌|挂牌|启动|印发|出台|建成|表彰|获评")
_SKIP_HEAD = re.compile(r"^(附件\s*\d*|附\s*件|密级|机密|秘密|绝密|特急|加急|紧急|平急|签发人|编号|第\s*\d+\s*期|\d+$)")


def find_title(lines: list[str], doc_number: str | None) -> tuple[str | None, float]:
    """The first block of short head lines; a block with a document-type word wins over one without."""
    first: tuple[str | None, float] = (None, 0.0)
    start = 0
    while start < min(len(lines), 20):
        title, used = _title_block(lines, start)
        if title is None:
            break
        if TITLE_WORDS.search(title):
            return title, 0.85
        if first[0] is None:
            first = (title, 0.5)
        start = used
    return first


def _is_org_line(compact: str) -> bool:
    return len(compact) <= 40 and bool(ORG_SUFFIX.search(compact)) and not TITLE_WORDS.search(compact)


def _title_block(lines: list[str], start: int) -> tuple[str | None, int]:
    collected: list[str] = []
    i = start
    for i in range(start, min(len(lines), 20)):
        line = lines[i]
        s = line.strip()
        compact = re.sub(r"\s+", "", s)
        if not compact:
            continue
        if _SKIP_HEAD.match(compact) or DOC_NUMBER.search(compact) or RED_HEADER.match(compact) \
                or compact in ("文件", "函") or _is_org_line(compact) \
                or find_dates([compact]) and len(compact) < 20:
            if collected:
                break
            continue
        if compact.endswith(("：", ":")) or len(compact) > 60 or compact.endswith(("。", "；", "！")) \
                or " | " in s:  # a table row (序号 | 单位 | …) is never part of a title
            if collected:
                break
            # Body sentences and the addressee line are not part of a title.
            continue
        collected.append(compact if re.search(r"[\u4e00-\u9fff]", compact) else s)
        if sum(map(len, collected)) > 80:
            break
    if not collected:
        return None, i + 1
    title = "".join(collected) if all(re.search(r"[\u4e00-\u9fff]", c) for c in collected) else " ".join(collected)
    return title, i + 1


# ---------------------------------------------------------------- kind
KIND_RULES = {
    "notice": (r"会议纪要|纪要|通知|通报|会议", 2),
    "policy": (r"意见|办法|方案|规定|细则|规划|决定|条例|措施|实施|指引|指南|制度", 2),
    "media": (r"本报讯|记者|来源[:：]|报道|新华社|日报|通讯员|央视|新闻", 2),
    "summary": (r"总结|工作情况报告|情况汇报|自评|述职|工作报告", 2),
    "briefing": (r"简报|专报|工作动态|信息专报|第\s*\d+\s*期", 2),
    "case": (r"案例|典型经验|经验做法|先进事迹|典型做法", 2),
    "research": (r"调研|调查报告|研究报告|课题", 2),
    "statistics": (r"统计|数据表|统计表|汇总表|台账", 2),
}


def classify_kind(title: str | None, head: str, doc_number: str | None) -> tuple[str, float]:
    scores = {k: 0.0 for k in KIND_RULES}
    for kind, (pattern, weight) in KIND_RULES.items():
        if title:
            scores[kind] += 6 * len(re.findall(pattern, title))
        scores[kind] += 0.5 * weight * min(3, len(re.findall(pattern, head)))
    if title and re.search(r"印发|转发", title) and re.search(KIND_RULES["policy"][0], title):
        scores["policy"] += 4  # a notice that transmits a policy is filed as the policy
    if doc_number and scores["policy"] > 0:
        scores["policy"] += 1
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    (best, top), (_, second) = ranked[0], ranked[1]
    if top < 1.5:
        return "other", 0.3
    return best, round(min(0.95, 0.5 + (top - second) / (top + 1)), 2)


# ---------------------------------------------------------------- unit
@functools.lru_cache(maxsize=1)
def unit_patterns() -> tuple[re.Pattern, dict[str, str], dict[str, str]]:
    data = yaml.safe_load((RUBRICS_DIR / "units.yaml").read_text(encoding="utf-8"))
    names: dict[str, str] = {}
    single: dict[str, str] = {}
    for unit in data["units"]:
        for name in [unit["name"], unit["short_name"], *(unit.get("aliases") or [])]:
            if len(name) >= 2:
                names[name] = unit["code"]
            else:
                single[name] = unit["code"]  # 京/冀/粤…: only trusted as the first character of a 文号
    # Longest first, so 新疆生产建设兵团 wins over 新疆.
    alternation = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(alternation), names, single


def detect_unit(text: str, title: str | None, issuer: str | None, doc_number: str | None) -> tuple[str | None, float]:
    pattern, names, single = unit_patterns()
    scores: dict[str, float] = {}
    for m in pattern.finditer(fold(text[:200_000])):
        scores[names[m.group()]] = scores.get(names[m.group()], 0) + 1
    for part, weight in ((title, 5), (issuer, 5)):
        for m in pattern.finditer(fold(part or "")):
            scores[names[m.group()]] = scores.get(names[m.group()], 0) + weight
    if doc_number and doc_number[0] in single:
        scores[single[doc_number[0]]] = scores.get(single[doc_number[0]], 0) + 3
    if not scores:
        return None, 0.0
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    code, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0
    # One passing mention (an addressee list) does not make a document about a province.
    if top < 3 or top < 2 * second:
        return None, 0.0
    return code, round(min(0.95, top / (top + second + 2)), 2)


# ---------------------------------------------------------------- entry point
# A field longer than this is not a title (an issuer, a 文号): OCR garbage or a page's whole text in
# <title>. Bounded here because each is stored on the version and repeated on every indexed passage.
FIELD_MAX_CHARS = {"title": 200, "issuer": 100, "doc_number": 64}


def bounded(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    value = " ".join(str(value).split())
    return value[:FIELD_MAX_CHARS[name]] or None


def read_metadata(text: str, pages=None, *, hints: dict | None = None) -> Metadata:
    hints = {k: bounded(v, k) if k in FIELD_MAX_CHARS else v for k, v in (hints or {}).items()}
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    meta = Metadata()
    meta.doc_number, c_no = find_doc_number(lines)
    meta.date, c_date, date_line = pick_date(lines)
    meta.issuer, c_iss = find_issuer(lines, date_line)
    meta.title, c_title = find_title(lines, meta.doc_number)
    if hints.get("title") and c_title < 0.9:
        meta.title, c_title = hints["title"], 0.9
    if hints.get("date") and c_date < 0.9:
        m = next((p.search(hints["date"]) for p in DATE_PATTERNS if p.search(hints["date"])), None)
        iso = parse_date(m) if m else None
        if iso:
            meta.date, c_date = iso, 0.9
    if hints.get("issuer") and c_iss < 0.8:
        meta.issuer, c_iss = hints["issuer"], 0.8
    head = "\n".join(lines[:40])
    meta.kind, c_kind = classify_kind(meta.title, head, meta.doc_number)
    meta.unit_code, c_unit = detect_unit(text, meta.title, meta.issuer, meta.doc_number)
    meta.title, meta.issuer, meta.doc_number = (bounded(meta.title, "title"), bounded(meta.issuer, "issuer"),
                                                bounded(meta.doc_number, "doc_number"))
    meta.confidence = {"title": c_title, "doc_number": c_no, "issuer": c_iss, "date": c_date,
                       "kind": c_kind, "unit_code": c_unit}
    return meta
