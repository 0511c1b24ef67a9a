"""Commands that manage the data directory, users, the app and the ingest queue."""
from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

import click
from sqlmodel import select

from evidence.config import Settings


class KaopingError(click.ClickException):
    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"错误：{self.message}", err=True)


def settings_from(ctx: click.Context) -> Settings:
    return Settings.load((ctx.obj or {}).get("data_dir"))


def require_initialised(ctx: click.Context) -> Settings:
    from evidence.db import is_initialised
    settings = settings_from(ctx)
    if not settings.data_dir.exists():
        raise KaopingError(f"数据目录不存在：{settings.data_dir}。请先运行 kaoping init（或用 --data-dir 指定已有目录）。")
    if not is_initialised(settings.database_url):
        raise KaopingError(f"数据目录 {settings.data_dir} 尚未初始化。请先运行 kaoping init。")
    from evidence.db import migrate
    migrate(settings.database_url)  # bring an older database up to the current schema
    return settings


def initialise(settings: Settings) -> None:
    """Create the data directory and database; load the 32 units."""
    from evidence.db import migrate, session_scope
    from rubrics.indicators import load_units
    from evidence.models import Unit

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    for sub in (settings.files_dir, settings.index_dir, settings.work_dir):
        sub.mkdir(exist_ok=True)
    if not settings.secret_key_file.exists():
        settings.secret_key_file.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        settings.secret_key_file.chmod(0o600)
    migrate(settings.database_url)
    with session_scope(settings.database_url) as session:
        for unit in load_units():
            if session.get(Unit, unit.code) is None:
                session.add(Unit(code=unit.code, name=unit.name, short_name=unit.short_name, gb_code=unit.gb_code))
        session.commit()


@click.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """创建数据目录和数据库（已存在时不覆盖任何数据）。"""
    from evidence.db import is_initialised
    settings = settings_from(ctx)
    if settings.data_dir.exists() and is_initialised(settings.database_url):
        raise KaopingError(f"数据目录 {settings.data_dir} 已初始化，未做任何改动。"
                           "如需全新数据，请指定另一个 --data-dir。")
    initialise(settings)
    click.echo(f"已初始化数据目录：{settings.data_dir}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-worker", is_flag=True, help="不在本进程内运行入库处理（另行运行 kaoping worker）")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="网页进程数：共用同一数据库与索引；入库处理只在主进程运行一份")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, no_worker: bool, workers: int) -> None:
    """启动网页应用。"""
    import os

    import uvicorn

    from review_ui.app import create_app
    settings = require_initialised(ctx)
    click.echo(f"考评已启动：http://{host}:{port}/   （数据目录 {settings.data_dir}，{workers} 个网页进程，按 Ctrl+C 停止）")
    # Browsers keep a connection open between a reviewer's clicks; uvicorn's default of
    # 5 s closed it mid-thought, and a request sent just then failed on the closed socket.
    keep_alive = 75
    if workers == 1:
        uvicorn.run(create_app(settings, run_worker=not no_worker), host=host, port=port, log_level="warning",
                    timeout_keep_alive=keep_alive)
        return
    # uvicorn starts each web process afresh (spawn) from an import string; they find
    # the data directory in the environment, and none of them runs the ingest worker:
    # one worker thread here in the supervisor is the queue's only consumer.
    os.environ["KAOPING_DATA_DIR"] = str(settings.data_dir)
    ingest = None
    if not no_worker:
        from ingest.queue import Worker
        ingest = Worker(settings)
        ingest.start()
    try:
        uvicorn.run("review_ui.app:app_from_environment", factory=True, host=host, port=port, workers=workers,
                    log_level="warning", timeout_keep_alive=keep_alive)
    finally:
        if ingest is not None:
            ingest.shutdown()


@click.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """运行入库处理进程（处理排队中的文件，重启后继续未完成的任务）。"""
    from ingest.queue import Worker
    settings = require_initialised(ctx)
    click.echo("入库处理进程已启动，按 Ctrl+C 停止。")
    try:
        Worker(settings).run()
    except KeyboardInterrupt:
        click.echo("已停止；未完成的任务将在下次启动时继续。")


@click.command()
@click.option("--force", is_flag=True, help="数据目录已初始化时，仍补充演示数据（不会删除已有数据）")
@click.pass_context
def demo(ctx: click.Context, force: bool) -> None:
    """载入演示单位、用户和示例证据，便于上手体验。"""
    from evidence.db import is_initialised
    from review_ui.demo import load_demo
    settings = settings_from(ctx)
    if not (settings.data_dir.exists() and is_initialised(settings.database_url)):
        initialise(settings)
    summary = load_demo(settings)
    click.echo(summary)


@click.group()
def users() -> None:
    """管理用户。"""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["province", "reviewer", "office"]), required=True,
              help="province=省级填报人员，reviewer=评审专家，office=协调小组办公室")
@click.option("--unit", "unit_code", help="省级填报人员所属单位代码（见 kaoping units）")
@click.option("--home-unit", help="评审专家本人所在单位代码（自动回避）")
@click.option("--name", "display_name", default="", help="显示名称")
@click.option("--password", prompt="密码", hide_input=True, confirmation_prompt="再次输入密码")
@click.pass_context
def users_add(ctx, username, role, unit_code, home_unit, display_name, password) -> None:
    from evidence.accounts import AccountError, create_user
    from evidence.audit import record
    from evidence.db import session_scope
    settings = require_initialised(ctx)
    with session_scope(settings.database_url) as session:
        try:
            user = create_user(session, username, password, role, unit_code=unit_code,
                               display_name=display_name, home_unit_code=home_unit)
        except AccountError as exc:
            raise KaopingError(str(exc)) from None
        record(session, "user_add", object_type="user", object_id=user.id,
               detail={"username": username, "role": role, "unit": unit_code, "via": "cli"})
        session.commit()
    click.echo(f"已创建用户 {username}（{role}）")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def users_list(ctx, as_json: bool) -> None:
    from evidence.db import session_scope
    from evidence.models import ROLES, User
    settings = require_initialised(ctx)
    with session_scope(settings.database_url) as session:
        rows = session.exec(select(User).order_by(User.id)).all()
    data = [{"username": u.username, "role": u.role, "unit": u.unit_code, "display_name": u.display_name,
             "active": u.active} for u in rows]
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    for d in data:
        click.echo(f"{d['username']:<16} {ROLES[d['role']]:<10} {d['unit'] or '':<4} {d['display_name']}")


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--unit", "unit_code", required=True, help="单位代码（见 kaoping units）")
@click.option("--year", required=True, type=int, help="证据所属年度")
@click.option("--kind", help="文件类型（policy/notice/media/summary/briefing/case/research/statistics/other）")
@click.pass_context
def ingest(ctx, paths: tuple[Path, ...], unit_code: str, year: int, kind: str | None) -> None:
    """把文件、文件夹或压缩包导入数据目录，并完成提取、标注和索引。"""
    from evidence.db import session_scope
    from evidence.models import Document, DocumentVersion, Unit
    from ingest.metadata import DOC_KINDS
    from ingest.queue import Worker
    from ingest.submit import submit

    settings = require_initialised(ctx)
    if kind and kind not in DOC_KINDS:
        raise KaopingError(f"未知文件类型：{kind}（可选：{'、'.join(DOC_KINDS)}）")
    files = [p for path in paths for p in ([path] if path.is_file() else sorted(q for q in path.rglob("*") if q.is_file()))]
    failed: list[tuple[str, str]] = []
    duplicates, version_ids = [], []
    with session_scope(settings.database_url) as session:
        if session.get(Unit, unit_code) is None:
            raise KaopingError(f"未知单位代码：{unit_code}（见 kaoping units）")
        for path in files:
            with path.open("rb") as fh:
                result = submit(session, settings, fh, path.name, unit_code=unit_code, year=year, kind_hint=kind)
            session.commit()
            for r in [result, *result.members]:
                if r.error:
                    failed.append((r.filename, r.error))
                if r.duplicate_of is not None:
                    duplicates.append(r.filename)
                if r.document is not None:
                    version_ids.append(r.document.current_version_id)
    with click.progressbar(length=len(version_ids), label="入库处理", file=sys.stderr) as bar:
        Worker(settings).run(once=True, on_done=bar.update)
    with session_scope(settings.database_url) as session:
        versions = session.exec(select(DocumentVersion).where(DocumentVersion.id.in_(version_ids))).all() if version_ids else []
        for v in versions:
            if v.state == "failed":
                failed.append((session.get(Document, v.document_id).filename, v.error))
        indexed = sum(1 for v in versions if v.state == "indexed")
    click.echo(f"完成：入库 {indexed} 个，重复 {len(duplicates)} 个，失败 {len(failed)} 个。")
    for name, reason in failed:
        click.echo(f"  失败：{name}：{reason}")
    if failed:
        ctx.exit(2)


@click.command()
@click.option("--failed", "all_failed", is_flag=True, help="重试全部失败的文件")
@click.argument("version_ids", nargs=-1, type=int)
@click.pass_context
def retry(ctx, all_failed: bool, version_ids: tuple[int, ...]) -> None:
    """重新处理失败的文件（按版本编号，或 --failed 全部）。"""
    from evidence.db import session_scope
    from ingest.queue import drain
    from ingest.submit import retry as retry_one, retry_all_failed
    settings = require_initialised(ctx)
    with session_scope(settings.database_url) as session:
        count = retry_all_failed(session) if all_failed else sum(retry_one(session, v) for v in version_ids)
        session.commit()
    click.echo(f"已重新排队 {count} 个文件。")
    drain(settings)


@click.command()
@click.option("--fresh", is_flag=True, help="不从上次中断处继续，从头重建")
@click.option("--procs", type=click.IntRange(1, 64), default=None, help="并行建索引的进程数（默认：CPU 核数，至多 4）")
@click.pass_context
def reindex(ctx, fresh: bool, procs: int | None) -> None:
    """从数据库重建全文索引（分批提交，可中断后继续）。"""
    from evidence.db import session_scope
    from evidence.models import Passage, Document
    from index.feed import all_index_records, open_index
    from index.writer import default_procs
    settings = require_initialised(ctx)
    with session_scope(settings.database_url) as session:
        from sqlalchemy import func
        total = session.exec(select(func.count(Passage.id)).join(Document, Document.current_version_id == Passage.version_id)
                             .where(Document.status == "active")).one()
    index = open_index(settings)
    with click.progressbar(length=total, label="重建索引", file=sys.stderr) as bar:
        index.rebuild(all_index_records(settings), total=total, progress=bar.update, resume=not fresh,
                      procs=procs or default_procs())
    click.echo(f"索引已重建：{index.doc_count()} 个段落。")


@click.command()
@click.option("--year", required=True, type=int, help="重新标注该年度的全部证据")
@click.pass_context
def retag(ctx, year: int) -> None:
    """规则或模型更新后，重新标注一个年度的证据（保留评审专家的确认与否决）。"""
    from evidence.db import session_scope
    from evidence.models import Document
    from index.feed import open_index
    from ingest.stages import retag_year
    settings = require_initialised(ctx)
    with session_scope(settings.database_url) as session:
        from sqlalchemy import func
        total = session.exec(select(func.count(Document.id)).where(Document.year == year,
                                                                   Document.status == "active")).one()
    with click.progressbar(length=total, label=f"重新标注 {year} 年度", file=sys.stderr) as bar:
        done = retag_year(settings, year, open_index(settings), progress=bar.update)
    click.echo(f"已重新标注 {done} 个文件；评审专家的确认与否决保持不变。")


@click.command("train-tagger")
@click.option("--year", required=True, type=int)
@click.pass_context
def train_tagger(ctx, year: int) -> None:
    """用评审专家对该年度标注的确认和否决训练学习模型（与规则合并使用）。"""
    from evidence.db import session_scope
    from review.tags import feedback_records
    from tagging.learned import retrain
    settings = require_initialised(ctx)
    with session_scope(settings.database_url) as session:
        records = feedback_records(session, year)
    if not records:
        raise KaopingError(f"{year} 年度还没有评审专家确认或否决的标注，无法训练。")
    settings.models_dir.mkdir(exist_ok=True)
    retrain(records, year, settings.models_dir)
    confirmed = sum(1 for _, _, ok in records if ok)
    click.echo(f"已用 {len(records)} 条反馈（确认 {confirmed}，否决 {len(records) - confirmed}）训练 {year} 年度模型。"
               f"运行 kaoping retag --year {year} 让新模型生效。")


COMMANDS = [init, serve, worker, demo, users, ingest, retry, reindex, retag, train_tagger]
