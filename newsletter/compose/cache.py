"""Extracted articles and their summaries, cached in the workspace by a hash of the source bytes.

A rebuild after an editor's change re-reads and re-summarises only the sources whose bytes
changed. Keys include the program (its version and its modules) and every setting that shapes the result (date order;
summary length and method; for a file, the day it was last saved, which dates a dump's "2 days ago"), so an upgrade,
a code change or a settings change never serves a stale answer.
``--refresh`` reads nothing from the cache (and writes the fresh results back).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from newsletter.compose.issuefile import Budget
from newsletter.files import CACHE_ROOT, DiskMemo, memo_key
from newsletter.sources.article import Article
from newsletter.sources.readers import read_source
from newsletter.sources.source import Source

CACHE_DIR = Path(CACHE_ROOT) / "articles"  # in the workspace, beside the fetched pages


class ArticleCache:
    def __init__(self, folder: Path | None, day_first: bool, refresh: bool = False) -> None:
        self.memo = DiskMemo(folder, refresh)
        self.day_first = day_first

    def read(self, source: Source) -> tuple[Article, str]:
        """The article in ``source`` and the key that names it (for its summaries)."""
        key = memo_key(str(self.day_first), source.media_type, source.url or "", source.location, source.data)
        cached = self.memo.load(f"{key}.article.json")
        if cached is not None:
            return Article.from_record(cached), key
        article = read_source(source)
        self.memo.store(f"{key}.article.json", article.to_record())
        return article, key

    def summary(self, article_key: str, budget: Budget, method: str,
                make: Callable[[], tuple[str, str]]) -> tuple[str, str]:
        """A summary and who made it; ``method`` names the summariser and its settings."""
        name = f"{memo_key(article_key, str(budget.sentences), str(budget.words), method)}.summary.json"
        cached = self.memo.load(name)
        if cached is not None:
            return cached["text"], cached["by"]
        text, made_by = make()
        if method == "extractive" or made_by != "extractive":  # a model's fallback is tried again next time
            self.memo.store(name, {"text": text, "by": made_by})
        return text, made_by

    def groups(self, article_keys: list[str], make: Callable[[], list[list[int]]]) -> list[list[int]]:
        """Which of the articles are versions of one another. Remembered by the articles' keys: a
        rebuild after an intro edit neither shingles nor compares them again (a third of a warm build)."""
        name = f"{memo_key('versions', *article_keys)}.groups.json"
        cached = self.memo.load(name)
        if isinstance(cached, list):
            return cached
        found = make()
        self.memo.store(name, found)
        return found
