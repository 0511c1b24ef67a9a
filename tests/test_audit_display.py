"""The audit log reads in Chinese for every action and every detail the code records: labelled
fields, translated values, cited passages by file, page and quote — never an internal field name,
an untranslated value or a raw id.

Two checks: the code's own audit calls (read from the source, so a new field fails here until it
has a label), and real events made through the services and the web, shown on /admin/audit and in
the CSV's 详情 column.
"""
from __future__ import annotations

import ast
import csv
import io
import re
from pathlib import Path

import pytest
from sqlmodel import select

from evidence.audit import ACTIONS
from readable import readable_problems
from round_support import add_round

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("evidence", "review", "rounds", "ingest", "casebook", "review_ui", "index", "tagging", "reports")
# Functions whose returned dict is recorded as an audit detail (an edit's old/new, a snapshot).
DETAIL_BUILDERS = {("review/ratings.py", "snapshot"), ("rounds/workflow.py", "_decision_fields"),
                   ("casebook/collections.py", "_entry_fields"), ("evidence/accounts.py", "set_role")}


def _sources():
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"))


def _called(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _dict_keys(node) -> set[str]:
    keys = set()
    for sub in ast.walk(node) if node is not None else ():
        if isinstance(sub, ast.Dict):
            keys |= {k.value for k in sub.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    return keys


def _strings(node) -> set[str]:
    """The strings an expression can be: a constant, either branch of a conditional, an f-string's prefix."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _strings(node.body) | _strings(node.orelse)
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return {node.values[0].value}
    return set()


def recorded_actions_and_keys() -> tuple[set[str], set[str]]:
    """Every action name passed to audit `record`, and every key of every dict recorded as a detail
    (in the call, in a collection's `touch`, or built by a DETAIL_BUILDERS function)."""
    actions, keys = set(), set()
    for path, tree in _sources():
        relative = path.relative_to(REPO).as_posix()
        for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            if (relative, function.name) in DETAIL_BUILDERS:
                for ret in (n for n in ast.walk(function) if isinstance(n, ast.Return)):
                    keys |= _dict_keys(ret.value)
            # an action held in a variable: the strings assigned to it in the same function
            assigned = {t.id: n.value for n in ast.walk(function) if isinstance(n, ast.Assign)
                        for t in n.targets if isinstance(t, ast.Name)}
            for node in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
                if _called(node) != "record" or len(node.args) < 2:
                    continue
                action = node.args[1]
                action = assigned.get(action.id, action) if isinstance(action, ast.Name) else action
                actions |= _strings(action)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _called(node)
            if name == "record" and node.args:
                for kw in node.keywords:
                    if kw.arg == "detail":
                        keys |= _dict_keys(kw.value)
            if name == "touch" and relative.startswith("casebook/") and len(node.args) >= 5:
                keys |= _dict_keys(node.args[4])
    return actions, keys


def test_every_recorded_action_and_detail_field_has_a_chinese_label():
    from review_ui.audit_display import FIELDS, HIDDEN_FIELDS, LINK_PARTS, ROUND_SETTING_LABELS
    actions, keys = recorded_actions_and_keys()
    # the tag decisions' action is built from the decision: tag_confirm, tag_reject
    actions = {a for a in actions if a not in ("tag_",)} | {"tag_confirm", "tag_reject"}
    assert "rating_submit" in actions and "level_value" in keys and "quote" in keys  # the scan sees the code
    assert actions - set(ACTIONS) == set(), "操作没有中文名称"
    assert keys - set(FIELDS) - HIDDEN_FIELDS - LINK_PARTS == set(), "详情字段没有中文名称"
    assert all(re.search(r"[\u4e00-\u9fff]", f.label) for f in FIELDS.values())
    # the round settings form's fields, recorded as they were posted
    form = (REPO / "templates/rounds/dashboard.html").read_text(encoding="utf-8")
    posted = set(re.findall(r'name="((?:t_)?[a-z_]+)"', form)) - {"csrf_token", "note", "reason"}
    posted |= {f"t_{c}" for c in ("优秀", "良好", "一般")}
    assert posted - {k for k in posted if k.startswith("adj_")} <= set(ROUND_SETTING_LABELS)


def test_values_are_translated_per_field_not_everywhere():
    from review_ui.audit_display import detail_text
    # a login name that is also a role's code stays the login name
    assert detail_text({"username": "office"}) == "用户名：office"
    assert detail_text({"role": "office"}) == "角色：协调小组办公室"
    assert detail_text({"how": "hand"}) == "方式：逐项指定" and detail_text({"how": "spread"}) == "方式：自动均衡分配"
    assert detail_text({"kind": "independent"}) == "类型：独立评分"
    # an empty optional field says nothing; an unknown field or value shows no internal name
    assert detail_text({"username": "gd1", "home_unit": None}) == "用户名：gd1"
    assert "mystery" not in detail_text({"mystery": "x"}) and "weird" not in detail_text({"how": "weird"})
    assert detail_text({"from": [12, 10, "统计导入"], "to": [15, 10]}) == \
        "原为：本年值 12，基期值 10，来源 统计导入；改为：本年值 15，基期值 10"
    assert detail_text({"approved_at": "2026-03-01"}) == "审批日期：2026年3月1日"


YEAR = 2023
TEXT = ("江苏省总工会关于建设工匠学院的通知\n\n苏工发〔2023〕12号\n\n"
        "为深化产业工人队伍建设改革，省总工会决定在全省建设工匠学院，培养高技能人才。\n\n"
        "二、各地要把工匠学院纳入当地国民经济和社会发展规划，建立专门经费保障。")


@pytest.fixture
def events(settings, make_user, login, add_evidence, db_session):
    """Real events of many kinds: through the web (logins, a new user, an assignment, a conflict that
    cancels it, round settings) and through the services (a rating citing passages, a self-assessment
    link, collection edits with a section)."""
    from casebook import collections as C
    from evidence.models import Document, Passage, User
    from review import ratings as R
    from rounds import workflow as W
    add_round(settings, YEAR)
    make_user("office", "office")
    make_user("js", "province", unit="JS")
    make_user("reviewer1", "reviewer", home="ZJ")
    office = login("office")
    login("js")
    doc_id = add_evidence("JS", "工匠学院通知.txt", TEXT)
    s = db_session
    users = {u.username: u for u in s.exec(select(User))}
    document = s.get(Document, doc_id)
    passages = list(s.exec(select(Passage).where(Passage.version_id == document.current_version_id)))
    office.post("/admin/users", data={"csrf_token": office.csrf, "username": "gd1", "display_name": "广东省产改办",
                                      "password": "Lingnan-evidence-77", "role": "province", "unit": "GD"})
    office.post("/admin/assignments", data={"csrf_token": office.csrf, "year": YEAR,
                                            "reviewer_id": users["reviewer1"].id, "unit": "JS", "indicators": "1"})
    rating = R.save_rating(s, users["reviewer1"], YEAR, "JS", 1, level_value=4, rationale="规划纲要有专门段落",
                           link_specs=[f"{p.id}:{p.start}:{p.end}" for p in passages[:2]], base_revision=0,
                           submit=True)
    s.commit()
    W.link_self_evidence(s, users["js"], YEAR, 1, passages[0].id)
    c = C.create_collection(s, users["office"], "工匠学院建设经验汇编", YEAR)
    section = C.add_section(s, users["office"], c, "人才培养")
    entry = C.add_passage(s, users["office"], c, passages[0].id)
    C.save_editor(s, users["office"], c, c.revision, entries=[C.EntryEdit(entry.id, summary="按语", section_id=section.id)])
    s.commit()
    office.post("/admin/conflicts", data={"csrf_token": office.csrf, "reviewer_id": users["reviewer1"].id,
                                          "unit": "JS", "reason": "曾在江苏挂职"})
    office.post(f"/rounds/{YEAR}/settings", data={"csrf_token": office.csrf, "upload_due": "2099-01-31",
                                                  "self_assessment_due": "2099-02-28", "t_优秀": "90", "t_良好": "75",
                                                  "t_一般": "60"})
    return {"office": office, "rating": rating.id, "passages": passages}


def test_every_event_reads_without_codes_or_ids_on_the_page_and_in_the_csv(events):
    office = events["office"]
    page = office.get("/admin/audit").text
    cells = re.findall(r'<td class="audit-detail">(.*?)</td>', page, re.S)
    assert len(cells) >= 10
    plain = [" ".join(re.sub(r"<[^>]+>", " ", cell).replace("&#34;", '"').replace("&#39;", "'").split())
             for cell in cells]
    problems = [p for cell in plain for p in readable_problems(cell, ("office", "reviewer1", "js", "gd1"))]
    assert problems == []
    joined = "\n".join(plain)
    for word in ("level_value", "rationale", "passage_id", "document_id", "links", "quote", "hand", "section_id"):
        assert word not in joined
    # a rating names its level, its reason and the passages it cites by file, page and quote
    assert "档次：4" in joined and "理由：规划纲要有专门段落" in joined and "状态：已提交" in joined
    assert "工匠学院通知.txt·第1页“江苏省总工会关于建设工匠学院的通知" in joined
    assert "方式 逐项指定" in joined and "用户名 office" in joined
    assert "所在单位" not in joined and "栏目：“人才培养”" in joined
    assert "关联证据 工匠学院通知.txt·第1页" in joined
    assert "证据提交截止：2099年1月31日" in joined
    rows = list(csv.reader(io.StringIO(office.get("/admin/audit.csv").content.decode("utf-8-sig"))))
    assert rows[0][-1] == "IP地址"
    details = [row[7] for row in rows[1:]]
    assert any("档次：4" in d and "工匠学院通知.txt·第1页" in d for d in details)
    assert [p for d in details for p in readable_problems(d, ("office", "reviewer1", "js", "gd1"))] == []
