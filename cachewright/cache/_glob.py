"""Redis glob patterns (``*``, ``?``, ``[...]``, ``\\`` escapes) as Python regexes."""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["glob_to_regex"]


def _closing_bracket(pattern: str, start: int) -> int:
    i = start
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
        elif pattern[i] == "]":
            return i
        else:
            i += 1
    return -1


def _char_set(body: str) -> str:
    """A Redis ``[...]`` set as a regex class: members escaped, ``a-z`` ranges kept."""
    negate = body.startswith("^")
    if negate:
        body = body[1:]
    members: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            members.append(re.escape(body[i + 1]))
            i += 2
        elif i + 2 < len(body) and body[i + 1] == "-":
            low, high = sorted((ch, body[i + 2]))
            members.append(f"{re.escape(low)}-{re.escape(high)}")
            i += 3
        else:
            members.append(re.escape(ch))
            i += 1
    if not members:
        return "(?!)" if not negate else "."  # an empty set matches nothing
    return f"[{'^' if negate else ''}{''.join(members)}]"


@lru_cache(maxsize=256)
def glob_to_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "\\" and i < n:
            out.append(re.escape(pattern[i]))
            i += 1
        elif ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[":
            end = _closing_bracket(pattern, i)
            if end == -1:
                out.append(re.escape(ch))
                continue
            out.append(_char_set(pattern[i:end]))
            i = end + 1
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out) + r"\Z", re.DOTALL)
