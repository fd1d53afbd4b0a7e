"""The issues that came before this one in ``issues/``, and the articles they featured.

Issues are ordered by their ``date:``, else by folder name; an issue dated 2026-10-30
and one named ``2026-11-garden-notes`` compare the way a reader would expect.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from newsletter.compose.cache import CACHE_DIR, ArticleCache
from newsletter.compose.dedupe import fingerprint
from newsletter.compose.issuefile import read_issue, read_issue_date
from newsletter.errors import InputError, SourceError
from newsletter.files import DiskMemo, memo_key, write_atomically
from newsletter.sources.fetch import FetchOptions
from newsletter.sources.source import Source, load_source
from newsletter.workspace import ISSUE_FILE, Workspace

MEMO_DIR = Path(".cache") / "featured"  # in the workspace, beside the fetched pages


@dataclass(frozen=True)
class PastIssue:
    path: Path
    date: dt.date | None
    sources: tuple[str, ...] | None = None  # None when the issue file does not validate
    problem: str = ""  # why it does not

    @property
    def slug(self) -> str:
        return self.path.parent.name

    @property
    def order(self) -> tuple[str, str]:
        return (self.date.isoformat() if self.date else self.slug, self.slug)


@dataclass(frozen=True)
class Featured:
    """Fingerprints of the articles an earlier issue featured, and the sources that could not be read."""

    slug: str
    fingerprints: tuple[frozenset[int], ...]
    unchecked: tuple[str, ...]


def read_past_issue(path: Path) -> PastIssue | None:
    """An issue's date and sources; None when not even its date can be read."""
    try:
        spec = read_issue(path)
        return PastIssue(path, spec.date, tuple(ref.source for ref in spec.articles))
    except InputError as error:
        problem = error.message
    try:
        return PastIssue(path, read_issue_date(path), problem=problem)
    except InputError:
        return None


def earlier_issues(issues_dir: Path, current: Path, current_date: dt.date | None,
                   read: Callable[[Path], PastIssue | None] = read_past_issue) -> list[PastIssue]:
    """Issues before ``current`` (an issue.md), oldest first."""
    this = PastIssue(current, current_date)
    found = (read(path) for path in sorted(issues_dir.glob(f"*/{ISSUE_FILE}")) if path.resolve() != current.resolve())
    return sorted((issue for issue in found if issue and issue.order < this.order), key=lambda issue: issue.order)


def previous_issue(issues_dir: Path, current: Path) -> PastIssue | None:
    """The latest issue before ``current``, which may still be a starter without articles."""
    earlier = earlier_issues(issues_dir, current, read_issue_date(current))
    return earlier[-1] if earlier else None


def featured_before(workspace: Workspace, current: Path, current_date: dt.date | None, day_first: bool,
                    fetch: FetchOptions) -> list[Featured]:
    """What each issue before ``current`` featured, read offline: URLs only from the cache."""
    cached_only = dataclasses.replace(fetch, refresh=False, offline=True)
    memo = _Memo(workspace.root / MEMO_DIR, day_first)
    issues = earlier_issues(workspace.issues_dir, current, current_date, memo.past_issue)
    return [_featured(issue, cached_only, memo) for issue in issues]


def _featured(issue: PastIssue, fetch: FetchOptions, memo: _Memo) -> Featured:
    if issue.sources is None:
        return Featured(issue.slug, (), (issue.problem,))
    found, unchecked = [], []
    for location in issue.sources:
        try:
            found.append(memo.fingerprint(load_source(location, issue.path.parent, memo.day_first, fetch)))
        except SourceError:
            unchecked.append(location)
    return Featured(issue.slug, tuple(found), tuple(unchecked))


class _Memo:
    """Earlier issues' sources and article fingerprints, by the hash of the bytes they come from.

    Without it every build parses every earlier issue.md (~10 ms each with ruamel) and
    extracts every earlier article (~9 ms each): over two seconds for two years of issues.
    """

    def __init__(self, folder: Path, day_first: bool) -> None:
        self.folder = folder
        self.memo = DiskMemo(folder)
        self.day_first = day_first

    def past_issue(self, path: Path) -> PastIssue | None:
        name = f"{self._key(path.read_bytes())}.json"
        record = self.memo.load(name)
        if not isinstance(record, dict) or "issue" not in record:
            issue = read_past_issue(path)
            record = {"issue": None if issue is None else {
                "date": issue.date.isoformat() if issue.date else None,
                "sources": None if issue.sources is None else list(issue.sources), "problem": issue.problem}}
            self.memo.store(name, record)
        record = record["issue"]
        if record is None:
            return None
        date = dt.date.fromisoformat(record["date"]) if record["date"] else None
        sources = None if record["sources"] is None else tuple(record["sources"])
        return PastIssue(path, date, sources, record["problem"])

    def fingerprint(self, source: Source) -> frozenset[int]:
        memo = self.folder / f"{self._key(source.media_type.encode(), source.data)}.bin"
        try:
            return frozenset(array("q", memo.read_bytes()))
        except FileNotFoundError:
            pass
        found = fingerprint(ArticleCache(self.folder.parent / CACHE_DIR.name, self.day_first).read(source)[0].text)
        write_atomically(memo, array("q", sorted(found)).tobytes())
        return found

    def _key(self, *parts: bytes) -> str:
        """Also keyed by date order: it can change what is read from the same bytes."""
        return memo_key(str(self.day_first), *parts)
