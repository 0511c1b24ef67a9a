"""The audit log as an office worker reads it: who (their name), did what (in Chinese), to which
object (its kind in Chinese), with which details (labelled fields, unit names, Beijing time).

The stored event stays exactly as recorded; only its display is translated here, for the page
and for the CSV alike.
"""
from __future__ import annotations

from evidence.audit import ACTIONS
from evidence.models import ROLES
from rounds.categories import DECISION_SOURCES
from rubrics.units import unit_name

OBJECT_LABELS = {
    "document": "证据", "version": "证据版本", "user": "用户", "rating": "评分", "assignment": "评审任务",
    "conflict": "回避", "self_assessment": "自评", "spotcheck": "抽查名单", "category": "类别认定",
    "collection": "案例汇编", "round": "评价年度", "unit": "单位", "passage": "段落", "tag": "指标标注",
}
FIELD_LABELS = {
    "filename": "文件", "sha256": "文件指纹", "size": "大小", "unit": "单位", "year": "年度", "archive": "压缩包",
    "reason": "原因", "username": "用户名", "role": "角色", "home_unit": "所在单位", "active": "启用",
    "indicator": "指标", "indicator_version": "指标体系版本", "kind": "类型", "reviewer": "评审专家",
    "revision": "版次", "level": "等级", "passage": "段落", "add": "增加", "remove": "移出", "selected": "名单",
    "seed": "随机种子", "basis": "依据", "approved_at": "审批日期", "meeting": "审批会议", "override": "调整",
    "category": "类别", "from": "原为", "to": "改为", "old": "原值", "new": "新值", "lifted": "已解除",
    "created": "新建", "saved": "保存", "submitted": "已提交", "removed_assignments": "取消的任务数",
    "how": "方式", "at": "时间", "by": "操作人", "seconds": "秒数", "title": "标题", "entries": "条目数",
    "field": "字段", "value": "值", "decision": "决定", "status": "状态",
    "sessions_ended": "结束的登录会话数", "note": "认定说明", "score": "得分", "source": "认定方式",
    "case_title": "案例标题", "summary": "案例摘要", "section_id": "栏目", "preface": "前言",
    "entry_updated": "条目", "meta": "标题与前言", "via": "途径",
}
VALUE_LABELS = {
    "draft": "草稿", "submitted": "已提交", "approved": "已审批", "proposed": "已拟定", "queued": "排队中",
    "failed": "处理失败", "withdrawn": "已撤回", "consensus": "合议", "independent": "独立评分",
    "confirm": "确认", "reject": "否决", "declared": "本人申报", "home": "所在单位", "pinned": "办公室指定",
    "collection": "案例汇编", "briefing": "简报", "previous_category": "上年类别", "cli": "命令行",
    **DECISION_SOURCES, **ROLES,
}
UNIT_FIELDS = {"unit", "home_unit", "add", "remove", "selected"}
HIDDEN_FIELDS = {"sha256"}  # a fingerprint means nothing to a reader; the CSV keeps the raw record


def action_label(action: str) -> str:
    return ACTIONS.get(action, "其他操作")


def object_label(object_type: str, object_id: str) -> str:
    if not object_type:
        return ""
    label = OBJECT_LABELS.get(object_type, "记录")
    if object_type == "unit" and object_id:
        return f"{label}：{unit_name(object_id, short=True)}"  # a code like ZJ means nothing to a reader
    return f"{label}（编号 {object_id}）" if object_id else label


def _value(key: str, value) -> str:
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
        if key in HIDDEN_FIELDS:
            continue
        lines.append((FIELD_LABELS.get(key, "其他"), _value(key, value)))
    return lines


def detail_text(detail: dict | None) -> str:
    return "；".join(f"{label}：{value}" for label, value in detail_lines(detail))
