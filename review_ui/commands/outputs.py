"""The documents the office takes away: the 专报 and the score table."""
from __future__ import annotations

from pathlib import Path

import click

from .core import KaopingError, require_initialised


def _write(ctx, year: int, out: Path, writer_name: str, label: str) -> None:
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
    click.echo(f"已生成{label}：{out}")


@click.command()
@click.option("--year", required=True, type=int)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def report(ctx, year: int, out: Path) -> None:
    """生成年度专报（DOCX）。"""
    _write(ctx, year, out, "write_year_report", "专报")


@click.command()
@click.option("--year", required=True, type=int)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def scores(ctx, year: int, out: Path) -> None:
    """导出评分表（XLSX：各单位各指标每位评审专家的原始评分、合议结果与一致性）。"""
    _write(ctx, year, out, "write_score_table", "评分表")


COMMANDS = [report, scores]
