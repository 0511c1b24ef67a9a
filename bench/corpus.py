"""A realistic benchmark corpus, assembled at run time and never stored in the project.

Source, in order of preference (the first one present is used, and named in
the benchmark's output; the shared material is ``../shared`` beside the
repository, or the benchmark's ``--shared``):

1. ``devset``: the sentences of the 120 real documents in
   ``../shared/devset/corpus/`` (read here, never copied), with their kinds
   and indicator labels from ``labels.json``;
2. ``seed``: the sentences of the seed policy document in ``../shared/seed/``;
3. ``indicators``: the indicator meanings shipped in ``rubrics/`` (a small,
   flat vocabulary: figures from it are not comparable).

A document is one source document's sentences read from a random point
(with a third of its sentences drawn from other documents of the corpus, so
long documents do not repeat one text), numbers re-drawn, unit names put in,
and one sentence in six a report line naming generated enterprises, people
and places: real uploads keep adding names, which is what makes a real
vocabulary grow with the corpus (the benchmark prints its size). Lengths
follow a log-normal of median 2.5 pages (≈700 characters a page), cut to 1–100
pages: most uploads are news items and notices of a page or two, a few are
annual reports of a hundred pages. Passages are cut at sentence ends near
``passage_chars``, as the application indexes them. Deterministic for a seed.
"""
from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PAGE_CHARS = 700
UNITS = ["BJ", "TJ", "HE", "SX", "NM", "LN", "JL", "HL", "SH", "JS", "ZJ", "AH", "FJ", "JX", "SD", "HA",
         "HB", "HN", "GD", "GX", "HI", "CQ", "SC", "GZ", "YN", "XZ", "SN", "GS", "QH", "NX", "XJ", "BT"]
UNIT_NAMES = ["北京市", "天津市", "河北省", "山西省", "内蒙古自治区", "辽宁省", "吉林省", "黑龙江省", "上海市",
              "江苏省", "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省",
              "广西壮族自治区", "海南省", "重庆市", "四川省", "贵州省", "云南省", "西藏自治区", "陕西省", "甘肃省",
              "青海省", "宁夏回族自治区", "新疆维吾尔自治区", "新疆生产建设兵团"]
YEARS = list(range(2019, 2026))
_PROVINCE = re.compile("|".join(sorted(map(re.escape, UNIT_NAMES), key=len, reverse=True)))
_NUMBER = re.compile(r"\d+")
_SENTENCE_END = re.compile(r"(?<=[。；！？!?])|\n")

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
NAME_CHARS = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文辉鹏斌宇浩凯健俊帆帅旭宁龙林欣佳琳晨雪梅琴云莉峰海波亮飞鑫瑞博豪翔瑶倩婷颖慧春晓东"
PLACE_CHARS = "东南西北安宁平和兴隆昌盛华新永德泰丰源江河湖山川岭原阳城州台港桥林川泉岗坪营堡"
INDUSTRY = ["钢铁集团有限公司", "机械制造有限公司", "电力公司", "化工股份有限公司", "汽车制造厂", "煤业集团",
            "纺织有限公司", "造船厂", "电子科技有限公司", "建筑工程有限公司", "轨道交通集团", "石化分公司"]
REPORT_LINES = [
    "{y}年，{ent}组织开展{skill}技能竞赛，{n}名职工参赛，{m}人晋升技术等级。",
    "{place}区总工会联合{ent}建成{name}劳模和工匠人才创新工作室，累计完成技术革新{n}项。",
    "{name}同志（{ent}首席技师）牵头攻关{skill}难题{n}项，创造经济效益{m}万元。",
    "截至{y}年{mo}月，{place}县产业工人技能提升培训覆盖{m}人次，新增高技能人才{n}人。",
    "{ent}与{place}职业技术学院共建{skill}产业学院，订单式培养学员{n}名。",
]
SKILLS = ["焊接", "数控车", "电工", "钳工", "无人机驾驶", "工业机器人运维", "汽车维修", "化工检修", "装配钳工",
          "新能源电池检测", "智能制造", "轨道车辆检修", "电梯安装维修", "茶艺", "中式烹调"]


@dataclass
class Source:
    name: str           # devset | seed | indicators
    detail: str         # what was read, for the benchmark's output
    docs: list          # [(kind, [indicator], [sentence])]


def find_shared(explicit: Path | None = None) -> Path | None:
    """The shared material: ``--shared`` when given, else ``../shared`` beside the repository."""
    path = explicit or ROOT.parent / "shared"
    return path if path.is_dir() else None


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if len(s.strip()) >= 6]


def load_source(shared: Path | None) -> Source:
    if shared and (shared / "devset" / "corpus").is_dir():
        labels = {}
        try:
            labels = {d["id"]: d for d in json.loads((shared / "devset" / "labels.json").read_text("utf-8"))}
        except (OSError, ValueError):
            pass
        docs = []
        for path in sorted((shared / "devset" / "corpus").glob("*.txt")):
            label = labels.get(path.stem, {})
            sentences = split_sentences(path.read_text(encoding="utf-8", errors="replace"))
            if sentences:
                docs.append((label.get("kind") or "other", [str(i) for i in label.get("indicators") or []],
                             sentences))
        if docs:
            return Source("devset", f"{shared / 'devset' / 'corpus'} 的 {len(docs)} 篇真实文档", docs)
    seeds = sorted((shared / "seed").glob("*.txt")) if shared and (shared / "seed").is_dir() else []
    if seeds:
        sentences = [s for p in seeds for s in split_sentences(p.read_text(encoding="utf-8", errors="replace"))]
        return Source("seed", f"{len(seeds)} 篇种子文档（{shared / 'seed'}），缺少 devset", [("policy", [], sentences)])
    data = yaml.safe_load((ROOT / "rubrics" / "indicators" / "2022.yaml").read_text(encoding="utf-8"))
    sentences = [s if s.endswith("。") else s + "。" for s in _meanings(data)]
    return Source("indicators", "仅指标内涵（词汇量小，结果不可与真实语料比较）", [("policy", [], sentences)])


def _meanings(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("meaning", "name") and isinstance(v, str) and len(v) >= 6:
                yield v
            else:
                yield from _meanings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _meanings(v)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(NAME_CHARS) for _ in range(rng.randint(1, 2)))


def _place(rng: random.Random) -> str:
    return rng.choice(PLACE_CHARS) + rng.choice(PLACE_CHARS)


def _report_line(rng: random.Random, year: int) -> str:
    return rng.choice(REPORT_LINES).format(
        y=year, mo=rng.randint(1, 12), n=rng.randint(2, 999), m=rng.randint(1000, 99999), name=_name(rng),
        place=_place(rng), ent=_place(rng) + rng.choice(INDUSTRY), skill=rng.choice(SKILLS))


def _pages(rng: random.Random) -> int:
    return max(1, min(100, round(math.exp(rng.gauss(math.log(2.5), 1.1)))))


def documents(source: Source, n_docs: int, seed: int = 42):
    """Yield (document number, metadata, [sentence]) deterministically."""
    rng = random.Random(seed)
    docs = source.docs
    for d in range(n_docs):
        kind, labels, own = docs[rng.randrange(len(docs))]
        u = rng.randrange(len(UNITS))
        year = rng.choice(YEARS)
        target = _pages(rng) * PAGE_CHARS
        unit_name = UNIT_NAMES[u]
        body, size, i = [], 0, rng.randrange(len(own))
        while size < target:
            r = rng.random()
            if r < 1 / 6:
                s = _report_line(rng, year)
            elif r < 0.45:
                other = docs[rng.randrange(len(docs))][2]
                s = other[rng.randrange(len(other))]
            else:
                s = own[i % len(own)]
                i += 1
            s = _PROVINCE.sub(unit_name, s)
            s = _NUMBER.sub(lambda m: str(rng.randint(1, 10 ** len(m.group()) - 1)), s)
            body.append(s)
            size += len(s)
        indicators = sorted(set(labels) | {str(rng.randint(1, 88)) for _ in range(rng.randint(0, 2))}, key=int)
        yield d, {"unit": UNITS[u], "unit_name": unit_name, "year": year, "kind": kind,
                  "indicators": indicators}, body


def split_body(body: list[str], passage_chars: int = 1000):
    """(start, text) of each passage of "".join(body), cut at sentence ends."""
    start, buf, size = 0, [], 0
    for i, s in enumerate(body):
        buf.append(s)
        size += len(s)
        if size >= passage_chars or i == len(body) - 1:
            text = "".join(buf)
            yield start, text
            start, buf, size = start + len(text), [], 0


def passages(source: Source, n_docs: int, passage_chars: int = 1000, seed: int = 42):
    """Passage records as the application indexes them (see ``index.schema.to_fields``)."""
    for d, meta, body in documents(source, n_docs, seed):
        rng = random.Random(d)
        date = f"{meta['year']}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        for p, (start, text) in enumerate(split_body(body, passage_chars)):
            yield {
                "passage_id": f"d{d}-p{p}", "document_id": f"d{d}", "version_id": f"d{d}v1",
                "unit": meta["unit"], "year": meta["year"], "kind": meta["kind"],
                "indicators": meta["indicators"], "confirmed": meta["indicators"][:1],
                "doc_number": f"{meta['unit_name'][:1]}产改〔{meta['year']}〕{d % 97 + 1}号",
                "issuer": meta["unit_name"] + "总工会", "date": date,
                "title": f"{meta['unit_name']}{meta['year']}年产业工人队伍建设改革材料{d}",
                "filename": f"doc{d}.pdf", "page": start // PAGE_CHARS + 1,
                "start": start, "end": start + len(text), "text": text,
            }
