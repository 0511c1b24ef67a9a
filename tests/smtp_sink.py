"""A tiny SMTP server on 127.0.0.1 that keeps every message it is given, for tests of e-mail that must
never leave the machine. It speaks just enough SMTP for smtplib (EHLO, MAIL, RCPT, DATA, RSET, QUIT);
addresses in `refuse` are rejected at RCPT the way a real server rejects an unknown mailbox."""
from __future__ import annotations

import email
import email.policy
import socketserver
import threading
from contextlib import contextmanager


class _Handler(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")

    def handle(self) -> None:
        sink: SmtpSink = self.server.sink
        sender, recipients = "", []
        self.reply("220 127.0.0.1 test sink")
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            command = raw.decode("utf-8", "replace").strip()
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-127.0.0.1")
                self.reply("250-8BITMIME")
                self.reply("250 SMTPUTF8")
            elif verb == "HELO" or verb in ("NOOP", "RSET"):
                sender, recipients = ("", []) if verb == "RSET" else (sender, recipients)
                self.reply("250 OK")
            elif verb == "MAIL":
                sender = command.split(":", 1)[1].strip().split(" ")[0].strip("<>")
                self.reply("250 OK")
            elif verb == "RCPT":
                address = command.split(":", 1)[1].strip().split(" ")[0].strip("<>")
                if address in sink.refuse:
                    self.reply("550 mailbox unavailable")
                else:
                    recipients.append(address)
                    self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                lines = []
                while True:
                    line = self.rfile.readline()
                    if line in (b".\r\n", b".\n", b""):
                        break
                    lines.append(line[1:] if line.startswith(b"..") else line)
                message = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
                with sink.lock:
                    sink.messages.append({"from": sender, "to": list(recipients), "message": message})
                sender, recipients = "", []
                self.reply("250 OK queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class SmtpSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.sink = self
        self.messages: list[dict] = []
        self.refuse: set[str] = set()
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def body(self, n: int) -> str:
        return self.messages[n]["message"].get_body(("plain",)).get_content()


@contextmanager
def smtp_sink():
    server = SmtpSink()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
