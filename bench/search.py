"""Search benchmark: Kaoping's Whoosh index against SQLite FTS5 and Tantivy on one realistic corpus.

    nice .venv/bin/python -m bench.search --docs 20000             # the reference runs
    nice .venv/bin/python -m bench.search --docs 100000
    .venv/bin/python -m bench.search --docs 300 --queries 60       # a quick look

The corpus (``bench/corpus.py``) is assembled at run time from the real
sentences of ``../shared/devset/corpus/`` (the output says which source was
used), streamed and deterministic. Every engine indexes the same passages and
answers the same queries, each timed as the application runs it: total
count, facets (unit, year, kind) where the engine has them, and top-10 hits
with highlighted snippets.

Peers, as references:

* SQLite FTS5 over the same segmented words: the text is cut by the same
  rjieba segmenter, joined with spaces and indexed with ``unicode61``; a
  phrase is a phrase of words; facets are one GROUP BY over the match.
* Tantivy (``pip install -e .[bench]``), the physical limit: the same spaced
  words, positions, raw-token unit/kind/indicator fields, fast fields for
  facets (``aggregate``), ``SnippetGenerator`` highlights; one indexing thread
  like the others.

Kaoping answers *substrings* (any CJK text, one character included); the
word-based peers only find whole segmented words, so their hit counts are
lower (printed): they are the speed and size to beat, not the same answers.
The peers' indexing time includes segmentation, as Kaoping's includes its
own analysis.

Each engine is built in one child process and queried in a fresh one, so
"cold first query" is the first query of a process that has just opened
the index (the files are in the OS cache, as on a running server), and peak
memory (max RSS) is per phase. Outputs stay in ``--workdir`` (/tmp), never
in the project.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import re
import resource
import shutil
import sqlite3
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import corpus as C  # noqa: E402

CLASSES = ["单字", "常用词", "少见词", "短语", "两词", "词+单位", "词+年度范围", "OR+类型", "NOT+权限", "词+指标+年度"]


# ---------------------------------------------------------------- queries

def _vocabulary(source: C.Source):
    from index.analysis import word_tokens
    counts: Counter = Counter()
    sentences = [s for _, _, ss in source.docs for s in ss]
    for s in sentences:
        counts.update(w for w, _, _ in word_tokens(s) if re.fullmatch(r"[\u4e00-\u9fff]{2,6}", w))
    return sentences, counts


def make_queries(source: C.Source, n: int, seed: int = 7) -> list[dict]:
    """Query specs, one class after another; each engine renders them in its own syntax."""
    rng = random.Random(seed)
    sentences, counts = _vocabulary(source)
    common = [w for w, _ in counts.most_common(300)]
    rare = sorted(w for w, c in counts.items() if c <= 3) or common
    chars = sorted({c for s in sentences for c in s if "\u4e00" <= c <= "\u9fff"})
    word = lambda: rng.choice(common) if rng.random() < 0.5 else rng.choice(rare)  # noqa: E731
    out = []
    for i in range(n):
        cls = CLASSES[i % len(CLASSES)]
        q = {"cls": cls, "must": [], "phrase": False, "any": [], "not": [], "unit": None, "years": None,
             "kind": None, "allowed": None, "indicator": None, "year": None}
        if cls == "单字":
            q["must"] = [rng.choice(chars)]
        elif cls == "常用词":
            q["must"] = [rng.choice(common)]
        elif cls == "少见词":
            q["must"] = [rng.choice(rare)]
        elif cls == "短语":
            s = rng.choice([s for s in sentences if len(s) >= 12])
            a = rng.randrange(len(s) - 10)
            q["must"], q["phrase"] = [s[a:a + rng.randint(4, 10)]], True
        elif cls == "两词":
            q["must"] = [word(), word()]
        elif cls == "词+单位":
            q["must"], q["unit"] = [word()], rng.choice(C.UNITS)
        elif cls == "词+年度范围":
            y = rng.choice(C.YEARS)
            q["must"], q["years"] = [word()], (y - 2, y)
        elif cls == "OR+类型":
            q["any"], q["kind"] = [word(), word()], rng.choice([d[0] for d in source.docs])
        elif cls == "NOT+权限":
            q["must"], q["not"], q["allowed"] = [rng.choice(common)], [word()], rng.sample(C.UNITS, 3)
        else:
            q["must"], q["indicator"], q["year"] = [word()], str(rng.randint(1, 88)), rng.choice(C.YEARS)
        out.append(q)
    return out


def kaoping_query(q: dict) -> tuple[str, dict]:
    parts = [f'"{w}"' if q["phrase"] else w for w in q["must"]]
    if q["any"]:
        parts.append(" OR ".join(q["any"]))
    parts += [f"NOT {w}" for w in q["not"]]
    if q["unit"]:
        parts.append(f"unit:{q['unit']}")
    if q["years"]:
        parts.append(f"year:{q['years'][0]}..{q['years'][1]}")
    if q["indicator"]:
        parts.append(f"指标:{q['indicator']}")
    kw = {k2: q[k] for k, k2 in (("kind", "kind"), ("allowed", "allowed_units"), ("year", "year")) if q[k]}
    return " ".join(parts), kw


def _words(text: str) -> list[str]:
    from index.analysis import word_tokens
    return [w for w, _, _ in word_tokens(text)]


def spaced(text: str) -> str:
    return " ".join(_words(text))


# ---------------------------------------------------------------- measuring

def percentiles(ms: list[float]) -> tuple[float, float, float]:
    if len(ms) < 2:
        return (ms[0],) * 3 if ms else (0.0, 0.0, 0.0)
    qs = statistics.quantiles(ms, n=100, method="inclusive")
    return qs[49], qs[94], qs[98]


def dir_size(path: Path) -> int:
    if path.is_file():
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_child(fn, *args):
    """Run fn in a fresh forked process; its own max RSS is measured there."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)

    def run():
        try:
            child.send(("ok", fn(*args)))
        except BaseException as exc:  # the parent reports it
            child.send(("error", repr(exc)))

    p = ctx.Process(target=run)
    p.start()
    status, value = parent.recv()
    p.join()
    if status != "ok":
        raise RuntimeError(value)
    return value


def time_queries(run_one, queries) -> dict:
    t = time.perf_counter()
    run_one(queries[0])
    cold = (time.perf_counter() - t) * 1000
    lat, by_cls, hits = [], {}, []
    for q in queries:
        t = time.perf_counter()
        total = run_one(q)
        ms = (time.perf_counter() - t) * 1000
        lat.append(ms)
        by_cls.setdefault(q["cls"], []).append(ms)
        hits.append(total)
    return {"cold_ms": cold, "lat": lat, "by_cls": by_cls, "hits": hits, "query_rss_mb": max_rss_mb()}


# ---------------------------------------------------------------- Kaoping (Whoosh)

def kaoping_build(workdir: Path, source, args) -> dict:
    from index import EvidenceIndex
    ix_dir = workdir / "kaoping"
    shutil.rmtree(ix_dir, ignore_errors=True)
    t0 = time.perf_counter()
    last = [t0]

    def progress(done, total):
        now = time.perf_counter()
        if now - last[0] > 60:
            print(f"  kaoping: {done} 段落, {now - t0:.0f} s", flush=True)
            last[0] = now

    n = EvidenceIndex(ix_dir).rebuild(C.passages(source, args.docs, args.passage_chars), progress=progress,
                                      chunk=args.chunk, procs=args.procs)
    return {"passages": n, "build_s": time.perf_counter() - t0, "size": dir_size(ix_dir),
            "build_rss_mb": max_rss_mb()}


def kaoping_query_all(workdir: Path, queries) -> dict:
    from index import EvidenceIndex
    ix = EvidenceIndex(workdir / "kaoping")

    def one(q):
        text, kw = kaoping_query(q)
        r = ix.search(text, per_page=10, **kw)
        return r.total

    return time_queries(one, queries)


# ---------------------------------------------------------------- SQLite FTS5 over words

def fts_build(workdir: Path, source, args) -> dict:
    db = workdir / "fts5.db"
    for p in workdir.glob("fts5.db*"):
        p.unlink()
    t0 = time.perf_counter()
    con = sqlite3.connect(db)
    con.execute("CREATE VIRTUAL TABLE p USING fts5(words, unit UNINDEXED, year UNINDEXED, kind UNINDEXED, "
                "indicators UNINDEXED, passage_id UNINDEXED, tokenize='unicode61')")
    n, batch = 0, []
    for r in C.passages(source, args.docs, args.passage_chars):
        batch.append((spaced(r["text"]), r["unit"], r["year"], r["kind"], " ".join(r["indicators"]),
                      r["passage_id"]))
        if len(batch) >= 2000:
            con.executemany("INSERT INTO p VALUES (?,?,?,?,?,?)", batch)
            n, batch = n + len(batch), []
    if batch:
        con.executemany("INSERT INTO p VALUES (?,?,?,?,?,?)", batch)
        n += len(batch)
    con.execute("INSERT INTO p(p) VALUES ('optimize')")
    con.commit()
    con.close()
    return {"passages": n, "build_s": time.perf_counter() - t0, "size": dir_size(db), "build_rss_mb": max_rss_mb()}


def _fts_literal(text: str) -> str:
    words = _words(text)
    return '"' + " ".join(w.replace('"', '""') for w in words) + '"' if words else '""'


def fts_sql(q: dict) -> tuple[str, list]:
    match = " AND ".join(_fts_literal(w) for w in q["must"])
    if q["any"]:
        group = "(" + " OR ".join(_fts_literal(w) for w in q["any"]) + ")"
        match = f"{match} AND {group}" if match else group
    for w in q["not"]:
        match = f"{match} NOT {_fts_literal(w)}"
    where, params = ["p MATCH ?"], [match]
    if q["unit"]:
        where.append("unit = ?"); params.append(q["unit"])
    if q["years"]:
        where.append("year BETWEEN ? AND ?"); params += list(q["years"])
    if q["year"]:
        where.append("year = ?"); params.append(q["year"])
    if q["kind"]:
        where.append("kind = ?"); params.append(q["kind"])
    if q["indicator"]:
        where.append("(' ' || indicators || ' ') LIKE ?"); params.append(f"% {q['indicator']} %")
    if q["allowed"]:
        where.append(f"unit IN ({','.join('?' * len(q['allowed']))})"); params += q["allowed"]
    return " AND ".join(where), params


def fts_query_all(workdir: Path, queries) -> dict:
    con = sqlite3.connect(workdir / "fts5.db")

    def one(q):
        cond, params = fts_sql(q)
        rows = con.execute(f"SELECT unit, year, kind, count(*) FROM p WHERE {cond} GROUP BY unit, year, kind",
                           params).fetchall()
        facets = {"unit": Counter(), "year": Counter(), "kind": Counter()}
        for unit, year, kind, c in rows:
            facets["unit"][unit] += c
            facets["year"][year] += c
            facets["kind"][kind] += c
        con.execute(f"SELECT passage_id, snippet(p, 0, '<mark>', '</mark>', '…', 40) FROM p WHERE {cond} "
                    f"ORDER BY rank LIMIT 10", params).fetchall()
        return sum(facets["unit"].values())

    return time_queries(one, queries)


# ---------------------------------------------------------------- Tantivy

def _tantivy_schema():
    import tantivy
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("words", stored=True, tokenizer_name="whitespace", index_option="position")
    sb.add_text_field("passage_id", stored=True, tokenizer_name="raw")
    for name in ("unit", "kind", "indicators"):
        sb.add_text_field(name, stored=True, fast=True, tokenizer_name="raw")
    sb.add_integer_field("year", stored=True, indexed=True, fast=True)
    return sb.build()


def tantivy_build(workdir: Path, source, args) -> dict:
    import tantivy
    path = workdir / "tantivy"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    t0 = time.perf_counter()
    index = tantivy.Index(_tantivy_schema(), path=str(path))
    writer = index.writer(heap_size=256 * 2 ** 20, num_threads=1)
    n = 0
    for r in C.passages(source, args.docs, args.passage_chars):
        doc = tantivy.Document(words=spaced(r["text"]).lower(), passage_id=r["passage_id"], unit=r["unit"],
                               kind=r["kind"], year=int(r["year"]))
        for i in r["indicators"]:
            doc.add_text("indicators", i)
        writer.add_document(doc)
        n += 1
    writer.commit()
    writer.wait_merging_threads()
    return {"passages": n, "build_s": time.perf_counter() - t0, "size": dir_size(path), "build_rss_mb": max_rss_mb()}


def _tv_literal(text: str) -> str:
    words = [w.lower().replace('"', "") for w in _words(text)]
    return '"' + " ".join(words) + '"' if words else '""'


def tantivy_query_text(q: dict) -> str:
    parts = [f"+words:{_tv_literal(w)}" for w in q["must"]]
    if q["any"]:
        parts.append("+(" + " ".join(f"words:{_tv_literal(w)}" for w in q["any"]) + ")")
    parts += [f"-words:{_tv_literal(w)}" for w in q["not"]]
    if q["unit"]:
        parts.append(f"+unit:{q['unit']}")
    if q["years"]:
        parts.append(f"+year:[{q['years'][0]} TO {q['years'][1]}]")
    if q["year"]:
        parts.append(f"+year:{q['year']}")
    if q["kind"]:
        parts.append(f"+kind:{q['kind']}")
    if q["indicator"]:
        parts.append(f"+indicators:{q['indicator']}")
    if q["allowed"]:
        parts.append("+(" + " ".join(f"unit:{u}" for u in q["allowed"]) + ")")
    return " ".join(parts)


def tantivy_query_all(workdir: Path, queries) -> dict:
    import tantivy
    index = tantivy.Index.open(str(workdir / "tantivy"))
    schema = index.schema
    aggs = {"unit": {"terms": {"field": "unit", "size": 64}}, "kind": {"terms": {"field": "kind", "size": 64}},
            "year": {"terms": {"field": "year", "size": 64}}}

    def one(q):
        searcher = index.searcher()
        query = index.parse_query(tantivy_query_text(q), ["words"])
        result = searcher.search(query, limit=10, count=True)
        searcher.aggregate(query, aggs)
        snippets = tantivy.SnippetGenerator.create(searcher, query, schema, "words")
        for _, address in result.hits:
            snippets.snippet_from_doc(searcher.doc(address)).to_html()
        return result.count

    return time_queries(one, queries)


# ---------------------------------------------------------------- report

ENGINES = {
    "kaoping": ("考评（Whoosh）", kaoping_build, kaoping_query_all),
    "fts5": ("SQLite FTS5 词（unicode61）", fts_build, fts_query_all),
    "tantivy": ("Tantivy 词", tantivy_build, tantivy_query_all),
}


def fmt(p) -> str:
    return " / ".join(f"{x:.1f}" for x in p)


def report(name: str, docs: int, b: dict, q: dict) -> None:
    p50, p95, p99 = percentiles(q["lat"])
    print(f"{name}: {b['passages']} 段落；建索引 {b['build_s']:.0f} s = {docs / b['build_s']:.1f} 文档/s"
          f"（{b['passages'] / b['build_s']:.0f} 段落/s），大小 {b['size'] / 2 ** 20:.0f} MB，"
          f"峰值内存 建 {b['build_rss_mb']:.0f} MB / 查 {q['query_rss_mb']:.0f} MB；首次查询 {q['cold_ms']:.0f} ms；"
          f"全部查询 p50/p95/p99 = {fmt((p50, p95, p99))} ms；命中为 0 的查询 {sum(h == 0 for h in q['hits'])}",
          flush=True)
    print("  分类 p50/p95/p99 ms：" + "；".join(
        f"{cls} {fmt(percentiles(v))}" for cls, v in q["by_cls"].items()), flush=True)


def ratios(k: dict, other: dict, docs: int) -> str:
    (kb, kq), (ob, oq) = k, other
    kp, op = percentiles(kq["lat"]), percentiles(oq["lat"])
    worst = max(percentiles(v)[1] / max(percentiles(oq["by_cls"][c])[1], 1e-3) for c, v in kq["by_cls"].items())
    return (f"建索引速度 {ob['build_s'] / kb['build_s']:.2f}，大小 {kb['size'] / ob['size']:.2f}，"
            f"首次查询 {kq['cold_ms'] / max(oq['cold_ms'], 1e-3):.1f}，p50 {kp[0] / op[0]:.1f}，p95 {kp[1] / op[1]:.1f}，"
            f"p99 {kp[2] / op[2]:.1f}，分类 p95 最大比 {worst:.1f}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--passage-chars", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--chunk", type=int, default=20000, help="passages per Kaoping segment during the build")
    ap.add_argument("--procs", type=int, default=None,
                    help="Kaoping's indexing processes (default: as kaoping reindex, one a core, at most 4)")
    ap.add_argument("--engines", default="kaoping,fts5,tantivy")
    ap.add_argument("--shared", type=Path, default=None, help="the shared material (default ../shared)")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/kaoping-bench-search"))
    ap.add_argument("--reuse", action="store_true", help="query the indexes already in --workdir")
    args = ap.parse_args(argv)
    if args.procs is None:
        from index.writer import default_procs
        args.procs = default_procs()
    args.workdir.mkdir(parents=True, exist_ok=True)
    source = C.load_source(C.find_shared(args.shared))
    queries = make_queries(source, args.queries)
    sample = list(C.passages(source, min(args.docs, 500), args.passage_chars))
    chars = sum(len(r["text"]) for r in sample) / min(args.docs, 500)
    print(f"语料来源：{source.name}（{source.detail}）；{args.docs} 篇文档，前 500 篇平均 {chars:.0f} 字/篇、"
          f"{len(sample) / min(args.docs, 500):.1f} 段/篇（≈{args.passage_chars} 字一段）；{len(queries)} 条查询，"
          f"{len(CLASSES)} 类；CPU {os.cpu_count()} 核；负载 {os.getloadavg()[0]:.1f}", flush=True)
    results = {}
    for key in [e.strip() for e in args.engines.split(",") if e.strip()]:
        name, build, query_all = ENGINES[key]
        if args.reuse:
            b = {"passages": 0, "build_s": float("nan"), "size": dir_size(args.workdir / key), "build_rss_mb": 0}
        else:
            b = in_child(build, args.workdir, source, args)
        q = in_child(query_all, args.workdir, queries)
        results[key] = (b, q)
        report(name, args.docs, b, q)
    if "kaoping" in results:
        for key in ("fts5", "tantivy"):
            if key in results:
                print(f"比值（考评 / {ENGINES[key][0]}）：" + ratios(results["kaoping"], results[key], args.docs))
    print(f"结束时负载 {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
