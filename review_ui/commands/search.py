"""`kaoping search`: full-text search of evidence passages from the terminal."""
from __future__ import annotations

import json
import re
from html import unescape

import click

from evidence.config import Settings

_MARK = re.compile(r"</?mark>")


def _plain(snippet_html: str) -> str:
    """Terminal form of a snippet: marks become 【】, entities decoded."""
    return unescape(_MARK.sub(lambda m: "】" if m.group().startswith("</") else "【", snippet_html))


@click.command()
@click.argument("query")
@click.option("--unit", help="只看某单位（中文名称或代码，如 江苏 或 JS）")
@click.option("--year", help="年度或范围（如 2023、2020..2022）")
@click.option("--kind", help="材料类型")
@click.option("--indicator", help="指标编号")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 100), help="最多显示条数")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@click.pass_context
def search(ctx: click.Context, query: str, unit, year, kind, indicator, limit: int, as_json: bool) -> None:
    """全文检索证据段落（支持词、"短语"、AND/OR/NOT 与 单位:/年度:/类型:/指标: 等条件）。"""
    from index import EvidenceIndex

    from .core import unit_code_of
    settings = Settings.load((ctx.obj or {}).get("data_dir"))
    unit = unit_code_of(unit)
    ix = EvidenceIndex(settings.index_dir)
    status = ix.status()
    if not status["exists"]:
        click.echo(f"错误：搜索索引不存在（{settings.index_dir}）。请先运行 kaoping reindex 建立索引。", err=True)
        ctx.exit(2)
    if status["needs_rebuild"]:
        click.echo("错误：搜索索引的分词规则或词典已更新，请先运行 kaoping reindex 重建索引。", err=True)
        ctx.exit(2)

    result = ix.search(query, unit=unit, year=year, kind=kind, indicator=indicator,
                       per_page=limit, facets=True)
    if as_json:
        click.echo(json.dumps({
            "total": result.total,
            "total_is_estimate": result.total_is_estimate,
            "facets": result.facets,
            "query_error": result.query_error,
            "hits": [{"evidence_id": h.document_id, "filename": h.filename, "title": h.title,
                      "unit": h.unit, "year": h.year, "kind": h.kind, "page": h.page,
                      "passage_id": h.passage_id, "score": round(h.score, 4), "snippet": h.snippet_html}
                     for h in result.hits],
        }, ensure_ascii=False, indent=2))
        return
    if result.query_error:
        click.echo(f"提示：{result.query_error}", err=True)
    about = "约 " if result.total_is_estimate else ""
    click.echo(f"共 {about}{result.total} 条结果"
               + (f"，显示前 {len(result.hits)} 条" if result.total > len(result.hits) else ""))
    for n, hit in enumerate(result.hits, 1):
        where = " ".join(str(x) for x in (hit.unit, hit.year or "", hit.kind) if x)
        page = f" 第 {hit.page} 页" if hit.page else ""
        click.echo(f"{n}. {hit.title or hit.filename}（{where}）{page}  [{hit.document_id}/{hit.passage_id}]")
        click.echo(f"   {_plain(hit.snippet_html)}")


COMMANDS = [search]
