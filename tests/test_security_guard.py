"""Bodies are refused on their headers, before a byte of them is read (review_ui/guard.py)."""
from __future__ import annotations

import socket

import anyio
import pytest

from review_ui.guard import RequestGuard, body_limit

HUGE = 300 * 1024 * 1024


def raw_headers_only(port: int, head: str) -> str:
    """Send the request line and headers, never the body, and read what the server answers."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(10)  # a guard against hanging, not a timing assertion
        sock.sendall(head.encode("latin-1"))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.decode("utf-8", "replace")


def upload_head(length: int, cookie: str = "", extra: str = "") -> str:
    return ("POST /evidence/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: multipart/form-data; boundary=xyz\r\n"
            f"Content-Length: {length}\r\n" + (f"Cookie: kaoping_session={cookie}\r\n" if cookie else "")
            + extra + "\r\n")


def test_anonymous_300_mb_upload_is_answered_before_its_body_is_sent(server):
    answer = raw_headers_only(server, upload_head(HUGE))
    assert answer.startswith("HTTP/1.1 401"), answer[:200]  # refused for want of a login, body unread


def test_anonymous_login_with_a_huge_body_is_answered_before_its_body_is_sent(server):
    head = ("POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {HUGE}\r\n\r\n")
    assert raw_headers_only(server, head).startswith("HTTP/1.1 403")


def test_logged_in_upload_announcing_more_than_the_limit_is_answered_413_before_its_body(server, make_user, login):
    make_user("js", "province", unit="JS")
    client = login("js")
    cookie = client.cookies.get("kaoping_session")
    answer = raw_headers_only(server, upload_head(HUGE, cookie, f"X-CSRF-Token: {client.csrf}\r\n"))
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    # without the header token the limit still applies on the headers alone
    answer = raw_headers_only(server, upload_head(HUGE, cookie))
    assert answer.startswith("HTTP/1.1 413"), answer[:200]


def test_a_session_without_a_user_cannot_post_anywhere_but_login(client):
    client.get("/login")  # an anonymous session with a CSRF token
    response = client.post("/evidence/upload", files=[("files", ("a.txt", b"x", "text/plain"))],
                           follow_redirects=False)
    assert response.status_code == 401
    assert response.headers.get("HX-Redirect") == "/login"


def test_a_wrong_csrf_header_is_refused_before_reading(make_user, login):
    make_user("js", "province", unit="JS")
    client = login("js")
    response = client.post("/evidence/upload", headers={"X-CSRF-Token": "forged"},
                           files=[("files", ("a.txt", "工匠".encode(), "text/plain"))])
    assert response.status_code == 403 and "CSRF" in response.text


def test_chunked_body_over_the_limit_is_refused_while_streaming(settings, make_user, login):
    make_user("js", "province", unit="JS")
    client = login("js")
    limit = body_limit(settings, "POST", "/evidence/1/withdraw")
    sent = []

    def chunks():  # no Content-Length: httpx sends this chunked
        for _ in range(limit // 65536 + 10):
            sent.append(1)
            yield b"a" * 65536

    response = client.post("/evidence/1/withdraw", content=chunks(),
                           headers={"X-CSRF-Token": client.csrf, "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
    assert "超过上限" in response.text


# ── the middleware on its own: the body is never pulled ──────────────────────

def guard_for(settings, app, max_parallel_uploads=2):
    from review_ui.app import error_page
    return RequestGuard(app, settings=settings, respond=error_page, max_parallel_uploads=max_parallel_uploads)


def scope_for(path: str, session: dict, headers: list[tuple[bytes, bytes]]):
    return {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "query_string": b"",
            "headers": headers, "session": session, "scheme": "http", "server": ("t", 80), "client": ("1.2.3.4", 1),
            "http_version": "1.1", "root_path": "", "app": None}


@pytest.mark.parametrize("path, session, headers, status", [
    ("/evidence/upload", {}, [(b"content-length", b"10")], 401),  # no login: the cause named is the login
    ("/login", {}, [(b"content-length", b"10")], 403),  # a login form with no session cannot carry a token
    ("/evidence/upload", {"csrf": "t"}, [(b"content-length", b"10")], 401),
    ("/evidence/upload", {"csrf": "t", "uid": 1}, [(b"content-length", str(HUGE).encode())], 413),
    ("/evidence/upload", {"csrf": "t", "uid": 1}, [(b"x-csrf-token", b"other")], 403),
    ("/evidence/upload", {"csrf": "t", "uid": 1}, [(b"sec-fetch-site", b"cross-site"), (b"content-length", b"10")], 403),
    ("/evidence/upload", {"csrf": "t", "uid": 1}, [(b"sec-fetch-site", b"same-site"), (b"content-length", b"10")], 403),
])
def test_refusals_never_call_receive(settings, path, session, headers, status):
    received, sent = [], []

    async def receive():
        received.append(1)
        return {"type": "http.request", "body": b"x" * 10, "more_body": False}

    async def send(message):
        sent.append(message)

    async def app(scope, receive, send):
        raise AssertionError("the app must not run")

    guard = guard_for(settings, app)
    scope = scope_for(path, session, headers)
    scope["app"] = type("A", (), {"state": type("S", (), {"settings": settings})()})()
    anyio.run(guard, scope, receive, send)
    assert received == []
    assert sent[0]["status"] == status


def test_parallel_uploads_of_one_user_are_bounded(settings):
    entered = []

    async def main():
        gate = anyio.Event()

        async def app(scope, receive, send):
            entered.append(1)
            await gate.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        guard = guard_for(settings, app, max_parallel_uploads=2)
        statuses = []

        async def one():
            async def receive():
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message):
                if message["type"] == "http.response.start":
                    statuses.append(message["status"])
            scope = scope_for("/evidence/upload", {"csrf": "t", "uid": 7}, [(b"x-csrf-token", b"t")])
            await guard(scope, receive, send)

        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(one)
            while len(entered) + statuses.count(429) < 3:
                await anyio.sleep(0.01)
            gate.set()
        return statuses

    statuses = anyio.run(main)
    assert sorted(statuses) == [200, 200, 429]
    assert len(entered) == 2


def test_the_upload_bound_holds_across_processes(settings):
    """Two guards (two web processes of `serve --workers 2`) share the bound; a process that dies frees its slots."""
    import subprocess
    import sys

    from review_ui.guard import UploadSlots
    folder = settings.work_dir / "upload-slots"
    holder = subprocess.Popen([sys.executable, "-c", f"""
import sys, time
from review_ui.guard import UploadSlots
with UploadSlots({str(folder)!r}, 2).take(7) as a, UploadSlots({str(folder)!r}, 2).take(7) as b:
    print(a, b, flush=True)
    time.sleep(60)
"""], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().split() == ["0", "1"]  # another process holds both of user 7's slots
        statuses = []

        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        for uid in (7, 8):
            anyio.run(guard_for(settings, app), scope_for("/evidence/upload", {"csrf": "t", "uid": uid},
                                                           [(b"x-csrf-token", b"t")]), receive, send)
        assert statuses == [429, 200]  # user 7 waits; user 8 is not affected
    finally:
        holder.kill()
        holder.wait()
    with UploadSlots(folder, 2).take(7) as slot:
        assert slot == 0  # the killed process's locks are gone with it
