"""Commands that manage the data directory, users, the app and the ingest queue."""
from __future__ import annotations

import json
import logging
import secrets
import sys
from pathlib import Path

from contextlib import contextmanager

import click
from sqlmodel import select

from evidence.audit import record
from evidence.config import Settings


class KaopingError(click.ClickException):
    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"错误：{self.message}", err=True)


def unit_code_of(text: str | None) -> str | None:
    """The unit a person typed on the command line — 江苏, 江苏省 or JS — as its code."""
    if text is None or not text.strip():
        return None
    from rubrics.units import resolve_unit
    code = resolve_unit(text)
    if code is None:
        raise KaopingError(f"未知单位：{text}（可写中文名称或代码，见 kaoping units）")
    return code


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
    keep_private(settings)
    return settings


def keep_private(settings: Settings) -> None:
    """Tighten a data directory others can read, and say so (on stderr and in the server's log)."""
    from evidence.datadir import tighten
    for line in tighten(settings):
        logging.getLogger("kaoping").warning(line)
        click.echo(f"警告：{line}", err=True)


def initialise(settings: Settings) -> None:
    """Create the data directory and database; load the 32 units."""
    from evidence.db import migrate, session_scope
    from rubrics.indicators import load_units
    from evidence.models import Unit

    from evidence import datadir
    datadir.create(settings)
    if not settings.secret_key_file.exists():
        datadir.write_secret(settings.secret_key_file, secrets.token_urlsafe(48))
    migrate(settings.database_url)
    datadir.tighten(settings)  # the database file SQLite just created with the umask's mode
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
    if workers == 1:
        uvicorn.run(create_app(settings, run_worker=not no_worker), **server_options(host, port))
        return
    # uvicorn starts each web process afresh (spawn) from an import string; they find
    # the data directory in the environment, and none of them runs the ingest worker:
    # one worker thread here in the supervisor is the queue's only consumer.
    os.environ["KAOPING_DATA_DIR"] = str(settings.data_dir)
    ingest = None
    if not no_worker:
        from ingest.supervisor import Supervisor
        ingest = Supervisor(settings)
        ingest.start()
    try:
        uvicorn.run("review_ui.app:app_from_environment", factory=True, workers=workers, **server_options(host, port))
    finally:
        if ingest is not None:
            ingest.shutdown()


def server_options(host: str, port: int) -> dict:
    """uvicorn's settings for `serve`. uvicorn believes X-Forwarded-For from 127.0.0.1 by default;
    here it believes none: the app itself honours the header only from KAOPING_TRUSTED_PROXIES
    (review_ui/app.py), so the audit's addresses and the login throttle cannot be chosen by a client."""
    # Browsers keep a connection open between a reviewer's clicks; uvicorn's default of
    # 5 s closed it mid-thought, and a request sent just then failed on the closed socket.
    return {"host": host, "port": port, "log_level": "warning", "proxy_headers": False, "forwarded_allow_ips": "",
            "timeout_keep_alive": 75}


@click.command()
@click.option("--processes", default=1, show_default=True, type=click.IntRange(1, 64),
              help="同时运行的入库处理进程数（可在多台机器上各运行一个，共用数据库与文件目录）")
@click.pass_context
def worker(ctx: click.Context, processes: int) -> None:
    """运行入库处理（处理排队中的文件；进程异常退出会自动重启，重启后继续未完成的任务）。"""
    import signal

    from ingest.supervisor import Supervisor
    settings = require_initialised(ctx)
    supervisor = Supervisor(settings, processes=processes)
    signal.signal(signal.SIGTERM, lambda *_: supervisor.stop.set())
    click.echo(f"入库处理已启动（{processes} 个处理进程），按 Ctrl+C 停止。")
    try:
        supervisor.run()
    except KeyboardInterrupt:
        supervisor.stop.set()
    click.echo("已停止；未完成的任务将在下次启动时继续。")


@click.command()
@click.option("--force", is_flag=True,
              help="数据目录已有非演示数据时仍载入演示数据（不删除已有数据；演示账号将停用且密码随机）")
@click.pass_context
def demo(ctx: click.Context, force: bool) -> None:
    """载入演示单位、用户和示例证据，便于上手体验（只用于新的或演示用的数据目录）。"""
    from evidence.db import is_initialised, session_scope
    from review_ui.demo import load_demo, real_data
    settings = settings_from(ctx)
    if not (settings.data_dir.exists() and is_initialised(settings.database_url)):
        initialise(settings)
    else:
        require_initialised(ctx)
    with session_scope(settings.database_url) as session:
        found = real_data(session)
    if found and not force:
        raise KaopingError(f"数据目录 {settings.data_dir} 已有非演示数据（{'；'.join(found)}），未做任何改动。"
                           "演示数据含公开密码的账号和虚构的评价，请用新的目录：kaoping --data-dir 新目录 demo。"
                           "如确需载入此目录，请加 --force（演示账号将停用且密码随机）。")
    summary = load_demo(settings)
    click.echo(summary)


@click.group()
def users() -> None:
    """管理用户。"""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["province", "reviewer", "office"]), required=True,
              help="province=省级填报人员，reviewer=评审专家，office=协调小组办公室")
@click.option("--unit", "unit_code", help="省级填报人员所属单位（中文名称或代码，如 江苏 或 JS）")
@click.option("--home-unit", help="评审专家本人所在单位（中文名称或代码；自动回避）")
@click.option("--name", "display_name", default="", help="显示名称")
@click.option("--email", default="", help="电子邮箱（用于截止提醒，可不填）")
@click.option("--password", prompt="密码", hide_input=True, confirmation_prompt="再次输入密码")
@click.pass_context
def users_add(ctx, username, role, unit_code, home_unit, display_name, email, password) -> None:
    from evidence.accounts import create_user
    from evidence.models import ROLES
    unit_code, home_unit = unit_code_of(unit_code), unit_code_of(home_unit)
    with account_change(ctx) as session:
        user = create_user(session, username, password, role, unit_code=unit_code,
                           display_name=display_name, home_unit_code=home_unit, email=email)
        record(session, "user_add", object_type="user", object_id=user.id,
               detail={"username": username, "role": role, "unit": unit_code, "via": "cli"})
    click.echo(f"已创建用户 {username}（{ROLES[role]}）")


CLI_OPTIONS = {"unit": "--unit", "home_unit": "--home-unit"}  # the option that sets a refused account field


@contextmanager
def account_change(ctx: click.Context):
    """A session for one change to accounts: an AccountError becomes a Chinese CLI error, success commits."""
    from evidence.accounts import AccountError
    from evidence.db import session_scope
    settings = require_initialised(ctx)
    with session_scope(settings.database_url) as session:
        try:
            yield session
        except AccountError as exc:
            session.rollback()
            option = CLI_OPTIONS.get(exc.field)
            raise KaopingError(f"{exc}（命令行用 {option} 指定，单位列表见 kaoping units）"
                               if option else str(exc)) from None
        session.commit()


def existing_user(session, username: str):
    from evidence.models import User
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise KaopingError(f"用户不存在：{username}（见 kaoping users list）")
    return user


@users.command("passwd")
@click.argument("username")
@click.option("--password", prompt="新密码", hide_input=True, confirmation_prompt="再次输入新密码")
@click.pass_context
def users_passwd(ctx, username, password) -> None:
    """设置用户的新密码（该用户的所有登录随即结束）。"""
    from evidence.accounts import set_password
    with account_change(ctx) as session:
        user = existing_user(session, username)
        ended = set_password(session, user, password)
        record(session, "password_change", object_type="user", object_id=user.id,
               detail={"username": username, "sessions_ended": ended})
    click.echo(f"已为 {username} 设置新密码，结束登录会话 {ended} 个。")


@users.command("set-role")
@click.argument("username")
@click.option("--role", type=click.Choice(["province", "reviewer", "office"]), required=True)
@click.option("--unit", "unit_code", help="改为省级填报人员时所属单位（中文名称或代码）")
@click.pass_context
def users_set_role(ctx, username, role, unit_code) -> None:
    """修改用户的角色（该用户的所有登录随即结束）。"""
    from evidence.accounts import set_role
    with account_change(ctx) as session:
        user = existing_user(session, username)
        change = set_role(session, user, role, unit_code=unit_code_of(unit_code))
        record(session, "user_update", object_type="user", object_id=user.id, detail={"username": username, **change})
    from evidence.models import ROLES
    click.echo(f"已将 {username} 的角色改为{ROLES[role]}，结束登录会话 {change['sessions_ended']} 个。")


@users.command("disable")
@click.argument("username")
@click.pass_context
def users_disable(ctx, username) -> None:
    """停用用户（该用户的所有登录随即结束；重新启用后也须重新登录）。"""
    set_active_from_cli(ctx, username, False)


@users.command("enable")
@click.argument("username")
@click.pass_context
def users_enable(ctx, username) -> None:
    """重新启用用户。"""
    set_active_from_cli(ctx, username, True)


def set_active_from_cli(ctx, username: str, active: bool) -> None:
    from evidence.accounts import set_active
    with account_change(ctx) as session:
        user = existing_user(session, username)
        ended = set_active(session, user, active)
        record(session, "user_update", object_type="user", object_id=user.id,
               detail={"username": username, "active": active, "sessions_ended": ended})
    click.echo(f"已{'启用' if active else '停用'}用户 {username}" + ("" if active else f"，结束登录会话 {ended} 个。"))


@users.command("signout")
@click.argument("username")
@click.pass_context
def users_signout(ctx, username) -> None:
    """让用户在所有设备上退出登录。"""
    from evidence.accounts import sign_out_everywhere
    with account_change(ctx) as session:
        user = existing_user(session, username)
        ended = sign_out_everywhere(session, user)
        record(session, "session_revoked", object_type="user", object_id=user.id,
               detail={"username": username, "sessions_ended": ended})
    click.echo(f"{username} 已在所有设备上退出（{ended} 个登录会话）。")



@users.command("email")
@click.argument("username")
@click.argument("address", default="")
@click.pass_context
def users_email(ctx, username: str, address: str) -> None:
    """登记或清除用户的电子邮箱（截止提醒发往此地址；不填地址即清除）。"""
    from evidence.accounts import normalise_email
    with account_change(ctx) as session:
        user = existing_user(session, username)
        email = normalise_email(address)
        record(session, "user_update", object_type="user", object_id=user.id,
               detail={"username": username, "field": "电子邮箱", "old": user.email, "new": email, "via": "cli"})
        user.email = email
    click.echo(f"已登记 {username} 的电子邮箱：{email}" if email else f"已清除 {username} 的电子邮箱。")


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
             "email": u.email, "active": u.active} for u in rows]
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    for d in data:
        click.echo(f"{d['username']:<16} {ROLES[d['role']]:<10} {d['unit'] or '':<4} {d['display_name']}")


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--unit", "unit_code", required=True, help="证据所属单位（中文名称或代码，如 江苏 或 JS）")
@click.option("--year", required=True, type=int, help="证据所属年度")
@click.option("--kind", help="文件类型（policy/notice/media/summary/briefing/case/research/statistics/other）")
@click.pass_context
def ingest(ctx, paths: tuple[Path, ...], unit_code: str, year: int, kind: str | None) -> None:
    """把文件、文件夹或压缩包导入数据目录，并完成提取、标注和索引。"""
    from evidence.db import session_scope
    from evidence.models import Unit
    from ingest.metadata import DOC_KINDS
    from ingest.submit import submit

    settings = require_initialised(ctx)
    unit_code = unit_code_of(unit_code)
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
                    # stored by an earlier run: if that run was interrupted, this one finishes it
                    version_ids.append(r.duplicate_of.current_version_id)
                if r.document is not None:
                    version_ids.append(r.document.current_version_id)
    _process_and_report(ctx, settings, version_ids, failed, duplicates)


def _process_and_report(ctx, settings, version_ids: list[int], failed: list[tuple[str, str]],
                        duplicates: list[str] = ()) -> None:
    """Work the queue until these versions are done (other workers may share it), then say per file
    what happened. Also finishes whatever an earlier, interrupted run left: rerun the same command."""
    from evidence.db import session_scope
    from evidence.models import Document, DocumentVersion
    from evidence.states import VersionState
    from ingest.queue import Worker, versions_settled

    with click.progressbar(length=len(version_ids), label="入库处理", file=sys.stderr) as bar:
        Worker(settings).run(once=True, on_done=bar.update, until=lambda: versions_settled(settings, version_ids))
    pending = []
    with session_scope(settings.database_url) as session:
        versions = session.exec(select(DocumentVersion).where(DocumentVersion.id.in_(version_ids))).all() if version_ids else []
        for v in versions:
            name = session.get(Document, v.document_id).filename
            if v.state == VersionState.FAILED:
                failed.append((name, v.error))
            elif v.state != VersionState.INDEXED:
                pending.append(name)
        indexed = sum(1 for v in versions if v.state == VersionState.INDEXED)
    click.echo(f"完成：入库 {indexed} 个，重复 {len(duplicates)} 个（未重复保存），失败 {len(failed)} 个"
               + (f"，等待自动重试 {len(pending)} 个" if pending else "") + "。")
    for name, reason in failed:
        click.echo(f"  失败：{name}：{reason}")
    for name in pending:
        click.echo(f"  等待重试：{name}（已保存，稍后由入库处理自动完成；kaoping worker 或网页服务运行时会继续）")
    if failed or pending:
        ctx.exit(2)


@click.command()
@click.option("--failed", "all_failed", is_flag=True, help="重试全部失败的文件")
@click.argument("version_ids", nargs=-1, type=int)
@click.pass_context
def retry(ctx, all_failed: bool, version_ids: tuple[int, ...]) -> None:
    """重新处理失败的文件（按版本编号，或 --failed 全部）。"""
    from evidence.db import session_scope
    from evidence.models import DocumentVersion
    from evidence.states import VersionState
    from ingest.submit import retry as retry_one
    settings = require_initialised(ctx)
    with session_scope(settings.database_url) as session:
        if all_failed:
            version_ids = tuple(session.exec(select(DocumentVersion.id).where(
                DocumentVersion.state == VersionState.FAILED)).all())
        queued = [v for v in version_ids if retry_one(session, v)]
        session.commit()
    click.echo(f"已重新排队 {len(queued)} 个文件。")
    _process_and_report(ctx, settings, queued, [])


@click.command()
@click.option("--fresh", is_flag=True, help="不从上次中断处继续，从头重建")
@click.option("--procs", type=click.IntRange(1, 64), default=None, help="并行建索引的进程数（默认：CPU 核数，至多 4）")
@click.pass_context
def reindex(ctx, fresh: bool, procs: int | None) -> None:
    """从数据库重建全文索引（分批提交，可中断后继续）。"""
    from evidence.db import session_scope
    from evidence.models import Passage, Document
    from index.feed import open_index, rebuild_index
    from index.writer import default_procs
    settings = require_initialised(ctx)
    with session_scope(settings.database_url) as session:
        from sqlalchemy import func
        total = session.exec(select(func.count(Passage.id)).join(Document, Document.current_version_id == Passage.version_id)
                             .where(Document.status == "active")).one()
    index = open_index(settings)
    with click.progressbar(length=total, label="重建索引", file=sys.stderr) as bar:
        failures = rebuild_index(settings, index, fresh=fresh, total=total, procs=procs or default_procs(),
                                 progress=lambda done, _total: bar.update(done - bar.pos))
    click.echo(f"索引已重建：{index.doc_count()} 个段落。")
    for version_id, reason in failures:
        click.echo(f"  未能写入索引：文件版本 {version_id}：{reason}")
    if failures:
        ctx.exit(2)


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
        report = retag_year(settings, year, open_index(settings), progress=bar.update)
    click.echo(f"已重新标注 {report.done} 个文件；评审专家的确认与否决保持不变。")
    for name, reason in report.failed:
        click.echo(f"  失败：{name}：{reason}")
    if report.failed:
        ctx.exit(2)


@click.command("train-tagger")
@click.option("--year", required=True, type=int)
@click.option("--set", "labelled", type=click.Path(exists=True, path_type=Path), default=None,
              help="同时学习的标注材料目录（开发集格式；默认取环境变量 KAOPING_TAGGER_SET）")
@click.option("--folds", type=click.IntRange(2, 20), default=5, show_default=True, help="交叉验证折数")
@click.pass_context
def train_tagger(ctx, year: int, labelled: Path | None, folds: int) -> None:
    """用评审专家对该年度标注的确认和否决（及标注材料）重新训练学习模型；交叉验证更好才替换。"""
    from review_ui.tagger_training import retrain_tagger
    settings = require_initialised(ctx)
    click.echo(f"正在训练并做 {folds} 折交叉验证，请稍候……")
    try:
        outcome = retrain_tagger(settings, year, labelled=str(labelled) if labelled else None, folds=folds)
    except ValueError as exc:
        raise KaopingError(str(exc)) from None
    click.echo(f"材料：标注文件 {outcome.n_documents} 份，评审反馈 {outcome.n_feedback} 条"
               f"（上次训练后新增 {outcome.n_new_feedback} 条）；{outcome.folds} 折交叉验证。")
    click.echo(f"  训练前：{outcome.before.line()}")
    click.echo(f"  训练后：{outcome.after.line()}")
    click.echo(outcome.message)
    if outcome.replaced:
        click.echo(f"运行 kaoping retag --year {year} 让已入库的材料用新模型重新标引。")


@click.command()
@click.option("--repair", is_flag=True, help="按数据库修复索引中缺少、过时和多余的条目，并重新排队停滞的文件")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@click.pass_context
def check(ctx, repair: bool, as_json: bool) -> None:
    """检查数据库与检索索引是否一致、入库队列是否正常（--repair 按数据库修复）。"""
    from index.feed import open_index
    from ingest.check import check as run_check
    settings = require_initialised(ctx)
    report = run_check(settings, open_index(settings), repair=repair)
    after = run_check(settings, open_index(settings)) if repair and report.problems else None
    if as_json:
        click.echo(json.dumps({**report.to_dict(), "after_repair": after.to_dict() if after else None},
                              ensure_ascii=False))
    else:
        click.echo("\n".join(report.lines()))
        if after is not None:
            click.echo("修复后复查：\n" + "\n".join(after.lines()))
    final = after or report
    if final.problems or final.queue.alarms:
        ctx.exit(2)


COMMANDS = [init, serve, worker, demo, users, ingest, retry, reindex, retag, train_tagger, check]
