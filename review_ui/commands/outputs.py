"""The documents the office takes away: the 专报 and the score table."""
from __future__ import annotations

from pathlib import Path

import click

from .core import KaopingError, require_initialised


def _write(ctx, year: int, out: Path, writer_name: str, label: str, *, err: bool = False) -> None:
    from rounds import outputs as round_outputs
    from evidence.db import session_scope
    from rounds.workflow import RoundError
    settings = require_initialised(ctx)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    with session_scope(settings.database_url) as session:
        try:
            getattr(round_outputs, writer_name)(session, year, tmp)
        except RoundError as exc:
            tmp.unlink(missing_ok=True)
            raise KaopingError(str(exc)) from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    tmp.replace(out)  # nothing half-written at the destination
    click.echo(f"已生成{label}：{out}", err=err)  # stderr when stdout carries JSON


@click.command()
@click.option("--year", required=True, type=int)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def report(ctx, year: int, out: Path) -> None:
    """生成年度专报（DOCX）。"""
    _write(ctx, year, out, "write_year_report", "专报")


@click.command()
@click.option("--year", required=True, type=int)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="写出评分表（XLSX）")
@click.option("--json", "as_json", is_flag=True, help="以JSON输出各单位各指标得分")
@click.pass_context
def scores(ctx, year: int, out: Path | None, as_json: bool) -> None:
    """各单位得分：--json 输出全部指标的得分与依据；--out 导出评分表（XLSX，数字与 --json 相同）。"""
    if not out and not as_json:
        raise KaopingError("请指定 --json（输出得分）或 --out 文件.xlsx（导出评分表）。")
    if out:
        _write(ctx, year, out, "write_score_table", "评分表", err=as_json)
    if as_json:
        import json
        from evidence.db import session_scope
        from rounds.outputs import scores_json
        from rounds.workflow import RoundError
        settings = require_initialised(ctx)
        with session_scope(settings.database_url) as session:
            try:
                data = scores_json(session, year)
            except RoundError as exc:
                raise KaopingError(str(exc)) from None
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))


COMMANDS = [report, scores]
