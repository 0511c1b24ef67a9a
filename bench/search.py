"""Search benchmark: Kaoping's Whoosh index vs SQLite FTS5 (trigram) on one corpus.

    .venv/bin/python -m bench.search --docs 20000            # the reference run
    .venv/bin/python -m bench.search --docs 500 --queries 50  # a quick look

The corpus is generated, deterministic (seeded) and streamed, so memory stays
bounded: N documents of ≈3,000 Chinese characters built from shuffled
sentences of the 产改 evaluation document and the indicator meanings, with
unit, year and kind metadata, each split into passages of ≈1,000 characters
(the unit the application indexes). Every query is timed as the application
runs it: filters, total, facets and HTML snippets of the top 10.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import sqlite3
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index import EvidenceIndex  # noqa: E402

SEED = Path("/work/shared/seed/000_9d0f49eec65d105e.txt")
INDICATORS = ROOT / "rubrics" / "indicators" / "2022.yaml"
UNITS = ["BJ", "TJ", "HE", "SX", "NM", "LN", "JL", "HL", "SH", "JS", "ZJ", "AH", "FJ", "JX", "SD", "HA",
         "HB", "HN", "GD", "GX", "HI", "CQ", "SC", "GZ", "YN", "XZ", "SN", "GS", "QH", "NX", "XJ", "BT"]
UNIT_NAMES = ["北京市", "天津市", "河北省", "山西省", "内蒙古自治区", "辽宁省", "吉林省", "黑龙江省", "上海市",
              "江苏省", "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省",
              "广西壮族自治区", "海南省", "重庆市", "四川省", "贵州省", "云南省", "西藏自治区", "陕西省", "甘肃省",
              "青海省", "宁夏回族自治区", "新疆维吾尔自治区", "新疆生产建设兵团"]
KINDS = ["policy", "report", "statistics", "case", "news", "meeting"]
YEARS = list(range(2019, 2026))
TEMPLATES = ["{u}{y}年开展{w}活动{n}场次，覆盖职工{m}人。", "截至{y}年底，{u}累计建成{w}{n}个。",
             "{u}总工会会同人社部门印发《关于{w}的实施意见》，明确{n}项重点任务。",
             "{y}年{u}培训产业工人{m}人次，其中{w}{n}人。"]


def sentences() -> list[str]:
    text = SEED.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(INDICATORS.read_text(encoding="utf-8"))
        text += "\n" + "\n".join(_meanings(data))
    except (OSError, yaml.YAMLError):
        pass
    parts = re.split(r"(?<=[。；！？])|\n|\t", text)
    return [p.strip() for p in parts if len(p.strip()) >= 8]


def _meanings(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("meaning", "name") and isinstance(v, str):
                yield v if v.endswith("。") else v + "。"
            else:
                yield from _meanings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _meanings(v)


def corpus(n_docs: int, passage_chars: int, seed: int = 42):
    """Yield passage records, document by document, deterministically."""
    rng = random.Random(seed)
    pool = sentences()
    words = [w for s in pool[:200] for w in re.findall(r"[\u4e00-\u9fff]{4}", s)][:400] or ["技能人才"]
    for d in range(n_docs):
        u = rng.randrange(len(UNITS))
        year, kind = rng.choice(YEARS), rng.choice(KINDS)
        body, size = [], 0
        while size < 3000:
            if rng.random() < 0.25:
                s = rng.choice(TEMPLATES).format(u=UNIT_NAMES[u], y=rng.choice(YEARS), w=rng.choice(words),
                                                 n=rng.randint(2, 999), m=rng.randint(1000, 999999))
            else:
                s = rng.choice(pool)
            body.append(s)
            size += len(s)
        text = "".join(body)
        indicators = sorted({str(rng.randint(1, 88)) for _ in range(rng.randint(1, 3))}, key=int)
        for p, start in enumerate(range(0, len(text), passage_chars)):
            yield {
                "passage_id": f"d{d}-p{p}", "document_id": f"d{d}", "version_id": f"d{d}v1",
                "unit": UNITS[u], "year": year, "kind": kind, "indicators": indicators,
                "confirmed": indicators[:1], "doc_number": f"{UNIT_NAMES[u][:1]}产改〔{year}〕{d % 97 + 1}号",
                "issuer": UNIT_NAMES[u] + "总工会", "date": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "title": f"{UNIT_NAMES[u]}{year}年产业工人队伍建设改革材料{d}", "filename": f"doc{d}.pdf",
                "page": p + 1, "start": start, "end": min(start + passage_chars, len(text)),
                "text": text[start:start + passage_chars],
            }


CATEGORIES = ["单字", "词", "词", "短语", "两词", "词+单位", "词+年度范围", "OR+类型", "NOT+权限", "词+指标+年度"]


def make_queries(n: int, seed: int = 7) -> list[tuple[str, dict]]:
    """Mixed queries: words of 1–4 characters, quoted phrases, field filters, OR, NOT."""
    rng = random.Random(seed)
    pool = sentences()
    from zhtext.chinese import default_segmenter
    seg = default_segmenter()
    vocab = sorted({w for s in pool for w in seg.cut(s) if re.fullmatch(r"[\u4e00-\u9fff]{2,6}", w)})
    chars = sorted({c for s in pool for c in s if "\u4e00" <= c <= "\u9fff"})
    out = []
    for i in range(n):
        r = i % 10
        if r == 0:
            q, kw = rng.choice(chars), {}
        elif r in (1, 2):
            q, kw = rng.choice(vocab), {}
        elif r == 3:
            s = rng.choice(pool)
            a = rng.randrange(max(1, len(s) - 6))
            q, kw = f'"{s[a:a + rng.randint(4, 8)]}"', {}
        elif r == 4:
            q, kw = f"{rng.choice(vocab)} {rng.choice(vocab)}", {}
        elif r == 5:
            q, kw = f"{rng.choice(vocab)} unit:{rng.choice(UNITS)}", {}
        elif r == 6:
            y = rng.choice(YEARS)
            q, kw = f"{rng.choice(vocab)} year:{y - 2}..{y}", {}
        elif r == 7:
            q, kw = f"{rng.choice(vocab)} OR {rng.choice(vocab)}", {"kind": rng.choice(KINDS)}
        elif r == 8:
            q, kw = f"{rng.choice(vocab)} NOT {rng.choice(vocab)}", {"allowed_units": rng.sample(UNITS, 3)}
        else:
            q, kw = f"{rng.choice(vocab)} 指标:{rng.randint(1, 88)}", {"year": rng.choice(YEARS)}
        out.append((q, kw))
    return out


def percentiles(ms: list[float]) -> tuple[float, float, float]:
    qs = statistics.quantiles(ms, n=100, method="inclusive")
    return qs[49], qs[94], qs[98]


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# ---------------------------------------------------------------- Whoosh

def bench_whoosh(workdir: Path, args, queries):
    ix_dir = workdir / "whoosh"
    shutil.rmtree(ix_dir, ignore_errors=True)
    ix = EvidenceIndex(ix_dir)
    t0 = time.perf_counter()
    last = [t0]

    def progress(done, total):
        now = time.perf_counter()
        if now - last[0] > 30:
            print(f"  whoosh: {done} passages, {now - t0:.0f} s", flush=True)
            last[0] = now

    passages = ix.rebuild(corpus(args.docs, args.passage_chars), progress=progress,
                          chunk=args.chunk, procs=args.procs)
    build_s = time.perf_counter() - t0
    size = dir_size(ix_dir)
    t1 = time.perf_counter()
    ix.search("产业工人")  # opens the searcher and loads facet columns
    cold_ms = (time.perf_counter() - t1) * 1000
    lat, zero, errors = [], 0, 0
    for q, kw in queries:
        t = time.perf_counter()
        r = ix.search(q, per_page=10, **kw)
        lat.append((time.perf_counter() - t) * 1000)
        zero += r.total == 0
        errors += r.query_error is not None
    by_cat: dict[str, list[float]] = {}
    for i, ms in enumerate(lat):
        by_cat.setdefault(CATEGORIES[i % 10], []).append(ms)
    lat_nf = []
    for q, kw in queries:
        t = time.perf_counter()
        ix.search(q, per_page=10, facets=False, **kw)
        lat_nf.append((time.perf_counter() - t) * 1000)
    return {"passages": passages, "build_s": build_s, "size": size, "lat": lat, "lat_nofacets": lat_nf,
            "zero": zero, "errors": errors, "cold_ms": cold_ms, "by_cat": by_cat}


# ---------------------------------------------------------------- SQLite FTS5

def _fts_query(q: str, kw: dict):
    """The same intent in FTS5 terms; 1–2 character words fall back to LIKE (trigram cannot)."""
    where, params, match = [], [], []
    for part in re.findall(r'"[^"]*"|\S+', q):
        m = re.match(r"(unit|year|指标):(.+)", part)
        if m:
            f, v = m.groups()
            if f == "unit":
                where.append("unit = ?"); params.append(v)
            elif f == "year":
                lo, hi = v.split("..")
                where.append("year BETWEEN ? AND ?"); params += [int(lo), int(hi)]
            else:
                where.append("(' ' || indicators || ' ') LIKE ?"); params.append(f"% {v} %")
        elif part in ("OR", "NOT"):
            match.append(part)
        else:
            match.append(part.strip('"'))
    if kw.get("kind"):
        where.append("kind = ?"); params.append(kw["kind"])
    if kw.get("year"):
        where.append("year = ?"); params.append(kw["year"])
    if kw.get("allowed_units"):
        where.append(f"unit IN ({','.join('?' * len(kw['allowed_units']))})"); params += kw["allowed_units"]
    words = [w for w in match if w not in ("OR", "NOT")]
    if any(len(w) < 3 for w in words):
        # trigram index cannot serve short words: LIKE scans every row
        conds, like_params, negate = [], [], False
        for w in match:
            if w in ("OR", "NOT"):
                negate = w == "NOT"
                continue
            # instr, not LIKE: SQLite 3.40's trigram LIKE returns nothing under 3 characters
            conds.append("instr(text, ?) = 0" if negate else "instr(text, ?) > 0")
            like_params.append(w)
            negate = False
        op = " OR " if "OR" in match else " AND "
        return None, [f"({op.join(conds)})"] + where, like_params + params
    fts = " ".join(f'"{w}"' if w not in ("OR", "NOT") else w for w in match)
    return fts, where, params


def bench_fts5(workdir: Path, args, queries):
    db_path = workdir / "fts5.db"
    for p in workdir.glob("fts5.db*"):
        p.unlink()
    con = sqlite3.connect(db_path)
    con.execute("CREATE VIRTUAL TABLE p USING fts5(text, unit UNINDEXED, year UNINDEXED, kind UNINDEXED, "
                "indicators UNINDEXED, passage_id UNINDEXED, tokenize='trigram')")
    t0 = time.perf_counter()
    n = 0
    batch = []
    for r in corpus(args.docs, args.passage_chars):
        batch.append((r["text"], r["unit"], r["year"], r["kind"], " ".join(r["indicators"]), r["passage_id"]))
        if len(batch) >= 2000:
            con.executemany("INSERT INTO p VALUES (?,?,?,?,?,?)", batch); n += len(batch); batch = []
    if batch:
        con.executemany("INSERT INTO p VALUES (?,?,?,?,?,?)", batch); n += len(batch)
    con.commit()
    build_s = time.perf_counter() - t0
    size = os.path.getsize(db_path)
    lat, zero = [], 0
    for q, kw in queries:
        fts, where, params = _fts_query(q, kw)
        t = time.perf_counter()
        if fts is not None:
            cond = " AND ".join(["p MATCH ?"] + where)
            total = con.execute(f"SELECT count(*) FROM p WHERE {cond}", [fts] + params).fetchone()[0]
            con.execute(f"SELECT passage_id, highlight(p, 0, '<mark>', '</mark>') FROM p WHERE {cond} "
                        f"ORDER BY rank LIMIT 10", [fts] + params).fetchall()
        else:
            cond = " AND ".join(where)
            total = con.execute(f"SELECT count(*) FROM p WHERE {cond}", params).fetchone()[0]
            con.execute(f"SELECT passage_id, text FROM p WHERE {cond} LIMIT 10", params).fetchall()
        lat.append((time.perf_counter() - t) * 1000)
        zero += total == 0
    con.close()
    return {"passages": n, "build_s": build_s, "size": size, "lat": lat, "zero": zero}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--passage-chars", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--chunk", type=int, default=10000, help="passages per commit during the build")
    ap.add_argument("--procs", type=int, default=1, help="writer processes (2 gave no gain on the shared 2-core machine)")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/kaoping-bench-search"))
    ap.add_argument("--skip-fts5", action="store_true")
    args = ap.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    queries = make_queries(args.queries)
    chars = sum(len(r["text"]) for r in corpus(min(args.docs, 200), args.passage_chars))
    print(f"语料：{args.docs} 篇文档（前 200 篇平均 {chars / min(args.docs, 200):.0f} 字/篇），按 ≈{args.passage_chars} 字切分为段落；{len(queries)} 条混合查询；"
          f"进程数 {args.procs}；CPU {os.cpu_count()} 核", flush=True)
    w = bench_whoosh(args.workdir, args, queries)
    report("Whoosh（考评索引）", args, w)
    print(f"  无分面 p50/p95/p99: {fmt(percentiles(w['lat_nofacets']))} ms；首次查询 {w['cold_ms']:.0f} ms；"
          f"无结果查询 {w['zero']}；有提示信息的查询 {w['errors']}")
    print("  分类 p50/p95: " + "；".join(
        f"{cat} {statistics.median(v):.0f}/{max(v) if len(v) < 20 else percentiles(v)[1]:.0f}"
        for cat, v in w["by_cat"].items()))
    if not args.skip_fts5:
        f = bench_fts5(args.workdir, args, queries)
        report("SQLite FTS5 trigram（参照）", args, f, "含总数、前 10 条 highlight()，无分面")
        print(f"  无结果查询 {f['zero']}（trigram 无法索引 1–2 字词，改用 instr 全表扫描）")
        wp, fp = percentiles(w["lat"]), percentiles(f["lat"])
        print("比值（Whoosh / FTS5）：建索引速度 {:.2f}，索引大小 {:.2f}，p50 {:.2f}，p95 {:.2f}，p99 {:.2f}".format(
            (args.docs / w["build_s"]) / (args.docs / f["build_s"]), w["size"] / f["size"],
            wp[0] / fp[0], wp[1] / fp[1], wp[2] / fp[2]))


def fmt(p) -> str:
    return " / ".join(f"{x:.1f}" for x in p)


def report(name, args, r, what: str = "含总数、分面、前 10 条高亮") -> None:
    p50, p95, p99 = percentiles(r["lat"])
    print(f"{name}: {r['passages']} 段落，建索引 {r['build_s']:.0f} s = {args.docs / r['build_s']:.1f} 文档/s "
          f"({r['passages'] / r['build_s']:.0f} 段落/s)，大小 {r['size'] / 2**20:.0f} MB，"
          f"查询（{what}）p50/p95/p99 = {p50:.1f} / {p95:.1f} / {p99:.1f} ms", flush=True)


if __name__ == "__main__":
    main()
