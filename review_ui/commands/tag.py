"""`kaoping tag` and `kaoping tag-eval`: the indicator tagger from the command line."""
from __future__ import annotations

import functools
import json
from pathlib import Path

import click

from tagging.evaluate import LEARNED_MODES

CANDIDATES_SHOWN = 8


@functools.lru_cache(maxsize=1)
def _names() -> dict[int, str]:
    from tagging.rules import default_rulebook
    names = {no: ind.name for no, ind in default_rulebook().indicators.items()}
    try:
        from rubrics.indicators import load_system
        names.update({ind.no: ind.name for ind in load_system().indicators})
    except Exception:  # noqa: BLE001 - the rule book's names are a fine fallback
        pass
    return names


def _read(path: Path, limits):
    """(text, page starts) of a file, extracted in the sandbox with the same limits as ingest."""
    from ingest.extract import extract_file_sandboxed
    extraction = extract_file_sandboxed(path, filename=path.name, limits=limits)
    return extraction.text, extraction.page_starts


def _suggestion_dict(s) -> dict:
    return {
        "no": s.no, "name": _names().get(s.no, ""), "score": round(s.score, 3), "reason": s.reason,
        "passages": [{"page": p.page, "start": p.start, "end": p.end, "text": p.text} for p in s.passages],
    }


@click.command("tag")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="每个文件输出一行 JSON")
@click.option("--year", type=int, default=None, help="考核年度（有该年度的反馈模型时一并使用）")
@click.option("--timeout", type=float, default=120, show_default=True, help="单个文件的解析时限（秒）")
@click.option("--memory-mb", type=int, default=2048, show_default=True, help="解析进程内存上限（MB）")
def tag(files: tuple[Path, ...], as_json: bool, year: int | None, timeout: float, memory_mb: int) -> None:
    """为文件建议对应的三级指标（不写数据库）。每个文件单独处理，一个失败不影响其余文件。"""
    from ingest.extract import Limits
    from tagging import tag_text
    limits = Limits(timeout_s=timeout, memory_mb=memory_mb)
    failed = 0
    for path in files:
        try:
            text, pages = _read(path, limits)
            result = tag_text(text, pages=pages, year=year)
        except Exception as exc:  # noqa: BLE001 - one file must not stop the rest
            failed += 1
            from ingest.extract.types import describe, internal
            reason = getattr(exc, "reason", None) or internal(exc).reason
            detail = getattr(exc, "detail", None) or describe(exc)  # for the operator; the reason stays readable
            if as_json:
                click.echo(json.dumps({"file": str(path), "error": reason, "detail": detail}, ensure_ascii=False))
            else:
                click.echo(f"✗ {path}：{reason}")
            continue
        row = {
            "file": str(path),
            "indicators": [_suggestion_dict(s) for s in result.indicators],
            "candidates": [_suggestion_dict(s) for s in result.candidates[:CANDIDATES_SHOWN]],
            "version": result.version,
        }
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
            continue
        click.echo(f"== {path}")
        if not row["indicators"]:
            click.echo("  未发现达到阈值的指标证据。")
        for s in row["indicators"]:
            click.echo(f"  [{s['no']}] {s['name']}  得分 {s['score']:.2f}")
            click.echo(f"      {s['reason']}")
        if row["candidates"]:
            click.echo("  候选：" + "；".join(f"[{s['no']}] {s['name']} {s['score']:.2f}" for s in row["candidates"]))
    if not as_json:
        click.echo(f"共 {len(files)} 个文件，其中 {failed} 个失败。" if failed else f"共 {len(files)} 个文件，全部完成。")
    if failed:
        raise SystemExit(2)


ERRORS_SHOWN = 40


def _report_lines(title: str, report, show_errors: bool = False, baseline=None) -> list[str]:
    names = _names()
    m, mac = report.micro, report.macro
    how = report.method or (f"{report.folds} 折交叉验证（按文件分折，随机种子 {report.seed}）"
                             if report.folds > 1 else "未分折")
    lines = [
        f"【{title}】共 {report.n_items} 条，{how}",
        f"  微平均：精确率 {m['precision']:.3f}  召回率 {m['recall']:.3f}  F1 {m['f1']:.3f}"
        f"（正确 {m['tp']}，误报 {m['fp']}，漏报 {m['fn']}）",
        f"  宏平均：精确率 {mac['precision']:.3f}  召回率 {mac['recall']:.3f}  F1 {mac['f1']:.3f}",
        f"  前五召回率（正确标签出现在前五个建议中的比例）：{report.top5_recall:.3f}",
        f"  无关文件 {report.unrelated_docs} 份，共被建议 {report.unrelated_suggestions} 个指标，单份最多 {report.unrelated_max} 个",
    ]
    if baseline is not None:
        b = baseline.micro
        lines.append(f"  对照（仅规则）：精确率 {b['precision']:.3f}  召回率 {b['recall']:.3f}  F1 {b['f1']:.3f}，"
                     f"宏 F1 {baseline.macro['f1']:.3f}，前五召回率 {baseline.top5_recall:.3f}")
    if report.per_area:
        lines.append("  按一级指标：")
        for area, v in report.per_area.items():
            lines.append(f"    {area}：P {v['precision']:.2f} R {v['recall']:.2f} F1 {v['f1']:.2f}"
                         f"（正确 {v['tp']} 误报 {v['fp']} 漏报 {v['fn']}）")
    weak = sorted(((no, v) for no, v in report.per_indicator.items() if v["f1"] < 1.0),
                  key=lambda t: (t[1]["f1"], -(t[1]["fp"] + t[1]["fn"]), t[0]))
    if weak:
        lines.append("  薄弱指标（F1 由低到高）：")
        for no, v in weak[:15]:
            lines.append(f"    [{no}] {names.get(no, '')}：P {v['precision']:.2f} R {v['recall']:.2f} "
                         f"F1 {v['f1']:.2f}（正确 {v['tp']} 误报 {v['fp']} 漏报 {v['fn']}）")
    if report.confusions:
        lines.append("  最常见混淆（应为 → 误标为：次数）：")
        lines.append("    " + "；".join(f"{g}→{p}：{c}" for g, p, c in report.confusions))
    if show_errors and report.errors:
        lines.append(f"  误报与漏报（前 {ERRORS_SHOWN} 条，全部见 --json）：")
        for e in report.errors[:ERRORS_SHOWN]:
            kind = "误报" if e["type"] == "fp" else "漏报"
            lines.append(f"    {e['id']} {kind} [{e['no']}] {names.get(e['no'], '')} 得分 {e['score']:.2f}")
            if e.get("gold"):
                lines.append(f"      标注依据：{e['gold']}")
            if e["passage"]:
                lines.append(f"      段落：{e['passage']}")
            lines.append(f"      命中：{e['fired']}")
    return lines


@click.command("tag-eval")
@click.option("--set", "set_path", type=click.Path(exists=True, path_type=Path), default=None,
              help="评测集文件或目录（默认 tests/data/tag_eval；含 labels.json 的开发集目录亦可）")
@click.option("--folds", type=click.IntRange(2, 50), default=5, show_default=True,
              help="按文件分折交叉验证的折数（学习模型只在其余各折上训练）")
@click.option("--seed", type=int, default=None, help="分折随机种子（默认固定值，结果可复现）")
@click.option("--learned", type=click.Choice(LEARNED_MODES), default="auto", show_default=True,
              help="学习模型：auto 自动（评测集参与过训练则分折重训，否则用发布的模型）；cv 分折重训；"
                   "shipped 用发布的模型；none 仅规则")
@click.option("--half", type=click.Choice(("A", "B")), default=None,
              help="只统计开发集的一半（按文件编号的哈希分层固定分成 A、B 两半；看一半的错误改规则，用另一半检验）")
@click.option("--errors", "show_errors", is_flag=True, help="逐条列出误报与漏报")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（含每条误报与漏报）")
@click.option("--ship", is_flag=True, help="（维护者）交叉验证后用全部文件训练学习模型，写入随代码发布的模型文件")
def tag_eval(set_path: Path | None, folds: int, seed: int | None, learned: str, half: str | None,
             show_errors: bool, as_json: bool, ship: bool) -> None:
    """用标注好的评测集衡量自动标引：精确率、召回率、F1、前五召回率、按一级指标、混淆与逐条错误。

    数字都不来自见过答案的模型：开发集上学习模型按折重训，其他评测集上用发布的模型。"""
    from tagging.evaluate import DEFAULT_SEED, honest_report, load_eval_set
    items = load_eval_set(set_path)
    if not items:
        raise click.ClickException("评测集为空。")
    seed = DEFAULT_SEED if seed is None else seed
    if ship:
        if half is not None:
            raise click.ClickException("发布模型要用全部文件训练，不能同时指定 --half。")
        learned = "cv"
    subsets = {"全部": items}
    for split in sorted({i.split for i in items if i.split}):
        subset = [i for i in items if i.split == split]
        if len(subset) < len(items):
            subsets[split] = subset
    reports, baselines = {}, {}
    for name, subset in subsets.items():
        reports[name] = honest_report(subset, folds, seed, learned, half=half)
        if not reports[name].method.startswith("仅规则"):
            baselines[name] = honest_report(subset, folds, seed, "none", half=half)
    if ship:
        _ship(items, reports["全部"], baselines.get("全部"))
    if as_json:
        out = {name: r.to_dict() for name, r in reports.items()}
        for name, b in baselines.items():
            out[name]["rules_only"] = {"micro": b.micro, "macro": b.macro, "top5_recall": b.top5_recall}
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    for name, report in reports.items():
        click.echo("\n".join(_report_lines(name, report, show_errors, baselines.get(name))))


def _ship(items, report, baseline) -> None:
    """Train on every document and write the shipped model, with the figures that justify it."""
    from tagging.learned import SHIPPED_PATH, save_model
    from tagging.training import fit_model
    figures = {"cv": {"micro": report.micro, "macro": report.macro, "top5_recall": report.top5_recall,
                      "folds": report.folds, "seed": report.seed}}
    if baseline is not None:
        figures["rules_only"] = {"micro": baseline.micro, "macro": baseline.macro,
                                 "top5_recall": baseline.top5_recall}
    model = fit_model(items, meta=figures)
    save_model(model, SHIPPED_PATH)
    click.echo(f"已用全部 {len(items)} 份文件训练学习模型并写入 {SHIPPED_PATH.name}（{model.version}）。", err=True)


COMMANDS = [tag, tag_eval]
