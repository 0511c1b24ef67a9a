"""Passwords built the way people in China build them, which zxcvbn's English lists do not know.

zxcvbn (evidence/accounts.py) scores `Kaoping@2024!`, `Jiangsu123!` or `Woaini@520` as strong: it knows
the word when it is given as context, but prices the rest ("@2024!") as random characters. An attacker
guessing for this system tries exactly these: the system's and the organisation's names, the unit's
name in pinyin, the user's name, a pinyin word, then a year, 520/1314/666/888, 123…, and a symbol.

`estimated_guesses` prices a password as the cheapest way to write it from such pieces — a word of the
list below or of the user's context (lower-cased, l33t undone), any pinyin syllable, a year, a date, a
lucky or sequential number, a few symbols — and everything else at brute-force cost. No maintained list
of Chinese passwords is published on PyPI; this one is small, documented and kept here:

- COMMON_WORDS: words seen at the top of leaked Chinese password lists (woaini, zhangsan, huawei, admin …)
  and the words of this system's world (kaoping, changai, chanye, gonghui, zhonggong …);
- every pinyin syllable, from pypinyin's dictionary (so any name or phrase in pinyin is cheap);
- the context the caller gives: the user's names and unit code, and every unit's names, in pinyin too
  (jiangsu, beijing, xinjiang …);
- LUCKY_NUMBERS, years 1900–2099, dates (MMDD, YYMMDD, YYYYMMDD), runs and repeats of digits.
"""
from __future__ import annotations

import itertools
import os
import re
from functools import lru_cache

COMMON_WORDS = (
    # this system and its world
    "kaoping", "changai", "chanye", "chanyegongren", "gongren", "gonghui", "zonggonghui", "zhonggong",
    "quanzong", "gaige", "pingjia", "kaohe", "dangjian", "zhengfu", "danwei", "bangongshi", "gongzuo",
    # administrators' and testers' words
    "admin", "administrator", "root", "system", "test", "guest", "user", "password", "passwd", "pass", "mima",
    "login", "welcome", "manager", "super", "qwerty", "qwer", "asdf", "zxcv", "qaz", "wsx", "abc",
    # the top of leaked Chinese lists
    "woaini", "aini", "iloveyou", "love", "woaiwojia", "zhangsan", "lisi", "wangwu", "zhaoliu", "baobao",
    "laogong", "laopo", "xiaoxiao", "tiantian", "kuaile", "xingfu", "pingan", "jiayou", "shengri", "mingzi",
    "zhongguo", "china", "huawei", "xiaomi", "baidu", "taobao", "tencent", "alibaba", "weixin", "wechat",
    "qq", "abcd", "laoshi", "xuesheng", "yisheng", "jingcha",
)
LUCKY_NUMBERS = frozenset({
    "520", "521", "1314", "5201314", "1314520", "666", "6666", "888", "8888", "168", "1688", "518", "886",
    "110", "119", "120", "911", "007", "1949", "1921", "123", "1234", "12345", "123456", "1234567",
    "12345678", "123456789", "1234567890", "321", "4321", "54321", "654321", "147258", "147258369",
    "159357", "741852963", "789456", "789456123", "123123", "112233", "11223344", "5211314", "9527",
})
L33T = {"@": "a", "4": "a", "0": "o", "1": "il", "!": "il", "|": "l", "3": "e", "5": "s", "$": "s", "7": "t",
        "+": "t", "9": "g", "6": "b", "8": "b"}
COMMON_SYMBOLS = "!@#$%&*._-+=?~"
MAX_WORD = 20
MAX_DIGITS = 14
MAX_NAME_FORMS = 32  # readings of a name with several heteronyms, enough for any person's name


@lru_cache(maxsize=1)
def _pinyin_module():
    # Only the single-character dictionary: the phrase dictionary costs ~45 MB in every web process that
    # ever sets a password. A name's characters are spelt with all their readings instead (name_forms).
    os.environ.setdefault("PYPINYIN_NO_PHRASES", "true")
    import pypinyin
    return pypinyin


@lru_cache(maxsize=1)
def syllables() -> frozenset[str]:
    """Every toneless pinyin syllable pypinyin knows (about 420)."""
    _pinyin_module()
    from pypinyin.contrib.tone_convert import to_normal
    from pypinyin.pinyin_dict import pinyin_dict
    return frozenset(s for readings in pinyin_dict.values() for r in readings.split(",")
                     if re.fullmatch(r"[a-z]{2,}", s := to_normal(r)))


def name_forms(text: str) -> set[str]:
    """How a Chinese name or word is typed in Latin letters: its pinyin (every reading of a heteronym,
    a bounded number of them) joined, and its initials; Latin text as it is, lower-cased."""
    text = (text or "").strip().casefold()
    if not text:
        return set()
    if not re.search(r"[\u3400-\u9fff]", text):
        return {re.sub(r"[^a-z0-9]", "", text)} - {""}
    pypinyin = _pinyin_module()
    readings = [[r for r in dict.fromkeys(part) if r] for part in pypinyin.pinyin(
        text, style=pypinyin.Style.NORMAL, heteronym=True, errors=lambda chars: [[c] for c in chars])]
    forms = set()
    for combo in itertools.islice(itertools.product(*readings), MAX_NAME_FORMS):
        letters = [re.sub(r"[^a-z0-9]", "", r) for r in combo]
        forms.add("".join(letters))
        forms.add("".join(r[:1] for r in letters))
    return {f for f in forms if f}


def dictionary(context: list[str]) -> frozenset[str]:
    """The words a targeted guesser starts from: the common list and the context (this user's names and
    unit, every unit's name — the caller reads them from the database), each in the forms it is typed."""
    own = {form for word in context for form in name_forms(word)}
    return frozenset({w for w in (*COMMON_WORDS, *own) if 2 <= len(w) <= MAX_WORD})


def _case_cost(token: str) -> int:
    uppers = sum(ch.isupper() for ch in token)
    if uppers == 0:
        return 1
    if uppers == len(token) or (uppers == 1 and token[0].isupper()):
        return 2
    return 2 ** min(len(token), 20)


def _word_match(password: str, at: int, word: str) -> int:
    """0 when the word is not at `at`; 1 when it is as written; 2 when written with l33t characters."""
    if at + len(word) > len(password):
        return 0
    l33t = False
    for offset, wanted in enumerate(word):
        ch = password[at + offset].lower()
        if ch == wanted:
            continue
        if wanted in L33T.get(ch, ""):
            l33t = True
            continue
        return 0
    return 2 if l33t else 1


def _number_cost(digits: str) -> float:
    if digits in LUCKY_NUMBERS:
        return 50
    if len(set(digits)) == 1:
        return 10 * len(digits)
    steps = {int(b) - int(a) for a, b in zip(digits, digits[1:])}
    if len(steps) == 1 and steps <= {1, -1, 2, -2}:
        return 20 * len(digits)
    if len(digits) == 4 and 1900 <= int(digits) <= 2099:
        return 200
    if len(digits) in (4, 6, 8) and _is_date(digits):
        return 366 * 100
    if len(digits) <= 2:
        return 100
    return 10.0 ** len(digits)


def _is_date(digits: str) -> bool:
    month, day = int(digits[-4:-2]), int(digits[-2:])
    if len(digits) == 8 and not 1900 <= int(digits[:4]) <= 2099:
        return False
    return 1 <= month <= 12 and 1 <= day <= 31


def estimated_guesses(password: str, context: list[str]) -> float:
    """The fewest guesses that write the password from the pieces above (dynamic programming over
    every split), each piece costing the number of choices of its kind."""
    words = dictionary(context)
    cardinality = len(words) + len(syllables())
    pieces = sorted(words | syllables(), key=len, reverse=True)
    n = len(password)
    best = [float("inf")] * (n + 1)
    best[0] = 1.0
    for at in range(n):
        if best[at] == float("inf"):
            continue
        here = best[at]
        for word in pieces:
            how = _word_match(password, at, word)
            if how:
                end = at + len(word)
                cost = here * cardinality * how * _case_cost(password[at:end])
                best[end] = min(best[end], cost)
        if password[at].isdigit():
            end = at
            while end < n and end - at < MAX_DIGITS and password[end].isdigit():
                end += 1
                best[end] = min(best[end], here * _number_cost(password[at:end]))
        ch = password[at]
        single = 26 if ch.isascii() and ch.isalpha() else 10 if ch.isdigit() else \
            len(COMMON_SYMBOLS) if ch in COMMON_SYMBOLS else 33 if ch.isascii() else 3000
        best[at + 1] = min(best[at + 1], here * single)
    return best[n]
