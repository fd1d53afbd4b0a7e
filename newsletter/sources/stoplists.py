"""Function words by language: jusText's stoplists, read as the data files they are.

The dump reader counts them to tell prose from furniture; the summariser leaves them out when it compares
sentences. Importing jusText itself would load lxml and urllib (~50 ms), a third of reading twenty page dumps.
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from functools import cache
from pathlib import Path


@cache
def all_stoplists() -> tuple[dict[str, frozenset[str]], dict[str, tuple[str, ...]]]:
    """jusText's stoplists by language, and the languages of each stopword."""
    stoplists = {path.stem: _stoplist(path) for path in _stoplist_folder().glob("*.txt")}
    index: dict[str, list[str]] = {}
    for language, words in stoplists.items():
        for word in words:
            index.setdefault(word, []).append(language)
    return stoplists, {word: tuple(languages) for word, languages in index.items()}


ENGLISH_SHARE = 0.3  # share of a text's words in English's stoplist that settles its language


@cache
def english_stopwords() -> frozenset[str]:
    return _stoplist(_stoplist_folder() / "English.txt")


def _stoplist_folder() -> Path:
    spec = importlib.util.find_spec("justext")  # finds the package without running it
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("jusText is not installed: pip install justext")
    return Path(spec.origin).parent / "stoplists"


def _stoplist(path: Path) -> frozenset[str]:
    """The words of one stoplist, as ``justext.get_stoplist`` gives them."""
    return frozenset(line.decode("utf-8").lower() for line in path.read_bytes().splitlines())


def language_stopwords(token_counts: Counter[str]) -> frozenset[str]:
    """The function words of a text's language: the stoplist its words hit most often.

    Plainly English text skips loading the hundred other stoplists (0.4 s at start-up). Single letters do not
    vote: lynx marks nested list items with "o" (Polish's and Spanish's "or"), and initials are any language's.
    """
    words = {token: count for token, count in token_counts.items() if token.isalpha() and len(token) > 1}
    english = english_stopwords()
    total = sum(words.values())
    if total and sum(count for token, count in words.items() if token in english) >= ENGLISH_SHARE * total:
        return english
    stoplists, index = all_stoplists()
    hits: Counter[str] = Counter()
    for token, count in words.items():  # some stoplists carry numbers, which say nothing of a language
        for language in index.get(token, ()):
            hits[language] += count
    if not hits:
        return frozenset()
    # On a tie (a short text) English wins: several stoplists share its commonest words.
    best = max(hits.items(), key=lambda item: (item[1], item[0] == "English"))[0]
    return stoplists[best]
