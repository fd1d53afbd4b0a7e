"""Merge sources that are versions of the same article; the newer version wins."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable
from itertools import chain

from newsletter.sources.article import Article

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


_REMEMBERED: dict[str, frozenset] = {}  # shingles by article cache key, for a process that rebuilds
_REMEMBER_AT_MOST = 512




def remembered_shingles(key: str, article: Article) -> frozenset:
    """The article's shingles, computed once per process for the same extracted article."""
    found = _REMEMBERED.get(key)
    if found is None:
        if len(_REMEMBERED) >= _REMEMBER_AT_MOST:
            _REMEMBERED.clear()
        found = _REMEMBERED[key] = shingles(article.text)
    return found


def versions_of(keys: list[str], articles: list[Article]) -> list[list[int]]:
    """``group_versions`` of the articles, each article's shingles remembered by its cache key."""
    return group_versions(articles, [remembered_shingles(key, article) for key, article in zip(keys, articles)])


def group_versions(articles: list[Article], sets: list[frozenset] | None = None) -> list[list[int]]:
    """Indices of articles grouped by sameness, each group in listing order; ``sets``: their
    shingles when already known.

    An article joins the first group whose first article it matches. Candidates come from an
    index of shingles, so only articles that share text are ever compared, not every pair."""
    leaders = ShingleIndex()
    groups: list[list[int]] = []
    for index, article in enumerate(articles):
        mine = sets[index] if sets is not None else shingles(article.text)
        same = leaders.matches(mine)
        if same:
            groups[same[0]].append(index)
        else:
            leaders.add(mine)
            groups.append([index])
    return groups


class ShingleIndex:
    """Shingle sets by number, found again by containment through an inverted index."""

    def __init__(self) -> None:
        self._postings: defaultdict[Hashable, list[int]] = defaultdict(list)
        self._sizes: list[int] = []

    def add(self, items: frozenset) -> int:
        number = len(self._sizes)
        self._sizes.append(len(items))
        for item in items:
            self._postings[item].append(number)
        return number

    def matches(self, items: frozenset) -> list[int]:
        """Numbers of the stored sets that ``containment`` calls the same article, in order."""
        if not items:
            return []
        postings = self._postings
        shared = Counter(chain.from_iterable(postings[item] for item in items if item in postings))
        return sorted(number for number, count in shared.items()
                      if self._sizes[number] and count / min(len(items), self._sizes[number]) >= SAME_ARTICLE)


def fingerprint(text: str) -> frozenset[int]:
    """The text's shingles as 64-bit hashes: compact to store, and the same in every process."""
    return frozenset(int.from_bytes(hashlib.blake2b(" ".join(shingle).encode(), digest_size=8).digest(),
                                    "little", signed=True) for shingle in shingles(text))


class EarlierArticles:
    """Fingerprints of the articles earlier issues featured, to tell when one comes back."""

    def __init__(self, issues: Iterable[tuple[str, Iterable[frozenset[int]]]]) -> None:
        """``issues``: each earlier issue's slug with the fingerprints of its articles."""
        self._slugs: list[str] = []
        self._owner: list[int] = []  # fingerprint number -> its issue's position in _slugs
        self._index = ShingleIndex()
        for slug, fingerprints in issues:
            self._slugs.append(slug)
            for earlier in fingerprints:
                self._index.add(earlier)
                self._owner.append(len(self._slugs) - 1)

    def featured_in(self, article: Article) -> tuple[str, ...]:
        """The earlier issues (oldest first) that featured a version of ``article``."""
        if not self._slugs:
            return ()
        issues = sorted({self._owner[number] for number in self._index.matches(fingerprint(article.text))})
        return tuple(self._slugs[issue] for issue in issues)
