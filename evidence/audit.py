"""The append-only audit log: who did what, when, from where, and what changed.

Where an action came from is set once per request (or command) in `actor_ip`, not passed
through every service: the web app sets it to the client's address for each request
(review_ui/sessions.py), the CLI to COMMAND_LINE. Every `record` takes it from there, so a
rating, a tag decision or a collection edit carries the address as a login does.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator, Optional

from sqlmodel import Session

from evidence.models import AuditEvent, User

COMMAND_LINE = "本机命令行"
actor_ip: ContextVar[str] = ContextVar("kaoping_actor_ip", default="")

ACTIONS = {
    "login": "登录", "login_failed": "登录失败", "login_throttled": "登录受限", "logout": "退出",
    "session_revoked": "结束登录会话",
    "upload": "上传证据", "upload_refused": "拒收文件", "withdraw": "撤回证据", "retry": "重新处理",
    "tag_confirm": "确认指标标注", "tag_reject": "否决指标标注", "tagger_retrain": "重新训练自动标引模型",
    "rating_save": "保存评分草稿", "rating_submit": "提交评分", "rating_consensus": "记录合议结论",
    "assign": "分配评审任务", "unassign": "取消评审任务", "conflict": "登记回避",
    "user_add": "新增用户", "user_update": "修改用户", "password_change": "修改密码",
    "password_change_failed": "修改密码失败",
    "self_assessment": "自评", "self_reopen": "退回自评",
    "spotcheck": "抽查名单", "category": "类别认定",
    "collection": "案例汇编", "round": "评价年度", "statistic": "更正统计数值",
    "metadata": "更正文件信息", "saved_search": "保存检索", "saved_search_delete": "删除保存的检索",
    "remind": "发送截止提醒",
    "statistic_import": "导入统计数据", "statistic_confirm": "核实统计数值",
    "survey_publish": "发布问卷", "survey_close": "关闭问卷", "survey_reopen": "重新开放问卷", "survey_import": "导入问卷",
    "survey_review": "核定问卷答卷",
}


@contextmanager
def acting_from(where: str) -> Iterator[None]:
    """Every record made inside this block says it came from `where` (an address, or COMMAND_LINE)."""
    token = actor_ip.set(where)
    try:
        yield
    finally:
        actor_ip.reset(token)


def record(session: Session, action: str, *, user: Optional[User] = None, object_type: str = "",
           object_id: Any = "", detail: dict | None = None, ip: str = "") -> AuditEvent:
    event = AuditEvent(
        user_id=user.id if user else None,
        username=user.username if user else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        detail=detail or {},
        ip=ip or actor_ip.get(),
    )
    session.add(event)
    return event
