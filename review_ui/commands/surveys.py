"""`kaoping survey`: publish and close the satisfaction surveys, hand out their links, import responses
gathered elsewhere, and read the index per unit — the same services as the office's web pages."""
from __future__ import annotations

import json
from pathlib import Path

import click
from sqlmodel import select

from rubrics.questionnaires import AUDIENCES

from .core import KaopingError, require_initialised
from .statistics import acting_office, commit_or_report, read_file, write_atomically

AUDIENCE = click.Choice(AUDIENCES)


@click.group()
def survey() -> None:
    """满意度问卷（指标83–85）：发布、链接、关闭、导入、结果。"""


def _session(ctx):
    from evidence.db import session_scope
    return session_scope(require_initialised(ctx).database_url)


def _link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/s/{token}"


@survey.command("publish")
@click.option("--year", required=True, type=int)
@click.option("--unit", "units", multiple=True, help="单位代码（可重复；不写为全部单位）")
@click.option("--audience", "audiences", multiple=True, type=AUDIENCE, help="问卷对象（可重复；不写为全部三类）")
@click.option("--max", "max_responses", type=int, default=None, help="每份问卷最多接收的份数")
@click.option("--user", "username", required=True, help="以哪个办公室账号发布（记入审计日志）")
@click.option("--base-url", default="http://127.0.0.1:8000", show_default=True, help="网站地址，用于打印链接")
@click.pass_context
def publish(ctx, year, units, audiences, max_responses, username, base_url) -> None:
    """为各单位发布问卷，每份问卷一个不可猜测的填写链接。"""
    from rounds import surveys as S
    with _session(ctx) as session:
        user = acting_office(session, username)
        published = commit_or_report(session, lambda: S.publish(
            session, user, year, units=[u.upper() for u in units] or None, audiences=list(audiences) or None,
            max_responses=max_responses or S.DEFAULT_MAX_RESPONSES))
        click.echo(published.message())
        for s in published.created:
            click.echo(f"  {s.unit_code} {S.audience_name(s.audience)}：{_link(base_url, s.token)}")


@survey.command("links")
@click.option("--year", required=True, type=int)
@click.option("--base-url", default="http://127.0.0.1:8000", show_default=True, help="网站地址")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="写成 XLSX（按单位分发）")
@click.pass_context
def links(ctx, year, base_url, out) -> None:
    """列出已发布问卷的填写链接（单位按全国统一顺序）。"""
    from rounds import surveys as S
    from rounds.survey_sheet import write_links
    with _session(ctx) as session:
        rows = [(unit.name, name, _link(base_url, s.token), "进行中" if s.status == "open" else "已关闭")
                for unit, name, s in S.links(session, year)]
    if out:
        write_atomically(out, lambda tmp: write_links(year, rows, tmp))
        click.echo(f"已写出 {len(rows)} 个链接：{out}")
        return
    for row in rows:
        click.echo("\t".join(row))


@survey.command("close")
@click.option("--year", required=True, type=int)
@click.option("--unit", "units", multiple=True, help="单位代码（可重复；不写为全部单位）")
@click.option("--audience", "audiences", multiple=True, type=AUDIENCE)
@click.option("--reopen", is_flag=True, help="重新开放（而不是关闭）")
@click.option("--user", "username", required=True)
@click.pass_context
def close(ctx, year, units, audiences, reopen, username) -> None:
    """关闭问卷（链接不再接受填写），或用 --reopen 重新开放。"""
    from evidence.models import Survey
    from rounds import surveys as S
    with _session(ctx) as session:
        user = acting_office(session, username)
        query = select(Survey).where(Survey.year == year)
        if units:
            query = query.where(Survey.unit_code.in_([u.upper() for u in units]))
        if audiences:
            query = query.where(Survey.audience.in_(list(audiences)))
        targets = list(session.exec(query))
        if not targets:
            raise KaopingError("没有符合条件的已发布问卷。")
        commit_or_report(session, lambda: [S.set_open(session, user, s.id, open_=reopen) for s in targets])
    click.echo(f"已{'重新开放' if reopen else '关闭'} {len(targets)} 份问卷。")


@survey.command("template")
@click.option("--year", required=True, type=int)
@click.option("--audience", required=True, type=AUDIENCE)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help=".xlsx 或 .csv")
def template(year, audience, out) -> None:
    """问卷录入模板（线下或其他平台收集的问卷，每份一行）。"""
    from rounds.survey_sheet import write_response_template
    if out.suffix.lower() not in (".xlsx", ".csv"):
        raise KaopingError("模板文件名应以 .xlsx 或 .csv 结尾。")
    write_atomically(out, lambda tmp: write_response_template(year, audience, tmp))
    click.echo(f"已生成问卷录入模板：{out}")


@survey.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--year", required=True, type=int)
@click.option("--audience", required=True, type=AUDIENCE)
@click.option("--user", "username", required=True)
@click.pass_context
def import_(ctx, path, year, audience, username) -> None:
    """导入问卷：任一单元格有误，整份文件不导入，并逐格列出错误；同一文件只导入一次。"""
    from rounds import surveys as S
    with _session(ctx) as session:
        user = acting_office(session, username)
        outcome = commit_or_report(session, lambda: S.import_responses(session, user, year, audience,
                                                                       read_file(path), path.name))
    click.echo(outcome.message(S.audience_name(audience)))


@survey.command("results")
@click.option("--year", required=True, type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def results(ctx, year, as_json) -> None:
    """各单位的满意度指数、问卷份数、95% 置信区间，以及是否样本不足。"""
    from rounds import surveys as S
    from rounds.workflow import RoundError
    with _session(ctx) as session:
        try:
            data = S.overview(session, year)
        except RoundError as exc:
            raise KaopingError(str(exc)) from None
    out = []
    for row in data["rows"]:
        for cell in row["cells"]:
            q = data["questionnaires"][cell.audience]
            index = cell.index
            out.append({"unit": row["unit"].code, "name": row["unit"].name, "indicator": q.indicator_no,
                        "audience": cell.audience, "published": cell.survey is not None,
                        "responses": index.n if index else 0,
                        "index": round(index.index, 2) if index else None,
                        "low": round(index.low, 2) if index and index.low is not None else None,
                        "high": round(index.high, 2) if index and index.high is not None else None,
                        "min_sample": cell.min_sample, "enough": cell.enough,
                        "held": cell.held, "discarded": cell.discarded})
    if as_json:
        click.echo(json.dumps({"year": year, "results": out}, ensure_ascii=False, indent=1))
        return
    for r in out:
        if r["index"] is None:
            state = "尚无问卷"
        else:
            ci = f"（95%置信区间 {r['low']}–{r['high']}）" if r["low"] is not None else ""
            state = f"指数 {r['index']}{ci}，{r['responses']} 份" + ("" if r["enough"] else f"，样本不足（至少 {r['min_sample']} 份）")
        if r["held"]:
            state += f"；另有 {r['held']} 份待核（不计入，请在问卷页面核定）"
        click.echo(f"{r['name']} 指标{r['indicator']}：{state}")


COMMANDS = [survey]
