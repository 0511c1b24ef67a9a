"""`kaoping remind`: deadline reminders by e-mail, for cron or a systemd timer (docs/web.md)."""
from __future__ import annotations

import click

from .core import KaopingError, require_initialised


@click.command()
@click.option("--dry-run", is_flag=True, help="只列出现在应发送的提醒，不发送、不记录")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="按该日期计算（默认今天，北京时间）")
@click.option("--link", envvar="KAOPING_PUBLIC_URL", default="",
              help="邮件中给出的系统地址（或环境变量 KAOPING_PUBLIC_URL），如 https://kaoping.example.cn/")
@click.pass_context
def remind(ctx: click.Context, dry_run: bool, today, link: str) -> None:
    """向登记了电子邮箱的用户发送截止提醒（截止前 7、3、1、0 天各一次，逾期再一次）。

    可由 cron 或 systemd 定时器每天运行；重复运行不会重复发送。需要 KAOPING_SMTP_HOST 等设置。"""
    from evidence.config import SmtpSettings
    from evidence.db import session_scope
    from review.reminders import pending, send_reminders
    from review.worklist import reminder_line

    from ..mailer import MailError, SmtpMailer
    settings = require_initialised(ctx)
    day = today.date() if today else None
    with session_scope(settings.database_url) as session:
        owed = pending(session, day)
        if dry_run or not owed:
            for r in owed:
                click.echo(f"{r.user.display_name or r.user.username}（{r.user.email}）：")
                for task in r.tasks:
                    click.echo(f"  · {reminder_line(task)}")
            click.echo(f"应发送 {len(owed)} 封提醒邮件（试运行，未发送）。" if dry_run and owed else
                       "现在没有需要发送的提醒。")
            return
        smtp = SmtpSettings.load()
        if smtp is None:
            raise KaopingError("未配置邮件服务器：请设置 KAOPING_SMTP_HOST（及 PORT、USER、PASSWORD、FROM、STARTTLS），"
                               "见 docs/web.md。工作台内的提醒照常显示。")
        try:
            with SmtpMailer(smtp) as mailer:
                outcome = send_reminders(session, mailer.send, day, link)
        except MailError as exc:
            raise KaopingError(f"{exc}；本次没有发送提醒，下次运行会重试。") from None
    click.echo(f"已发送 {len(outcome.sent)} 封提醒邮件（{sum(len(r.marks) for r in outcome.sent)} 项截止事项）。")
    for who, address, reason in outcome.failed:
        click.echo(f"  未发送：{who}（{address}）：{reason}；下次运行会重试。", err=True)
    if outcome.failed:
        ctx.exit(2)


COMMANDS = [remind]
