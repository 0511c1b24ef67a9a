"""Commands for the yearly round: the spot-check draw."""
from __future__ import annotations

import json
from pathlib import Path

import click
import yaml

from rounds.spotcheck import CHANGE_BASES, SpotcheckInputError, UnitHistory, draw_spotcheck

UNITS_FILE = Path(__file__).resolve().parents[2] / "rubrics" / "units.yaml"
HISTORY_FIELDS = ("previous_category", "self_category", "previous_self_category")


class RoundsError(click.ClickException):
    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"错误：{self.message}", err=True)


def known_units() -> dict[str, str]:
    """{code: name} from rubrics/units.yaml (read directly to keep this module standalone)."""
    data = yaml.safe_load(UNITS_FILE.read_text(encoding="utf-8"))
    return {u["code"]: u["name"] for u in data["units"]}


def history_from_database(ctx: click.Context, year: int) -> list[UnitHistory]:
    """Each unit's history for `year` from the data directory's database."""
    from evidence.db import is_initialised, session_scope
    from rounds.workflow import unit_histories
    from .core import settings_from
    settings = settings_from(ctx)
    if not settings.data_dir.exists() or not is_initialised(settings.database_url):
        raise RoundsError(f"没有可用的数据库（{settings.data_dir}）：请用 --history 指定历史记录文件，或先运行 kaoping init。")
    with session_scope(settings.database_url) as session:
        return unit_histories(session, year)


def history_from_file(path: str, units: dict[str, str]) -> list[UnitHistory]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RoundsError(f"找不到历史记录文件：{path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RoundsError(f"无法读取历史记录文件 {path}：{exc}") from None
    except json.JSONDecodeError as exc:
        raise RoundsError(f"历史记录文件不是有效的JSON（第{exc.lineno}行第{exc.colno}列）：{path}") from None
    rows = data.get("units") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise RoundsError('历史记录文件格式应为 {"units": [ … ]}。')
    histories: list[UnitHistory] = []
    for i, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not isinstance(row.get("code"), str):
            raise RoundsError(f"第{i}条记录缺少单位代码（code）。")
        code = row["code"].strip().upper()
        if code not in units:
            raise RoundsError(f"未知的单位代码：{row['code']}（见 rubrics/units.yaml）")
        for key in HISTORY_FIELDS:
            if row.get(key) is not None and not isinstance(row[key], str):
                raise RoundsError(f"单位 {code} 的 {key} 应为类别名称或 null。")
        checked = row.get("checked_last_year", False)
        if not isinstance(checked, bool):
            raise RoundsError(f"单位 {code} 的 checked_last_year 应为 true 或 false。")
        histories.append(UnitHistory(code, row.get("previous_category"), row.get("self_category"),
                                     row.get("previous_self_category"), checked))
    present = {h.code for h in histories}
    absent = [code for code in units if code not in present]
    if absent:
        raise RoundsError(f"历史记录缺少以下单位：{'、'.join(absent)}（抽查须覆盖全部{len(units)}个单位）")
    return histories


@click.command()
@click.option("--year", required=True, type=click.IntRange(2022, 2100), help="评价考核年度")
@click.option("--seed", type=int, default=None, help="随机种子（不指定则随机生成并记录）")
@click.option("--history", "history_file", type=str, default=None,
              help='各单位上年类别、自评类别等（JSON：{"units": [...]}）')
@click.option("--change-basis", type=click.Choice(CHANGE_BASES), default="previous_category", show_default=True,
              help="“自评类别与上年发生变化”的比较对象：上年最终类别或上年自评类别")
@click.option("--extra", multiple=True, help="协调小组办公室指定纳入的单位代码（可重复）")
@click.option("--json", "as_json", is_flag=True, help="以JSON输出")
@click.pass_context
def spotcheck(ctx: click.Context, year: int, seed: int | None, history_file: str | None, change_basis: str,
              extra: tuple[str, ...], as_json: bool) -> None:
    """按规则抽取本年度抽查评估名单（不写入任何数据）。"""
    units = known_units()
    if history_file is None:
        try:
            histories = history_from_database(ctx, year)
        except NotImplementedError:
            raise RoundsError("抽查需要各单位的上年类别和自评类别：请用 --history 指定历史记录文件（JSON）。") from None
    else:
        histories = history_from_file(history_file, units)
    extra_codes = [c.strip().upper() for c in extra]
    unknown = [c for c in extra_codes if c not in units]
    if unknown:
        raise RoundsError(f"未知的单位代码：{'、'.join(unknown)}")
    try:
        result = draw_spotcheck(histories, seed=seed, change_basis=change_basis, extra=extra_codes)
    except (SpotcheckInputError, ValueError) as exc:
        raise RoundsError(str(exc)) from None

    if as_json:
        click.echo(json.dumps({"selected": result.selected, "reasons": result.reasons, "seed": result.seed,
                               "conflicts": result.conflicts, "year": year}, ensure_ascii=False, indent=2))
        return
    click.echo(f"{year}年度抽查名单（随机种子 {result.seed}，共抽取 {len(result.selected)}/{len(histories)} 个单位）")
    for code in result.selected:
        click.echo(f"  {code} {units[code]}：{'；'.join(result.reasons[code])}")
    if result.conflicts:
        click.echo("规则冲突及处理：")
        for message in result.conflicts:
            click.echo(f"  - {message}")
    click.echo("未抽中单位：")
    for code in sorted(set(result.reasons) - set(result.selected)):
        click.echo(f"  {code} {units[code]}：{'；'.join(result.reasons[code])}")


COMMANDS = [spotcheck]
