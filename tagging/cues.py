"""Evidence or mention?  Sentence-level cues of what a text reports.

The labelling rule reviewers use: a document is evidence when the text itself
reports a fact, a number, an event or a document issued; exhortations (要…),
plans (将…、下一步…) and commentary are not.  These cues are general wording of
the field, never phrases of particular documents:

- a *specific* sentence names a date or a count (2023年、6月15日、近日、32家、1.2万人次);
- a *done* sentence reports an event or a result (召开、印发、成立、命名、累计…);
- a *call* sentence asks for something and reports nothing (要…、必须…、进一步…).

The tagger uses them to recognise commentary (a text that states no date or
number and keeps calling for things), and the learned model uses them as
features of a passage.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

DATE = re.compile(r"(19|20)[0-9]{2}年|[0-9]{1,2}月[0-9]{1,2}日|[一二三四五六七八九十]{1,3}月[一二三四五六七八九十]{1,3}日"
                  r"|近日|日前|近期|今年以来|去年以来|截至|当天|昨天|上午|下午")
COUNT = re.compile(r"[0-9][0-9.,]*\s*(余|多)?(万|亿)?(个|项|家|名|人|场|次|批|届|条|件|所|支|期|元|%|位|篇|座|户|门|个百分点)"
                   r"|[一二三四五六七八九十百千两]+(余|多)?(个|项|家|名|人|场|次|批|届|条|件|所|支|期|位)")
DONE = re.compile(r"召开|举行|举办|印发|出台|制定了|发布|成立|建成|命名|表彰|获评|荣获|获得|评选出|签订|开展了|组织了|累计|共有"
                  r"|已有|已经|先后|首次|率先|达到|增长|提高到|上升到|出席|主持|讲话|通过了|审议|选举|当选|揭牌|授牌|启动")
CALL = re.compile(r"(?<![主重需只纲摘首概提紧必扼])要(?![求点素件闻职害务员览])|(?<![响相反供适对答理])应(?![用急对届聘征邀])"
                  r"|必须|务必|着力|切实|进一步|下一步|力争|将继续"
                  # an imperative with no subject: "加强…"、"健全…" at the start of a sentence
                  r"|^\s*(第?[一二三四五六七八九十]+[，,、])?\s*(加强|健全|完善|推进|推动|深化|强化|建立|落实|提高|提升|营造|引导|鼓励"
                  r"|坚持|坚定|注重|发挥|拓宽|畅通|保障|维护|尊重|构建|加快|支持|推荐|组织开展|关注|重视|做好|抓好|突出|围绕|聚焦"
                  r"|树立|弘扬)")
_SENTENCE = re.compile(r"[^。；！？!?;\n]+")
MIN_SENTENCE_CHARS = 8

# Commentary: this many sentences or more, none specific, and at least this share of calls.
COMMENTARY_MIN_SENTENCES = 8
COMMENTARY_MIN_CALL_SHARE = 0.3


@dataclass(frozen=True)
class Cues:
    sentences: int
    specific: int   # sentences with a date or a count
    done: int       # sentences reporting an event or result
    calls: int      # sentences that call for something and report nothing

    @property
    def fact_share(self) -> float:
        return (self.specific + self.done) / (2 * self.sentences) if self.sentences else 0.0

    @property
    def call_share(self) -> float:
        return self.calls / self.sentences if self.sentences else 0.0

    @property
    def is_commentary(self) -> bool:
        """Reports no date or number and keeps calling for things: a theory
        article, an exhortation, a set of goals — evidence of little."""
        return (self.sentences >= COMMENTARY_MIN_SENTENCES and self.specific == 0
                and self.call_share >= COMMENTARY_MIN_CALL_SHARE)


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.findall(text or "") if len(s.strip()) >= MIN_SENTENCE_CHARS]


def cues(text: str) -> Cues:
    """Cues of a (folded, matching-copy) text."""
    specific = done = calls = 0
    found = sentences(text)
    for s in found:
        is_specific = bool(DATE.search(s) or COUNT.search(s))
        is_done = bool(DONE.search(s))
        specific += is_specific
        done += is_done
        calls += not (is_specific or is_done) and bool(CALL.search(s))
    return Cues(len(found), specific, done, calls)
