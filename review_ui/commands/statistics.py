"""`kaoping stats`: the year's statistics template, its import, the values with their source and flags,
corrections and confirmations — the same services as the office's web pages."""
from __future__ import annotations

import json
from pathlib import Path

import click
from sqlmodel import select

from .core import KaopingError, require_initialised


def acting_office(session, username: str):
    """The office account a command acts as (recorded in the audit log)."""
    from evidence.models import User
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        raise KaopingError(f"用户 {username} 不存在或已停用。")
    if user.role != "office":
        raise KaopingError(f"用户 {username} 不是协调小组办公室账号，不能执行此操作。")
    return user


def write_atomically(out: Path, write) -> None:
    """Write to a hidden sibling and move it into place: nothing half-written at the destination."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial{out.suffix}")
    try:
        write(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(out)


def report_rejected(exc) -> None:
    """Every bad cell of a refused file on stderr; exit status 2."""
    click.echo(f"错误：{exc.summary()}", err=True)
    for problem in exc.problems:
        click.echo(f"  {problem.text()}", err=True)
    raise SystemExit(2)


def commit_or_report(session, action):
    """Run one change and commit it; a refused file lists its bad cells, a refused change says why (exit 2)."""
    from rounds.sheets import SheetRejected
    from rounds.workflow import RoundError
    try:
        result = action()
        session.commit()
        return result
    except SheetRejected as exc:
        session.rollback()
        report_rejected(exc)
    except RoundError as exc:
        session.rollback()
        raise KaopingError(str(exc)) from None


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KaopingError(f"无法读取文件 {path}：{exc.strerror or exc}") from None


@click.group()
def stats() -> None:
    """统计数据：填报模板、批量导入、查看、更正与核实。"""


@stats.command("template")
@click.option("--year", required=True, type=int)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="模板文件（.xlsx）")
@click.option("--filled", is_flag=True, help="填入现有数值（用于批量更正）")
@click.pass_context
def template(ctx, year: int, out: Path, filled: bool) -> None:
    """下载某年度的统计数据填报模板（各单位 × 各数值项）。"""
    from evidence.db import session_scope
    from rounds.statistics_office import write_statistics_template
    from rounds.workflow import RoundError
    settings = require_initialised(ctx)
    with session_scope(settings.database_url) as session:
        try:
            write_atomically(out, lambda tmp: write_statistics_template(session, year, tmp, filled))
        except RoundError as exc:
            raise KaopingError(str(exc)) from None
    click.echo(f"已生成{year}年度统计数据填报模板：{out}")


@stats.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--year", required=True, type=int)
@click.option("--user", "username", required=True, help="以哪个办公室账号导入（记入审计日志）")
@click.pass_context
def import_(ctx, path: Path, year: int, username: str) -> None:
    """导入填好的模板：任一单元格有误，整份文件不导入，并逐格列出错误。"""
    from evidence.db import session_scope
    from rounds.statistics_office import import_statistics
    settings = require_initialised(ctx)
    with session_scope(settings.database_url) as session:
        user = acting_office(session, username)
        outcome = commit_or_report(session, lambda: import_statistics(session, user, year, read_file(path), path.name))
    click.echo(outcome.message())
    for row in outcome.flagged:
        click.echo(f"  待核实：{row.unit_name} 指标{row.indicator.no}“{row.measure.label}”{row.value_text}"
                   f"{row.measure.unit}：{'；'.join(row.flags)}")


@stats.command("show")
@click.option("--year", required=True, type=int)
@click.option("--unit", "unit_code", help="只看一个单位（代码）")
@click.option("--flagged", is_flag=True, help="只看待核实的数值")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show(ctx, year: int, unit_code: str | None, flagged: bool, as_json: bool) -> None:
    """各单位的数值、来源和核实提示。"""
    from evidence.db import session_scope
    from rounds.statistics_office import value_table
    from rounds.workflow import RoundError
    settings = require_initialised(ctx)
    with session_scope(settings.database_url) as session:
        try:
            rows = value_table(session, year, unit_code.upper() if unit_code else None)
        except RoundError as exc:
            raise KaopingError(str(exc)) from None
    if flagged:
        rows = [r for r in rows if r.needs_confirmation]
    if as_json:
        click.echo(json.dumps([{"unit": r.unit_code, "indicator": r.indicator.no, "measure": r.measure.key,
                                "value": r.value, "base": r.base, "source": r.source, "flags": r.flags,
                                "confirmed": r.confirmed} for r in rows], ensure_ascii=False, indent=1))
        return
    for r in rows:
        base = f"，基期 {r.base_text}" if r.base is not None else ""
        note = ("；" + "；".join(r.flags) + ("（已核实）" if r.confirmed else "（待核实）")) if r.flags else ""
        click.echo(f"{r.unit_name} 指标{r.indicator.no}“{r.measure.label}”：{r.value_text or '—'}{base}"
                   f"（{r.source}）{note}")


def _correct_or_confirm(ctx, year, unit_code, indicator, measure, username, action) -> None:
    from evidence.db import session_scope
    settings = require_initialised(ctx)
    with session_scope(settings.database_url) as session:
        user = acting_office(session, username)
        commit_or_report(session, lambda: action(session, user, year, unit_code.upper(), indicator, measure))


@stats.command("correct")
@click.option("--year", required=True, type=int)
@click.option("--unit", "unit_code", required=True)
@click.option("--indicator", required=True, type=int)
@click.option("--measure", required=True, help="数值项 key（见 kaoping indicators --json 的 measures）")
@click.option("--value", type=float, default=None)
@click.option("--base", type=float, default=None, help="基期值")
@click.option("--reason", required=True, help="更正理由（记入审计日志）")
@click.option("--user", "username", required=True)
@click.pass_context
def correct(ctx, year, unit_code, indicator, measure, value, base, reason, username) -> None:
    """办公室更正一个数值（须写理由；更正前后的数值记入审计日志）。"""
    from rounds.statistics_office import correct_value
    _correct_or_confirm(ctx, year, unit_code, indicator, measure, username,
                        lambda s, u, y, c, n, k: correct_value(s, u, y, c, n, k, value=value, base_value=base,
                                                               reason=reason))
    click.echo("已更正。")


@stats.command("confirm")
@click.option("--year", required=True, type=int)
@click.option("--unit", "unit_code", required=True)
@click.option("--indicator", required=True, type=int)
@click.option("--measure", required=True)
@click.option("--note", default="", help="核实说明")
@click.option("--user", "username", required=True)
@click.pass_context
def confirm(ctx, year, unit_code, indicator, measure, note, username) -> None:
    """确认一个待核实的数值无误（记入审计日志）。"""
    from rounds.statistics_office import confirm_value
    _correct_or_confirm(ctx, year, unit_code, indicator, measure, username,
                        lambda s, u, y, c, n, k: confirm_value(s, u, y, c, n, k, note=note))
    click.echo("已确认。")


COMMANDS = [stats]
