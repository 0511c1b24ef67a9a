"""The audit log as an office worker reads it: who (their name), did what (in Chinese), to which
object (its kind and its name — a file name, a person, a unit — never a raw id), with which details
(labelled fields, unit names, Beijing time).

The stored event stays exactly as recorded; only its display is translated here, for the page
and for the CSV alike.
"""
from __future__ import annotations

from collections import defaultdict

from sqlmodel import Session, select

from evidence.audit import ACTIONS
from evidence.models import (ROLES, Assignment, Collection, Document, DocumentVersion, Rating, SavedSearch,
                             SelfAssessment, SpotCheck, User)
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
FIELD_LABELS = {
    "filename": "文件", "sha256": "文件指纹", "size": "大小", "unit": "单位", "year": "年度", "archive": "压缩包",
    "reason": "原因", "username": "用户名", "role": "角色", "home_unit": "所在单位", "active": "启用",
    "indicator": "指标", "indicator_version": "指标体系版本", "kind": "类型", "reviewer": "评审专家",
    "revision": "版次", "level": "等级", "passage": "范围", "add": "增加", "remove": "移出", "selected": "名单",
    "seed": "随机种子", "basis": "依据", "approved_at": "审批日期", "meeting": "审批会议", "override": "调整",
    "category": "类别", "from": "原为", "to": "改为", "old": "原值", "new": "新值", "lifted": "已解除",
    "created": "新建", "saved": "保存", "submitted": "已提交", "removed_assignments": "取消的任务数",
    "how": "方式", "at": "时间", "by": "操作人", "seconds": "秒数", "title": "标题", "entries": "条目数",
    "field": "字段", "value": "值", "decision": "决定", "status": "状态", "extracted": "提取值",
    "sessions_ended": "结束的登录会话数", "note": "认定说明", "score": "得分", "source": "认定方式",
    "case_title": "案例标题", "summary": "案例摘要", "section_id": "栏目", "preface": "前言",
    "entry_added": "加入条目", "entry_updated": "修改条目", "entry_deleted": "删除条目",
    "entry_restored": "恢复条目", "section_added": "新增栏目", "reordered": "调整顺序（条）", "meta": "修改标题前言",
    "deadlines": "截止事项数", "via": "途径",
    "measure": "数值项", "values": "导入数值数", "unchanged": "未变数值数", "flagged": "待核实数", "changes": "变更明细",
    "audience": "问卷对象", "units": "单位", "responses": "问卷份数", "max_responses": "份数上限", "survey": "问卷",
}
VALUE_LABELS = {
    **VERSION_LABELS,  # processing states, as the evidence pages name them
    "draft": "草稿", "submitted": "已提交", "approved": "已审批", "proposed": "已拟定", "withdrawn": "已撤回", "consensus": "合议", "independent": "独立评分",
    "confirm": "确认", "reject": "否决", "declared": "本人申报", "home": "所在单位", "pinned": "办公室指定",
    "collection": "案例汇编", "briefing": "简报", "previous_category": "上年类别", "cli": "命令行",
    **DECISION_SOURCES, **ROLES,
}
UNIT_FIELDS = {"unit", "home_unit", "add", "remove", "selected", "units"}
HIDDEN_FIELDS = {"sha256"}  # a fingerprint means nothing to a reader; the CSV keeps the raw record
# Fields that held a row's id in older records (entries are now named by their title): an id means
# nothing to a reader, so such a value is left to the CSV.
ID_VALUED = {"entry_added", "entry_updated", "entry_deleted", "entry_restored"}


def action_label(action: str) -> str:
    return ACTIONS.get(action, "其他操作")


def _document_version(session: Session, v: DocumentVersion) -> str:
    document = session.get(Document, v.document_id)
    return f"“{document.filename}”第 {v.version_no} 版" if document else ""


def _item(session: Session, row) -> str:
    return f"{unit_name(row.unit_code, short=True)} {row.year} 年度指标 {row.indicator_no}"


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
}


def object_names(session: Session, events) -> dict[tuple[str, str], str]:
    """(object type, id) → the object's name as people know it, looked up once for a page of events.
    Objects deleted since (an assignment, a saved search) have no name; their kind alone is shown."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for e in events:
        if e.object_id and e.object_id.isdigit() and int(e.object_id) < 2 ** 62:
            wanted[e.object_type].add(int(e.object_id))
    names: dict[tuple[str, str], str] = {}
    for kind, (model, name_of) in _NAMERS.items():
        if wanted.get(kind):
            for row in session.exec(select(model).where(model.id.in_(wanted[kind]))):
                names[(kind, str(row.id))] = name_of(session, row)
    return {key: name for key, name in names.items() if name}


OBJECT_LINKS = {"document": "/evidence/{id}", "collection": "/collections/{id}"}


def object_link(object_type: str, object_id: str) -> str:
    """Where the object can be opened, if anywhere (ids live in addresses, not in text)."""
    pattern = OBJECT_LINKS.get(object_type)
    return pattern.format(id=object_id) if pattern and object_id.isdigit() else ""


def object_label(object_type: str, object_id: str, names: dict[tuple[str, str], str] | None = None) -> str:
    if not object_type:
        return ""
    label = OBJECT_LABELS.get(object_type, "记录")
    if object_type == "unit" and object_id:
        return f"{label}：{unit_name(object_id, short=True)}"  # a code like ZJ means nothing to a reader
    if object_type == "round" and object_id:
        return f"{label}：{object_id} 年度"  # a round is known by its year
    name = (names or {}).get((object_type, object_id))
    return f"{label}：{name}" if name else label


def _value(key: str, value) -> str:
    if key == "passage" and not isinstance(value, (dict, list)):
        return "整份文件" if value is None else "单个段落"  # a tag decision's scope, not the passage's id
    if key == "reordered" and isinstance(value, list):
        return str(len(value))
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dict):
        return "；".join(f"{FIELD_LABELS.get(k, k)}：{_value(k, v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "、".join(_value(key, v) for v in value) or "无"
    if key in UNIT_FIELDS and isinstance(value, str):
        return unit_name(value, short=True)
    if key == "size" and isinstance(value, int):
        from review.evidence_policy import human_size
        return human_size(value)
    text = str(value)
    return VALUE_LABELS.get(text, text)


def detail_lines(detail: dict | None) -> list[tuple[str, str]]:
    """(label, value) pairs, in the order they were recorded; unknown fields keep their place
    under a neutral label rather than showing their internal name."""
    lines = []
    for key, value in (detail or {}).items():
        if key in HIDDEN_FIELDS or (key in ID_VALUED and isinstance(value, int)):
            continue
        lines.append((FIELD_LABELS.get(key, "其他"), _value(key, value)))
    return lines


def detail_text(detail: dict | None) -> str:
    return "；".join(f"{label}：{value}" for label, value in detail_lines(detail))
