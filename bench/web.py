"""Web load benchmark: N reviewers at once against ``kaoping serve`` on 127.0.0.1.

    nice .venv/bin/python -m bench.web --reviewers 50 --docs 3000        # the reference run
    .venv/bin/python -m bench.web --reviewers 5 --docs 100 --duration 20  # a quick look

1. A data directory (``--workdir``, reused when it already holds ``--docs``
   documents): ``--docs`` documents assembled from the realistic corpus of
   ``bench/corpus.py``, written as the pipeline leaves them (passages, tag
   suggestions) and indexed by the app's own rebuild; N reviewer accounts,
   each assigned 3 indicators in 2 units.
2. ``kaoping serve`` (``--workers`` web processes) is started on 127.0.0.1.
3. Phase "think": all N reviewers log in at the same moment (or spread over
   ``--login-spread`` seconds), then repeat home → search → open a hit →
   scoring item, with 1–5 s think time (``--think``), for ``--duration`` s.
   A third of the way in a province user uploads a document; the run reports
   how long until the ingest worker has indexed it and search finds it.
4. Phase "saturation": the same journeys with no think time, for
   ``--saturation`` s: the server's throughput.
Prints p50/p95/p99 per page, 5xx and other errors, and requests/s. Bounded:
every request has a timeout, phases stop by the clock, the server is stopped
at the end. The load generator shares the 2 cores with the server.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import corpus as C  # noqa: E402

YEAR = 2023
PASSWORD = "bench-password-2023"
HIT_LINK = re.compile(r'href="(/evidence/\d+\?page=\d+&(?:amp;)?passage=\d+)')
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# ---------------------------------------------------------------- data directory

def prepare(data_dir: Path, n_docs: int, n_reviewers: int, shared: Path | None = None) -> dict:
    """Build (or reuse) the data directory; returns what the reviewers work on."""
    from sqlmodel import func, select

    from evidence.accounts import create_user
    from evidence.config import Settings
    from evidence.db import session_scope
    from evidence.models import Document, User
    from review import assign as A
    from review.ratings import system_for_year
    from review_ui.commands.core import initialise

    settings = Settings.load(data_dir)
    if not (data_dir / "kaoping.db").exists():
        initialise(settings)
    with session_scope(settings.database_url) as s:
        have = s.exec(select(func.count()).select_from(Document)).one()
    if have < n_docs:
        t = time.perf_counter()
        add_documents(settings, have, n_docs, shared)
        from index.feed import all_index_records, open_index
        from index.writer import default_procs
        open_index(settings).rebuild(all_index_records(settings), procs=default_procs())
        print(f"数据目录：写入 {n_docs - have} 篇文档并重建索引 {time.perf_counter() - t:.0f} s", flush=True)
    rated = sorted(i.no for i in system_for_year(YEAR).rated_indicators())
    work = {}
    with session_scope(settings.database_url) as s:
        users = {u.username: u for u in s.exec(select(User))}
        if "bench-office" not in users:
            users["bench-office"] = create_user(s, "bench-office", PASSWORD, "office")
        if "bench-gd" not in users:
            users["bench-gd"] = create_user(s, "bench-gd", PASSWORD, "province", unit_code="GD")
        rng = random.Random(3)
        for i in range(n_reviewers):
            name = f"bench-r{i:03d}"
            if name not in users:
                users[name] = create_user(s, name, PASSWORD, "reviewer", home_unit_code=C.UNITS[i % 32])
            units = [u for u in rng.sample(C.UNITS, 3) if u != C.UNITS[i % 32]][:2]
            nos = rng.sample(rated, 3)
            for unit in units:
                A.assign(s, users["bench-office"], YEAR, users[name], unit, nos, set(rated))
            work[name] = [(unit, no) for unit in units for no in nos]
        s.commit()
    return work


def add_documents(settings, have: int, n_docs: int, shared: Path | None = None) -> None:
    """Documents as the pipeline leaves them (versions indexed, passages, the
    tagger's suggestions), written directly: the pipeline itself runs ~2 s a
    document on this machine, and the upload made during the run exercises it."""
    from evidence.db import session_scope
    from evidence.models import Document, DocumentVersion, Passage, StoredFile, TagSuggestion
    from evidence.store import FileStore

    store = FileStore(settings.files_dir)
    source = C.load_source(C.find_shared(shared))
    rng = random.Random(5)
    batch = []
    for d, meta, body in C.documents(source, n_docs, seed=11):
        year = YEAR if rng.random() < 0.5 else meta["year"]  # half in the year being scored
        if d >= have:
            batch.append((d, meta, body, year))
        if len(batch) == 200 or (batch and d == n_docs - 1):
            with session_scope(settings.database_url) as s:
                for d2, meta2, body2, year2 in batch:
                    text = "".join(body2)
                    sha, size = store.put_bytes(text.encode("utf-8"))
                    if s.get(StoredFile, sha) is None:
                        s.add(StoredFile(sha256=sha, size=size, mime="text/plain"))
                    _add_document(s, d2, meta2, text, body2, year2, sha, Document, DocumentVersion, Passage,
                                  TagSuggestion)
                s.commit()
            batch = []


def _add_document(s, d, meta, text, body, year, sha, Document, DocumentVersion, Passage, TagSuggestion) -> None:
    title = f"{meta['unit_name']}{year}年产业工人队伍建设改革材料{d}"
    doc = Document(unit_code=meta["unit"], year=year, filename=f"材料{d}.txt")
    s.add(doc)
    s.flush()
    version = DocumentVersion(document_id=doc.id, file_sha256=sha, state="indexed", format="txt", text=text,
                              page_count=len(text) // C.PAGE_CHARS + 1, title=title, doc_kind=meta["kind"],
                              doc_number=f"{meta['unit_name'][:1]}产改〔{year}〕{d % 97 + 1}号",
                              issuer=meta["unit_name"] + "总工会")
    s.add(version)
    s.flush()
    doc.current_version_id = version.id
    for seq, (start, part) in enumerate(C.split_body(body)):
        passage = Passage(version_id=version.id, seq=seq, page_no=start // C.PAGE_CHARS + 1, start=start,
                          end=start + len(part), text=part)
        s.add(passage)
        s.flush()
        for no in meta["indicators"][:2] if seq % 3 == 0 else ():
            s.add(TagSuggestion(version_id=version.id, passage_id=passage.id, indicator_no=int(no), score=0.8,
                                reason="bench", matched_terms=[]))


# ---------------------------------------------------------------- load

class Stats:
    def __init__(self):
        self.ms: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.failed_at: list[str] = []   # when (s into the run) and why requests failed
        self.server_errors = 0
        self.requests = 0
        self.t0 = time.monotonic()

    def add(self, page: str, ms: float, status: int | None, error: str = "") -> None:
        self.requests += 1
        self.ms.setdefault(page, []).append(ms)
        if status is None or status >= 400:
            key = f"{page} {status or '超时/连接失败'}"
            self.errors[key] = self.errors.get(key, 0) + 1
            if status is None or status >= 500:
                self.server_errors += 1
                started = time.monotonic() - self.t0 - ms / 1000
                self.failed_at.append(f"{page}@{started:.0f}s{'（' + error + '）' if error else ''}")


async def timed(client, stats: Stats, page: str, method: str, url: str, **kw):
    t = time.perf_counter()
    error = ""
    try:
        r = await client.request(method, url, **kw)
        status = r.status_code
    except Exception as exc:
        r, status, error = None, None, type(exc).__name__
    stats.add(page, (time.perf_counter() - t) * 1000, status, error)
    return r


async def log_in(client, stats: Stats, username: str) -> bool:
    r = await timed(client, stats, "登录页", "GET", "/login")
    token = CSRF.search(r.text).group(1) if r is not None and r.status_code == 200 else ""
    r = await timed(client, stats, "登录", "POST", "/login",
                    data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"})
    return r is not None and r.status_code == 303


async def journey(client, stats: Stats, items, words, rng: random.Random) -> None:
    await timed(client, stats, "首页", "GET", "/")
    r = await timed(client, stats, "检索", "GET", "/search", params={"q": rng.choice(words)})
    links = HIT_LINK.findall(r.text) if r is not None and r.status_code == 200 else []
    if links:
        await timed(client, stats, "打开命中", "GET", rng.choice(links[:10]).replace("&amp;", "&"))
    unit, no = rng.choice(items)
    await timed(client, stats, "评分项", "GET", f"/scoring/{YEAR}/{unit}/{no}")


async def reviewer(base: str, name: str, items, words, stats_of, clock, args, start_gate, seed: int):
    import httpx
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, timeout=args.timeout, follow_redirects=False) as client:
        await start_gate.wait()
        if args.login_spread:
            await asyncio.sleep(rng.uniform(0, args.login_spread))
        if not await log_in(client, stats_of("think"), name):
            return
        while time.monotonic() < clock["think_end"]:
            await journey(client, stats_of("think"), items, words, rng)
            await asyncio.sleep(rng.uniform(*args.think))
        await clock["saturation_gate"].wait()
        while time.monotonic() < clock["saturation_end"]:
            await journey(client, stats_of("saturation"), items, words, rng)


async def upload_probe(base: str, data_dir: Path, clock, result: dict, args):
    """A province user uploads during the run; when is it indexed, and found by search?"""
    import httpx
    from sqlmodel import select

    from evidence.config import Settings
    from evidence.db import session_scope
    from evidence.models import Document, DocumentVersion

    await asyncio.sleep(args.duration / 3)
    marker = f"压测上传标记{random.randrange(10 ** 6, 10 ** 7)}"
    body = f"广东省产业工人队伍建设改革材料\n{marker}：广东省总工会组织开展职工技能竞赛。\n".encode("utf-8")
    settings = Settings.load(data_dir)
    async with httpx.AsyncClient(base_url=base, timeout=args.timeout) as client:
        page = await client.get("/login")
        token = CSRF.search(page.text).group(1)
        await client.post("/login", data={"username": "bench-gd", "password": PASSWORD, "csrf_token": token})
        page = await client.get("/evidence/upload")
        token = CSRF.search(page.text).group(1)
        t0 = time.monotonic()
        r = await client.post("/evidence/upload", data={"csrf_token": token, "year": str(YEAR)},
                              files={"files": (f"{marker}.txt", body, "text/plain")})
        result["upload_status"] = r.status_code
        while time.monotonic() < clock["saturation_end"]:
            with session_scope(settings.database_url) as s:
                state = s.exec(select(DocumentVersion.state).join(
                    Document, Document.current_version_id == DocumentVersion.id).where(
                    Document.filename == f"{marker}.txt")).first()
            if state == "indexed" and "indexed_s" not in result:
                result["indexed_s"] = time.monotonic() - t0
            if "indexed_s" in result:
                found = await client.get("/search", params={"q": marker})
                if marker in found.text and "/evidence/" in found.text:
                    result["searchable_s"] = time.monotonic() - t0
                    return
            await asyncio.sleep(0.25)


async def run_load(base: str, data_dir: Path, work: dict, words: list[str], args):
    stats = {"think": Stats(), "saturation": Stats()}
    now = time.monotonic()
    clock = {"think_end": now + args.duration, "saturation_gate": asyncio.Event(),
             "saturation_end": now + args.duration + args.saturation + 5}
    gate = asyncio.Event()
    upload: dict = {}
    tasks = [asyncio.create_task(reviewer(base, name, items, words, stats.__getitem__, clock, args, gate, i))
             for i, (name, items) in enumerate(sorted(work.items()))]
    probe = asyncio.create_task(upload_probe(base, data_dir, clock, upload, args))
    gate.set()  # every reviewer logs in at this moment (unless spread)
    await asyncio.sleep(max(0.0, clock["think_end"] - time.monotonic()))
    await asyncio.sleep(args.think[1] + 1)  # let the last journeys of the phase finish
    clock["saturation_start"] = time.monotonic()
    clock["saturation_end"] = clock["saturation_start"] + args.saturation
    clock["saturation_gate"].set()
    await asyncio.wait(tasks, timeout=args.saturation + args.timeout * 5)
    for t in tasks:
        t.cancel()
    await asyncio.wait([probe], timeout=5)
    probe.cancel()
    elapsed_sat = time.monotonic() - clock["saturation_start"]
    return stats, upload, elapsed_sat


# ---------------------------------------------------------------- server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, port: int, workers: int) -> subprocess.Popen:
    env = dict(os.environ, KAOPING_DATA_DIR=str(data_dir))
    env.pop("KAOPING_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "review_ui.cli", "serve", "--host", "127.0.0.1", "--port",
                             str(port), "--workers", str(workers)], env=env, cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=open(data_dir / "bench-server.log", "w"))
    import httpx
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    stop_server(proc)
    raise SystemExit(f"服务器未能启动，见 {data_dir / 'bench-server.log'}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: the server and its web processes only
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# ---------------------------------------------------------------- report

def percentiles(ms: list[float]) -> tuple[float, float, float]:
    if len(ms) < 2:
        return (ms[0],) * 3 if ms else (0.0, 0.0, 0.0)
    qs = statistics.quantiles(ms, n=100, method="inclusive")
    return qs[49], qs[94], qs[98]


def report(title: str, st: Stats, seconds: float) -> None:
    print(f"{title}：{st.requests} 个请求，{st.requests / max(seconds, 1e-9):.1f} 请求/s，5xx/超时 {st.server_errors}")
    for page, ms in st.ms.items():
        p = percentiles(ms)
        print(f"  {page:<6} n={len(ms):<5} p50/p95/p99 = {p[0]:.0f} / {p[1]:.0f} / {p[2]:.0f} ms")
    if st.errors:
        print("  错误：" + "；".join(f"{k} ×{v}" for k, v in sorted(st.errors.items())))
    if st.failed_at:
        print("  失败的请求（开始于第几秒）：" + "、".join(st.failed_at[:20]))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reviewers", type=int, default=50)
    ap.add_argument("--docs", type=int, default=3000)
    ap.add_argument("--duration", type=float, default=90, help="seconds of the think-time phase")
    ap.add_argument("--saturation", type=float, default=30, help="seconds of the no-think phase")
    ap.add_argument("--think", type=float, nargs=2, default=(1.0, 5.0), metavar=("MIN", "MAX"))
    ap.add_argument("--login-spread", type=float, default=0.0, help="spread logins over this many seconds")
    ap.add_argument("--workers", type=int, default=1, help="kaoping serve --workers")
    ap.add_argument("--timeout", type=float, default=30.0, help="per request")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/kaoping-bench-web"))
    ap.add_argument("--prepare-only", action="store_true", help="build the data directory and stop")
    ap.add_argument("--shared", type=Path, default=None, help="the shared material (default ../shared)")
    args = ap.parse_args(argv)
    data_dir = args.workdir / f"data-{args.docs}"
    data_dir.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    work = prepare(data_dir, args.docs, args.reviewers, args.shared)
    if args.prepare_only:
        print(f"数据目录已就绪：{data_dir}（{time.perf_counter() - t:.0f} s）")
        return
    source = C.load_source(C.find_shared(args.shared))
    words = sorted({w for _, _, ss in source.docs for s in ss[:5] for w in re.findall(r"[\u4e00-\u9fff]{2,4}", s)})
    print(f"准备 {time.perf_counter() - t:.0f} s；{args.docs} 篇文档，{args.reviewers} 名评审；{args.workers} 个网页进程；"
          f"负载 {os.getloadavg()[0]:.1f}；CPU {os.cpu_count()} 核（与压测端共用）", flush=True)
    port = free_port()
    server = start_server(data_dir, port, args.workers)
    try:
        stats, upload, sat_s = asyncio.run(run_load(f"http://127.0.0.1:{port}", data_dir, work, words, args))
    finally:
        stop_server(server)
    how = f"{args.login_spread:.0f} s 内分散登录" if args.login_spread else "同一时刻登录"
    report(f"阶段一（{args.reviewers} 人{how}，思考时间 {args.think[0]:.0f}–{args.think[1]:.0f} s，{args.duration:.0f} s）",
           stats["think"], args.duration)
    report(f"阶段二（无思考时间，饱和吞吐，{sat_s:.0f} s）", stats["saturation"], sat_s)
    print("运行中上传：HTTP {}，入库完成 {}，可检索 {}".format(
        upload.get("upload_status", "未发出"),
        f"{upload['indexed_s']:.1f} s" if "indexed_s" in upload else "未完成",
        f"{upload['searchable_s']:.1f} s" if "searchable_s" in upload else "未检索到"))
    print(f"结束时负载 {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
