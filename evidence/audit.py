"""The append-only audit log: who did what, when, and what changed."""
from __future__ import annotations

from typing import Any, Optional

from sqlmodel import Session

from evidence.models import AuditEvent, User

ACTIONS = {
    "login": "登录", "login_failed": "登录失败", "logout": "退出",
    "upload": "上传证据", "withdraw": "撤回证据", "retry": "重新处理",
    "tag_confirm": "确认指标标注", "tag_reject": "否决指标标注", "tagger_retrain": "重新训练自动标引模型",
    "rating_save": "保存评分草稿", "rating_submit": "提交评分", "rating_consensus": "记录合议结论",
    "assign": "分配评审任务", "unassign": "取消评审任务", "conflict": "登记回避",
    "user_add": "新增用户", "user_update": "修改用户",
    "self_assessment": "自评", "self_reopen": "退回自评",
    "spotcheck": "抽查名单", "category": "类别认定",
    "collection": "案例汇编", "round": "评价年度", "statistic": "更正统计数值",
}


def record(session: Session, action: str, *, user: Optional[User] = None, object_type: str = "",
           object_id: Any = "", detail: dict | None = None, ip: str = "") -> AuditEvent:
    event = AuditEvent(
        user_id=user.id if user else None,
        username=user.username if user else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        detail=detail or {},
        ip=ip,
    )
    session.add(event)
    return event
