"""Sending e-mail over SMTP (the standard library's smtplib) with the KAOPING_SMTP_* settings.

One connection per run of `kaoping remind`; STARTTLS by default (port 587), TLS from the start on
port 465, plain only when KAOPING_SMTP_STARTTLS=0 (a relay on the same machine). Failures are
reported in Chinese, since an operator reads them.
"""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from evidence.config import SmtpSettings

TIMEOUT_S = 30


class MailError(RuntimeError):
    pass


def _reason(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "邮件服务器拒绝了用户名或密码（KAOPING_SMTP_USER / KAOPING_SMTP_PASSWORD）"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "邮件服务器拒收该收件地址"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"邮件服务器拒绝（代码 {exc.smtp_code}）"
    if isinstance(exc, (smtplib.SMTPException, ssl.SSLError)):
        return "与邮件服务器的会话失败（加密或协议不匹配，可检查 KAOPING_SMTP_STARTTLS 和端口）"
    return "无法连接邮件服务器（检查 KAOPING_SMTP_HOST 和 KAOPING_SMTP_PORT）"


class SmtpMailer:
    """Use as a context manager; send(to, subject, body) raises MailError with a Chinese reason."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "SmtpMailer":
        s = self.settings
        try:
            if s.port == 465:
                self.smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=TIMEOUT_S, context=ssl.create_default_context())
            else:
                self.smtp = smtplib.SMTP(s.host, s.port, timeout=TIMEOUT_S)
                if s.starttls:
                    self.smtp.starttls(context=ssl.create_default_context())
            if s.user:
                self.smtp.login(s.user, s.password)
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise MailError(_reason(exc)) from exc
        return self

    def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.settings.sender, to, subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=self.settings.sender.rpartition("@")[2] or None)
        message.set_content(body)  # UTF-8, as every mail client in China reads it
        try:
            self.smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(_reason(exc)) from exc

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None

    def __exit__(self, *exc) -> None:
        self.close()
