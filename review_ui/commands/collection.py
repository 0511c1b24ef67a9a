"""Case collections from the command line."""
from __future__ import annotations

from pathlib import Path

import click

from .core import KaopingError, require_initialised


@click.group()
def collection() -> None:
    """案例汇编与简报。"""


@collection.command("export")
@click.argument("collection_id", type=int)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def export(ctx, collection_id: int, out: Path) -> None:
    """把汇编导出为 Word（DOCX）。"""
    from casebook.collections import export_docx
    from evidence.db import session_scope
    from evidence.models import Collection
    settings = require_initialised(ctx)
    with session_scope(settings.database_url) as session:
        c = session.get(Collection, collection_id)
        if c is None:
            raise KaopingError(f"汇编 {collection_id} 不存在。")
        tmp = out.with_name(f".{out.name}.partial")
        try:
            export_docx(session, c, tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        session.commit()
    tmp.replace(out)
    click.echo(f"已导出：{out}")


COMMANDS = [collection]
