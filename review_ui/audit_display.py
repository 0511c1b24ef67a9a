"""The audit log as an office worker reads it: who (their name), did what (in Chinese), to which
object (its kind and its name — a file name, a person, a unit — never a raw id), with which details
(labelled fields, unit names, Beijing time, cited passages by file, page and quote).

The stored event stays exactly as recorded; only its display is translated here, for the page
and for the CSV alike. Every field the code records has an entry in FIELDS — its Chinese label and
how its value reads — and tests/test_audit_display.py fails on a recorded field without one.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Callable, Iterable

from sqlmodel import Session, select

from evidence.audit import ACTIONS
from evidence.models import (ROLES, Assignment, Collection, CollectionSection, Document, DocumentVersion, Passage,
                             Rating, SavedSearch, SelfAssessment, SpotCheck, Survey, User)
from evidence.states import VERSION_LABELS
from rounds.categories import DECISION_SOURCES
from rubrics.units import unit_name

OBJECT_LABELS = {
    "document": "证据", "version": "证据版本", "user": "用户", "rating": "评分", "assignment": "评审任务",
    "conflict": "回避", "self_assessment": "自评", "spotcheck": "抽查名单", "category": "类别认定",
    "collection": "案例汇编", "round": "评价年度", "unit": "单位", "passage": "段落", "tag": "指标标注",
    "saved_search": "保存的检索",
    "survey": "问卷",
}
QUOTE_CHARS = 40  # a cited passage is recognised by its first words; the CSV's raw record keeps it whole


@dataclass
class Names:
    """What the ids in a page of events stand for, looked up once: the events' objects, and the
    documents, passages and collection sections their details mention."""
    objects: dict[tuple[str, str], str] = field(default_factory=dict)
    documents: dict[int, str] = field(default_factory=dict)
    passages: dict[int, str] = field(default_factory=dict)
    sections: dict[int, str] = field(default_factory=dict)

    def get(self, key, default=None):  # the objects, as the old dict did
        return self.objects.get(key, default)


# ── how a value reads, per field ─────────────────────────────────────────────

STATUS_LABELS = {
    **VERSION_LABELS,  # processing states, as the evidence pages name them
    "draft": "草稿", "submitted": "已提交", "approved": "已审批", "proposed": "已拟定", "withdrawn": "已撤回",
    "candidate": "候选", "included": "编入",
}
KIND_LABELS = {
    "independent": "独立评分", "consensus": "合议",  # a rating
    "declared": "本人申报", "home": "所在省份", "pinned": "办公室指定",  # a conflict of interest
    "collection": "案例汇编", "briefing": "简报",  # a collection
}
HOW_LABELS = {"hand": "逐项指定", "spread": "自动均衡分配"}
VIA_LABELS = {"cli": "命令行"}
DECISION_LABELS = {"confirm": "确认", "reject": "否决"}
ROUND_SETTING_LABELS = {
    "upload_due": "证据提交截止", "self_assessment_due": "自评截止", "spotcheck_due": "抽查名单确定",
    "review_due": "抽查评估完成", "t_优秀": "优秀分数线", "t_良好": "良好分数线", "t_一般": "一般分数线",
}


def _text(value, names: Names) -> str:
    return str(value)


def _labelled(labels: dict[str, str], unknown: str = "其他") -> Callable[[object, Names], str]:
    """A value from a closed set, in Chinese; a value the table does not know is not shown as a code."""
    return lambda value, names: labels.get(str(value), unknown)


def _unit(value, names: Names) -> str:
    return unit_name(str(value), short=True)


def _units(value, names: Names) -> str:
    if isinstance(value, str):
        return _unit(value, names)
    return "、".join(_unit(v, names) for v in value) or "无"


def _size(value, names: Names) -> str:
    from review.evidence_policy import human_size
    return human_size(value) if isinstance(value, int) else str(value)


def _day(value, names: Names) -> str:
    try:
        day = date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return f"{day.year}年{day.month}月{day.day}日"


def _number(value, names: Names) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def _count(value, names: Names) -> str:
    return str(len(value)) if isinstance(value, (list, tuple)) else str(value)


def _scope(value, names: Names) -> str:
    return "整份文件" if value is None else "单个段落"  # a tag decision's scope, not the passage's id


def _passage(value, names: Names) -> str:
    return names.passages.get(value, "（段落已不存在）") if isinstance(value, int) else "—"


def _section(value, names: Names) -> str:
    if value is None:
        return "未分栏目"
    return f"“{names.sections[value]}”" if value in names.sections else "（栏目已删除）"


def cited(document: str, page, quote: str) -> str:
    """A cited passage as people recognise it: 文件名·第N页“引文…”."""
    quote = " ".join((quote or "").split())
    short = quote[:QUOTE_CHARS] + ("…" if len(quote) > QUOTE_CHARS else "")
    where = f"·第{page}页" if page else ""
    return f"{document}{where}“{short}”"


def _links(value, names: Names) -> str:
    if not value:
        return "无"
    return "；".join(cited(names.documents.get(link.get("document_id"), "（文件已不存在）"), link.get("page"),
                          link.get("quote", "")) for link in value)


def _measured(value, names: Names) -> str:
    """A statistic as recorded: [本年值, 基期值(, 来源)], or a category name (a category's from/to)."""
    if not isinstance(value, (list, tuple)):
        return str(value)
    parts = [f"本年值 {_plain(value[0])}"]
    if len(value) > 1 and value[1] is not None:
        parts.append(f"基期值 {_plain(value[1])}")
    if len(value) > 2 and value[2]:
        parts.append(f"来源 {value[2]}")
    return "，".join(parts)


def _plain(number) -> str:
    return "—" if number is None else _number(number, Names())


def _settings(value, names: Names) -> str:
    return "；".join(f"{ROUND_SETTING_LABELS.get(k, '其他')}：{_day(v, names) if k.endswith('_due') and v else (v or '—')}"
                    for k, v in value.items())


@dataclass(frozen=True)
class Field:
    label: str
    show: Callable[[object, Names], str] = _text
    keep_empty: bool = False  # an empty value that means something (“原为 —”: there was none before)


FIELDS: dict[str, Field] = {
    # files and evidence
    "filename": Field("文件"), "size": Field("大小", _size), "archive": Field("压缩包"),
    "passage": Field("范围", _scope, keep_empty=True), "linked_passage": Field("关联证据", _passage),
    "field": Field("字段"), "extracted": Field("提取值", keep_empty=True), "decision": Field("决定", _labelled(DECISION_LABELS)),
    # people and accounts
    "username": Field("用户名"), "role": Field("角色", _labelled(ROLES)), "unit": Field("单位", _unit),
    "home_unit": Field("所在省份（回避）", _unit), "active": Field("启用"), "reviewer": Field("评审专家"),
    "sessions_ended": Field("结束的登录会话数"), "seconds": Field("等待秒数"), "via": Field("途径", _labelled(VIA_LABELS)),
    "deadlines": Field("截止事项数"),
    # the round
    "year": Field("年度"), "indicator": Field("指标"), "indicator_version": Field("指标体系版本"),
    "kind": Field("类型", _labelled(KIND_LABELS)), "status": Field("状态", _labelled(STATUS_LABELS)),
    "revision": Field("版次"), "how": Field("方式", _labelled(HOW_LABELS)), "lifted": Field("已解除"),
    "removed_assignments": Field("取消的评审任务数"), "reason": Field("原因"),
    "level_value": Field("档次"), "rationale": Field("理由"), "links": Field("引用证据", _links, keep_empty=True),
    "created": Field("新建"), "saved": Field("保存"), "submitted": Field("已提交"),
    "closed": Field("结束本年度评价"), "reopened": Field("重新开放"),
    "add": Field("增加", _units), "remove": Field("移出", _units), "selected": Field("名单", _units),
    "seed": Field("随机种子"), "override": Field("调整"), "approved_at": Field("审批日期", _day),
    "meeting": Field("审批会议"), "units": Field("单位", _units),
    "category": Field("类别"), "basis": Field("依据"), "source": Field("认定方式", _labelled(DECISION_SOURCES)),
    "score": Field("得分", _number), "note": Field("认定说明"), "settings": Field("设置", _settings),
    "from": Field("原为", _measured, keep_empty=True), "to": Field("改为", _measured),
    "old": Field("原值", keep_empty=True), "new": Field("新值", keep_empty=True),
    # statistics and surveys
    "measure": Field("数值项"), "value": Field("核实的数值", _measured), "values": Field("导入数值数"),
    "unchanged": Field("未变数值数"), "flagged": Field("待核实数"), "changes": Field("变更明细"),
    "audience": Field("问卷对象"), "responses": Field("问卷份数"), "max_responses": Field("每份问卷份数上限"),
    # collections
    "title": Field("标题"), "preface": Field("前言"), "case_title": Field("案例标题"), "summary": Field("案例摘要"),
    "section_id": Field("栏目", _section, keep_empty=True),
    "entry_added": Field("加入条目"), "entry_updated": Field("修改条目"), "entry_deleted": Field("删除条目"),
    "entry_restored": Field("恢复条目"), "section_added": Field("新增栏目"), "reordered": Field("调整顺序（条）", _count),
    "meta": Field("修改标题或前言"), "entries": Field("条目数"),
}
HIDDEN_FIELDS = {"sha256"}  # a fingerprint means nothing to a reader; the CSV keeps the raw record
# Fields that held a row's id in older records (entries are now named by their title): an id means
# nothing to a reader, so such a value is left to the CSV.
ID_VALUED = {"entry_added", "entry_updated", "entry_deleted", "entry_restored"}
# The parts of a cited passage (a rating's links): shown together by `cited`, never one by one.
LINK_PARTS = {"passage_id", "document_id", "page", "start", "end", "quote"}


def action_label(action: str) -> str:
    return ACTIONS.get(action, "其他操作")


def _document_version(session: Session, v: DocumentVersion) -> str:
    document = session.get(Document, v.document_id)
    return f"“{document.filename}”第 {v.version_no} 版" if document else ""


def _item(session: Session, row) -> str:
    return f"{unit_name(row.unit_code, short=True)} {row.year} 年度指标 {row.indicator_no}"


def _survey(session: Session, s: Survey) -> str:
    from rounds.surveys import audience_name
    return f"{unit_name(s.unit_code, short=True)} {s.year} 年度{audience_name(s.audience)}"


# object type → (its table, how a person names a row of it)
_NAMERS = {
    "document": (Document, lambda session, d: f"“{d.filename}”"),
    "version": (DocumentVersion, _document_version),
    "user": (User, lambda session, u: u.display_name or u.username),
    "collection": (Collection, lambda session, c: f"《{c.title}》"),
    "rating": (Rating, _item),
    "assignment": (Assignment, _item),
    "self_assessment": (SelfAssessment, lambda session, sa: f"{unit_name(sa.unit_code, short=True)} {sa.year} 年度"),
    "spotcheck": (SpotCheck, lambda session, sc: f"{sc.year} 年度"),
    "saved_search": (SavedSearch, lambda session, s: f"“{s.name}”"),
    "survey": (Survey, _survey),
}


def _row_id(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 < value < 2 ** 62:
        return value
    if isinstance(value, str) and value.isdigit() and int(value) < 2 ** 62:
        return int(value)
    return None


def _mentioned(detail, wanted: dict[str, set[int]]) -> None:
    """The ids a detail mentions (at any depth), by what they are ids of."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            kind = {"document_id": "document", "passage_id": "passage", "linked_passage": "passage",
                    "section_id": "section"}.get(key)
            if kind and _row_id(value):
                wanted[kind].add(_row_id(value))
            else:
                _mentioned(value, wanted)
    elif isinstance(detail, (list, tuple)):
        for value in detail:
            _mentioned(value, wanted)


def object_names(session: Session, events: Iterable) -> Names:
    """What every id in a page of events stands for, looked up once. Objects deleted since (an
    assignment, a saved search) have no name; their kind alone is shown."""
    wanted: dict[str, set[int]] = defaultdict(set)
    mentioned: dict[str, set[int]] = defaultdict(set)
    for e in events:
        if _row_id(e.object_id):
            wanted[e.object_type].add(_row_id(e.object_id))
        _mentioned(e.detail, mentioned)
    names = Names()
    for kind, (model, name_of) in _NAMERS.items():
        if wanted.get(kind):
            for row in session.exec(select(model).where(model.id.in_(wanted[kind]))):
                name = name_of(session, row)
                if name:
                    names.objects[(kind, str(row.id))] = name
    if mentioned["passage"]:
        for passage, document in session.exec(
                select(Passage, Document).join(DocumentVersion, DocumentVersion.id == Passage.version_id)
                .join(Document, Document.id == DocumentVersion.document_id)
                .where(Passage.id.in_(mentioned["passage"]))):
            names.passages[passage.id] = cited(document.filename, passage.page_no, passage.text)
    if mentioned["document"]:
        names.documents = {d.id: d.filename for d in session.exec(
            select(Document).where(Document.id.in_(mentioned["document"])))}
    if mentioned["section"]:
        names.sections = {s.id: s.title for s in session.exec(
            select(CollectionSection).where(CollectionSection.id.in_(mentioned["section"])))}
    return names


OBJECT_LINKS = {"document": "/evidence/{id}", "collection": "/collections/{id}"}


def object_link(object_type: str, object_id: str) -> str:
    """Where the object can be opened, if anywhere (ids live in addresses, not in text)."""
    pattern = OBJECT_LINKS.get(object_type)
    return pattern.format(id=object_id) if pattern and object_id.isdigit() else ""


def object_label(object_type: str, object_id: str, names: Names | dict | None = None) -> str:
    if not object_type:
        return ""
    label = OBJECT_LABELS.get(object_type, "记录")
    if object_type == "unit" and object_id:
        return f"{label}：{unit_name(object_id, short=True)}"  # a code like ZJ means nothing to a reader
    if object_type == "round" and object_id:
        return f"{label}：{object_id} 年度"  # a round is known by its year
    name = (names or {}).get((object_type, object_id))
    return f"{label}：{name}" if name else label


def _is_empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _value(key: str, value, names: Names) -> str:
    spec = FIELDS.get(key)
    if spec is None:
        return "（未能显示，见导出表格的原始记录）"
    if spec.show is _scope:
        return _scope(value, names)
    if _is_empty(value):
        return "—" if spec.keep_empty else "无"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dict) and spec.show in (_text,):
        return "；".join(f"{label}：{text}" for label, text in _lines(value, names))
    if isinstance(value, (list, tuple)) and spec.show is _text:
        return "、".join(_value(key, v, names) for v in value) or "无"
    return spec.show(value, names)


def _lines(detail: dict, names: Names, *, against: dict | None = None) -> list[tuple[str, str]]:
    lines = []
    for key, value in detail.items():
        if key in HIDDEN_FIELDS or key in LINK_PARTS or (key in ID_VALUED and isinstance(value, int)):
            continue
        if against is not None and against.get(key) == value:
            continue  # an edit shows what changed, not the whole record again
        spec = FIELDS.get(key)
        if spec is not None and _is_empty(value) and not spec.keep_empty:
            continue  # an optional field left empty (no archive, no home province) says nothing
        lines.append((spec.label if spec else "其他", _value(key, value, names)))
    return lines


def detail_lines(detail: dict | None, names: Names | None = None) -> list[tuple[str, str]]:
    """(label, value) pairs, in the order they were recorded. An edit's old and new records show only
    the fields that changed; a field without an entry in FIELDS keeps its place under a neutral label
    rather than showing its internal name or value."""
    names = names if isinstance(names, Names) else Names()
    detail = detail or {}
    old, new = detail.get("old"), detail.get("new")
    if isinstance(old, dict) and isinstance(new, dict):
        changed = {k: old.get(k) for k in new if old.get(k) != new.get(k)}
        detail = {**detail, "old": changed, "new": {k: new[k] for k in changed}}
    return _lines(detail, names)


def detail_text(detail: dict | None, names: Names | None = None) -> str:
    return "；".join(f"{label}：{value}" for label, value in detail_lines(detail, names))
