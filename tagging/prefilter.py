"""A cheap test that lets a rule skip a text it cannot match.

Running ~700 regular expressions over a 2,000-page document is the tagger's
main cost.  Most rules contain a literal a match must include (成立.{0,30}小组
needs 成立; 技高多得|多劳多得 needs one of two), and `str.__contains__` finds or
rules out a literal far faster than the regex engine walks the text.
"""
from __future__ import annotations

try:  # Python 3.11+
    import re._parser as sre_parse
    from re._constants import BRANCH, LITERAL, SUBPATTERN
except ImportError:  # pragma: no cover - older layout
    import sre_parse  # type: ignore
    from sre_constants import BRANCH, LITERAL, SUBPATTERN  # type: ignore


def _leading_literal(items) -> str:
    out = []
    for op, av in items:
        if op is not LITERAL:
            break
        out.append(chr(av))
    return "".join(out)


def _requirements(items) -> list[list[str]]:
    """Each entry: alternatives of which at least one literal must occur."""
    reqs: list[list[str]] = []
    run: list[str] = []

    def flush():
        if run:
            reqs.append(["".join(run)])
            run.clear()

    for op, av in items:
        if op is LITERAL:
            run.append(chr(av))
            continue
        flush()
        if op is BRANCH:
            alts = [_leading_literal(list(branch)) for branch in av[1]]
            if all(alts):
                reqs.append(alts)
        elif op is SUBPATTERN:
            sub = list(av[-1])
            if len(sub) == 1 and sub[0][0] is BRANCH:
                alts = [_leading_literal(list(branch)) for branch in sub[0][1][1]]
                if all(alts):
                    reqs.append(alts)
            else:
                reqs.extend(_requirements(sub))
    flush()
    return reqs


def required_literals(pattern: str) -> list[str] | None:
    """Literals of which a match must contain at least one, or None if unknown."""
    try:
        parsed = list(sre_parse.parse(pattern))
    except Exception:  # noqa: BLE001 - unknown syntax: never skip the rule
        return None
    reqs = [alts for alts in _requirements(parsed)
            if not any(ch.isascii() and ch.isalpha() for alt in alts for ch in alt)]
    if not reqs:
        return None
    # the most selective requirement: fewest alternatives, then longest shortest literal
    return min(reqs, key=lambda alts: (len(alts), -min(len(a) for a in alts)))


def may_match(literals: list[str] | None, text: str) -> bool:
    return literals is None or any(lit in text for lit in literals)
