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


def test_a_central_media_report_on_the_reform_is_media_evidence_by_its_own_source_line():
    report = "来源：工人日报  2024-05-06\n\n本报讯 某省推进产业工人队伍建设改革，今年以来新建职工学校3所。"
    assert 88 in suggested(report)
    not_reform = "来源：工人日报  2024-05-06\n\n本报讯 某市举办职工篮球赛，参赛队伍16支。"
    assert 88 not in suggested(not_reform)
    provincial = "来源：某某省日报  2024-05-06\n\n本报讯 某省推进产业工人队伍建设改革，今年以来新建职工学校3所。"
    assert 88 not in suggested(provincial)


def test_commentary_that_reports_nothing_gets_at_most_one_suggestion():
    calls = ["要坚持以党建为引领，加强产业工人队伍思想政治工作，提高产业工人党员比例。",
             "要健全职工代表大会制度，推动民主管理制度落到实处。",
             "应当拓宽产业工人参政议政渠道，支持优秀产业工人在群团组织挂职兼职。",
             "必须在劳动模范评选中增加一线产业工人名额比例。",
             "要组织开展技能竞赛，畅通技能人才成长通道。",
             "要关注产业工人思想动态，及时回应利益诉求。",
             "加强职业技能培训，完善技能人才评价制度。",
             "要弘扬劳模精神、劳动精神、工匠精神，营造尊重劳动的社会氛围。"]
    article = "强化产业工人队伍思想政治引领\n\n" + "\n\n".join(calls)
    assert len(tag_text(article).indicators) <= 1


def test_anonymisation_marks_read_as_a_name_and_map_back_to_the_original():
    from tagging.normalize import matching_copy
    original = "XX市委副书记**主持召开××县产改推进会，XXL尺码不变"
    copy = matching_copy(original)
    assert copy.text == "某市委副书记某主持召开某县产改推进会，XXL尺码不变"
    at = copy.text.index("某县")
    s, e = copy.span_to_original(at, at + 2)
    assert original[s:e] == "××县"


def test_naming_competitions_several_ways_is_still_one_mention():
    text = HEAD + "工会围绕产业工人队伍建设改革，把劳动竞赛、技能大赛、岗位比武作为提升技能的重要抓手。"
    assert 47 not in suggested(text)


def test_an_abbreviation_and_its_full_form_are_one_mention():
    text = HEAD + "本办法所称职工董事，由职工代表大会（以下简称职代会）选举产生。"
    assert 67 not in suggested(text)


def test_a_call_to_act_is_halved_but_the_same_act_reported_counts():
    call = HEAD + "会议要求，各地要成立推进产业工人队伍建设改革协调小组。"
    done = HEAD + "2023年3月，市委成立推进产业工人队伍建设改革协调小组，由市委副书记任组长。"
    assert 7 not in suggested(call)
    assert 7 in suggested(done)


def test_a_reform_meeting_counts_however_its_name_is_put_together():
    text = "某市产业工人队伍建设改革协调推进会召开\n\n9月10日，某市推进产业工人队伍建设改革协调推进会召开，各单位交流了工作经验。"
    assert 14 in suggested(text)


def test_a_statistics_table_of_measured_values_is_read_not_dropped_as_a_menu():
    from tagging.prepare import is_site_chrome
    row = "| 制造业 | 152.14 | 197.82 | 238.99 |"
    assert not is_site_chrome(row) and is_site_chrome("上一页 | 1 | 2 | 3 | 4 | 下一页")
    table = "| 按行业分城镇单位在岗职工人数 | | |\n| 单位:万人 | | |\n" + row + "\n| 采矿业 | 3.49 | 4.14 | 4.69 |"
    assert 55 in suggested(table)


def test_a_year_without_its_own_indicator_file_is_tagged_with_the_system_in_force():
    """The tagger's indicators for a year follow rubrics.system_in_force (the one rule), not "all rules"."""
    from rubrics.indicators import system_in_force
    from tagging.tagger import _year_indicators
    assert _year_indicators(2031) == {ind.no for ind in system_in_force(2031).indicators}
    assert _year_indicators(None) is None
