"""Merge sources that are versions of the same article; the newer version wins."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable

from newsletter.article import Article

SHINGLE_WORDS = 4
SAME_ARTICLE = 0.5  # share of the shorter version's shingles found in the other


def shingles(text: str, size: int = SHINGLE_WORDS) -> frozenset[tuple[str, ...]]:
    tokens = re.findall(r"\w+", text.lower())
    return frozenset(tuple(tokens[i:i + size]) for i in range(max(len(tokens) - size + 1, 1)))


def containment(a: frozenset, b: frozenset) -> float:
    """How much of the smaller set lies in the larger: robust to one version adding paragraphs."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def newest(versions: list[Article]) -> Article:
    """The latest version by its "last updated" date, else published; ties go to the later listed."""
    ranked = max(enumerate(versions), key=lambda pair: (pair[1].revised or dt.date.min, pair[0]))
    return ranked[1]


def group_versions(articles: list[Article]) -> list[list[int]]:
    """Indices of articles grouped by sameness, each group in listing order."""
    fingerprints = [shingles(article.text) for article in articles]
    groups: list[list[int]] = []
    for index in range(len(articles)):
        for group in groups:
            if containment(fingerprints[group[0]], fingerprints[index]) >= SAME_ARTICLE:
                group.append(index)
                break
        else:
            groups.append([index])
    return groups


def fingerprint(text: str) -> frozenset[int]:
    """The text's shingles as 64-bit hashes: compact to store, and the same in every process."""
    return frozenset(int.from_bytes(hashlib.blake2b(" ".join(shingle).encode(), digest_size=8).digest(),
                                    "little", signed=True) for shingle in shingles(text))


class EarlierArticles:
    """Fingerprints of the articles earlier issues featured, to tell when one comes back."""

    def __init__(self, issues: Iterable[tuple[str, Iterable[frozenset[int]]]]) -> None:
        """``issues``: each earlier issue's slug with the fingerprints of its articles."""
        self._issues = [(slug, list(fingerprints)) for slug, fingerprints in issues]

    def featured_in(self, article: Article) -> tuple[str, ...]:
        """The earlier issues (oldest first) that featured a version of ``article``."""
        if not self._issues:
            return ()
        mine = fingerprint(article.text)
        return tuple(slug for slug, fingerprints in self._issues
                     if any(containment(mine, earlier) >= SAME_ARTICLE for earlier in fingerprints))
