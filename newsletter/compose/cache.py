"""Extracted articles and their summaries, cached in the workspace by a hash of the source bytes.

A rebuild after an editor's change re-reads and re-summarises only the sources whose bytes
changed. Keys include the tool version and every setting that shapes the result (date order;
summary length and method), so an upgrade or a settings change never serves a stale answer.
``--refresh`` reads nothing from the cache (and writes the fresh results back).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

from newsletter import __version__
from newsletter.article import Article
from newsletter.compose.issuefile import Budget
from newsletter.files import write_atomically
from newsletter.sources.readers import read_source
from newsletter.sources.source import Source

CACHE_DIR = Path(".cache") / "articles"  # in the workspace, beside the fetched pages


class ArticleCache:
    def __init__(self, folder: Path | None, day_first: bool, refresh: bool = False) -> None:
        self.folder = folder
        self.day_first = day_first
        self.refresh = refresh

    def read(self, source: Source) -> tuple[Article, str]:
        """The article in ``source`` and the key that names it (for its summaries)."""
        key = _key(__version__, str(self.day_first), source.media_type, source.url or "", source.location)
        key = _key(key, hashlib.sha256(source.data).hexdigest())
        cached = self._load(f"{key}.article.json")
        if cached is not None:
            return Article.from_record(cached), key
        article = read_source(source)
        self._store(f"{key}.article.json", article.to_record())
        return article, key

    def summary(self, article_key: str, budget: Budget, method: str,
                make: Callable[[], tuple[str, str]]) -> tuple[str, str]:
        """A summary and who made it; ``method`` names the summariser and its settings."""
        name = f"{_key(article_key, str(budget.sentences), str(budget.words), method)}.summary.json"
        cached = self._load(name)
        if cached is not None:
            return cached["text"], cached["by"]
        text, made_by = make()
        if method == "extractive" or made_by != "extractive":  # a model's fallback is tried again next time
            self._store(name, {"text": text, "by": made_by})
        return text, made_by

    def _load(self, name: str) -> dict | None:
        if self.folder is None or self.refresh:
            return None
        try:
            return json.loads((self.folder / name).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None

    def _store(self, name: str, data: dict) -> None:
        if self.folder is not None:
            write_atomically(self.folder / name, json.dumps(data, ensure_ascii=False))


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:40]
