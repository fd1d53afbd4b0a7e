"""Patterns tried only where they can match: on short lines (a date line, a headline, a line of page furniture),
or on text that holds what every match needs (a digit for a date, a separator for a menu).

Long alternations (every month name and date form, every kind of caption and credit) cost a few
hundred nanoseconds at each position a match could start: linear, but seconds on a 5 MB line of a
hostile dump. What they look for is never that long, so text past the bound is simply not one.
A quick scan for what a match cannot lack passes over most lines of a dump without trying the pattern."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator


class GuardedPattern:
    """``regex``, tried only on text for which ``needs`` (when given) is true: ``needs`` must be true of any text
    that holds a match of ``regex``."""

    def __init__(self, regex: re.Pattern[str], needs: Callable[[str], object] | None = None) -> None:
        self.regex, self.needs = regex, needs

    def _may_match(self, text: str) -> bool:
        return self.needs is None or bool(self.needs(text))

    def search(self, text: str) -> re.Match[str] | None:
        return self.regex.search(text) if self._may_match(text) else None

    def match(self, text: str, pos: int = 0) -> re.Match[str] | None:
        return self.regex.match(text, pos) if self._may_match(text) else None

    def fullmatch(self, text: str) -> re.Match[str] | None:
        return self.regex.fullmatch(text) if self._may_match(text) else None

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return self.regex.finditer(text) if self._may_match(text) else iter(())

    def findall(self, text: str) -> list:
        return self.regex.findall(text) if self._may_match(text) else []

    def may_hold(self, texts: Iterable[str]) -> Iterable[str]:
        """Those of ``texts`` for which ``needs`` is true: the others hold no match, in any of their lines. One scan
        in C each, where most of a page's text pieces are passed over."""
        return texts if self.needs is None else filter(self.needs, texts)


class ShortLinePattern(GuardedPattern):
    """``regex``, matched only against text of at most ``max_chars`` characters (and for which ``needs``, when
    given, is true)."""

    def __init__(self, regex: re.Pattern[str], max_chars: int, needs: Callable[[str], object] | None = None) -> None:
        super().__init__(regex, needs)
        self.max_chars = max_chars

    def _may_match(self, text: str) -> bool:
        return len(text) <= self.max_chars and (self.needs is None or bool(self.needs(text)))


# Besides a letter's two cases, Python's re ignoring case takes "ſ" for s, "ı" and "İ" for i, and the Kelvin sign
# for k: str.lower() turns only the last into its letter.
OTHER_FORMS_OF_ASCII_LETTERS = ("ſ", "ı", "İ")


def holds_any(words: tuple[str, ...]) -> Callable[[str], bool]:
    """A ``needs`` for a case-insensitive pattern every match of which holds one of these lower-case ASCII words."""
    def needs(text: str) -> bool:
        lowered = text.lower()
        return any(map(lowered.__contains__, words)) or any(map(text.__contains__, OTHER_FORMS_OF_ASCII_LETTERS))
    return needs
