"""Patterns for short lines only: a date line, a headline, a line of page furniture.

Long alternations (every month name and date form, every kind of caption and credit) cost a few
hundred nanoseconds at each position a match could start: linear, but seconds on a 5 MB line of a
hostile dump. What they look for is never that long, so text past the bound is simply not one."""

from __future__ import annotations

import re
from collections.abc import Iterator


class ShortLinePattern:
    """``regex``, matched only against text of at most ``max_chars`` characters, and (when ``needs`` is given, a
    pattern that every match of ``regex`` contains a match of) only against text in which ``needs`` finds
    something: a quick scan for what a match cannot lack spares the long alternation on most lines."""

    def __init__(self, regex: re.Pattern[str], max_chars: int, needs: re.Pattern[str] | None = None) -> None:
        self.regex, self.max_chars, self.needs = regex, max_chars, needs

    def _may_match(self, text: str) -> bool:
        return len(text) <= self.max_chars and (self.needs is None or self.needs.search(text) is not None)

    def search(self, text: str) -> re.Match[str] | None:
        return self.regex.search(text) if self._may_match(text) else None

    def match(self, text: str) -> re.Match[str] | None:
        return self.regex.match(text) if self._may_match(text) else None

    def fullmatch(self, text: str) -> re.Match[str] | None:
        return self.regex.fullmatch(text) if self._may_match(text) else None

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return self.regex.finditer(text) if self._may_match(text) else iter(())
