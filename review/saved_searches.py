"""Saved searches: a person's own named searches (words and filters), one click from the search page
and the 工作台. Each belongs to one user and is shown to nobody else; running one goes through the
search page, so the searcher's current permissions apply, not those of the day it was saved."""
from __future__ import annotations

from urllib.parse import urlencode

from sqlmodel import Session, func, select

from evidence import audit
from evidence.models import SavedSearch, User

PARAMS = ("q", "unit", "year", "kind", "indicator", "sort")  # what /search takes
FILTERS = ("unit", "year", "kind", "indicator")
MAX_NAME = 60
MAX_PER_USER = 50


class SavedSearchError(ValueError):
    pass


def saved_searches(session: Session, user: User) -> list[SavedSearch]:
    return list(session.exec(select(SavedSearch).where(SavedSearch.user_id == user.id)
                             .order_by(SavedSearch.created_at.desc(), SavedSearch.id.desc())))


def clean_params(params: dict) -> dict[str, str]:
    """The search's own parameters, as text; anything else a form carries is dropped."""
    cleaned = {key: " ".join(str(params.get(key) or "").split())[:500] for key in PARAMS}
    if cleaned["sort"] == "relevance":
        cleaned["sort"] = ""  # the default says nothing
    return {key: value for key, value in cleaned.items() if value}


def save_search(session: Session, user: User, name: str, params: dict, ip: str = "") -> SavedSearch:
    name = " ".join((name or "").split())
    if not name:
        raise SavedSearchError("请给这次检索起个名字，例如“江苏 工匠学院”。")
    if len(name) > MAX_NAME:
        raise SavedSearchError(f"名称最多 {MAX_NAME} 个字。")
    cleaned = clean_params(params)
    if not (cleaned.get("q") or any(cleaned.get(key) for key in FILTERS)):
        raise SavedSearchError("请先输入检索词或选择筛选条件，再保存。")
    if session.exec(select(SavedSearch).where(SavedSearch.user_id == user.id, SavedSearch.name == name)).first():
        raise SavedSearchError(f"已有名为“{name}”的检索，请换一个名称，或先删除原来的。")
    count = session.exec(select(func.count(SavedSearch.id)).where(SavedSearch.user_id == user.id)).one()
    if count >= MAX_PER_USER:
        raise SavedSearchError(f"最多保存 {MAX_PER_USER} 个检索，请先删除不再需要的。")
    saved = SavedSearch(user_id=user.id, name=name, params=cleaned)
    session.add(saved)
    session.flush()
    audit.record(session, "saved_search", user=user, object_type="saved_search", object_id=saved.id, ip=ip,
                 detail={"title": name})
    return saved


def delete_search(session: Session, user: User, search_id: int, ip: str = "") -> SavedSearch:
    """Only its owner may delete it; another user's search is "not found", like a missing one."""
    saved = session.get(SavedSearch, search_id) if 0 < search_id < 2 ** 62 else None
    if saved is None or saved.user_id != user.id:
        raise SavedSearchError("该检索不存在或已删除。")
    session.delete(saved)
    audit.record(session, "saved_search_delete", user=user, object_type="saved_search", object_id=search_id, ip=ip,
                 detail={"title": saved.name})
    return saved


def search_url(saved: SavedSearch) -> str:
    return "/search?" + urlencode({key: saved.params[key] for key in PARAMS if saved.params.get(key)})
