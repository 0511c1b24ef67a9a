"""Rules read evidence the way the labelling rules do: facts and events count, mentions do not."""
from __future__ import annotations

from tagging import tag_text

HEAD = "某市推进产业工人队伍建设改革工作会议召开\n\n"


def suggested(text: str) -> set[int]:
    return {s.no for s in tag_text(text).indicators}


def test_a_party_leader_chairing_a_reform_meeting_is_leadership_attention():
    text = HEAD + "3月2日，某市推进产业工人队伍建设改革工作会议召开，县委副书记王某主持会议并讲话。"
    assert 4 in suggested(text)


def test_a_union_leader_alone_is_not_leadership_attention():
    text = HEAD + "3月2日，某市推进产业工人队伍建设改革工作会议召开，市总工会主席王某主持会议并讲话。"
    assert 4 not in suggested(text)


def test_a_reform_implementation_plan_issued_evidences_the_policy_system():
    text = HEAD + "今年5月，市委办公室印发《关于深化新时代产业工人队伍建设改革的实施意见》，明确12项重点任务。"
    assert {2, 3} <= suggested(text)


def test_a_competition_named_in_a_task_list_is_a_mention_but_one_held_is_evidence():
    mention = HEAD + "工会围绕产业工人队伍建设改革，在思想引领、技能竞赛、权益维护等方面持续用力，推动改革走深走实。"
    held = HEAD + "今年以来，市总工会举办全市职工职业技能竞赛12场，参赛职工3000余人。"
    assert 47 not in suggested(mention)
    assert 47 in suggested(held)


def test_a_studio_visited_is_a_mention_but_studios_built_are_evidence():
    visited = HEAD + "调研组一行参观了企业生产车间和劳模创新工作室，听取产业工人队伍建设改革工作汇报。"
    built = HEAD + "全市已建成劳模和工匠人才创新工作室56家，其中省级12家。"
    assert 41 not in suggested(visited)
    assert 41 in suggested(built)


def test_a_rule_never_matches_across_two_passages():
    # 《 in one passage and 》 in the next must not make one quotation
    text = HEAD + "会议强调，要深化《产业工人\n\n队伍建设改革，印发实施方案》。"
    result = tag_text(text)
    for s in result.ranked():
        for p in s.passages:
            assert p.text in text
