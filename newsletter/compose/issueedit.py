"""Scaffolding and editing an issue file: ``new`` writes a commented starter, ``add`` lists
sources in it. Edits go through ruamel's round trip, so the editor's comments and layout stay;
reading an issue (the core every stage uses) is issuefile.py's."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from newsletter.compose.issuefile import FENCE, IssueDocument, read_document, round_trip_yaml
from newsletter.errors import InputError
from newsletter.files import locked, write_atomically
from newsletter.sources.fetch import is_url

STARTER_PREHEADER = "One line that makes people open it"
STARTER_INTRO = "Hello {{first_name}}! This intro is **Markdown**. Say what this issue is about."
STARTER = """\
---
# Subject line and the preview text shown after it in the inbox.
subject: "{title}"
preheader: "{preheader}"
date: {date}
{audience}# Summary length for every article (override per article with sentences:/words:).
summary: {{sentences: 3, words: 60}}
sections:
  - title: Featured
    articles: []
    # Add articles with: newsletter add {slug} PATH...
    # or write them here:
    #   - source: articles/my-article.txt   # relative to this folder
    #     url: https://example.com/blog/my-article
    #     summary: "Your own blurb wins over the generated one."
---
{intro}
"""


def starter_subject(slug: str) -> str:
    return slug.replace("-", " ").title()


SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def new_issue(issues_dir: Path, slug: str, today: dt.date, audience: str | None = None) -> Path:
    """Scaffold ``issues/SLUG/issue.md``; ``audience`` is a CSV next to it that the issue names."""
    if not SLUG.fullmatch(slug):
        # The slug is a folder name, a URL path and a word on the command line: no spaces or slashes.
        raise InputError(None, f"invalid issue name {slug!r}: start with a letter or digit, then letters, digits, '-', '_' or '.'; e.g. spring-fair")
    folder = issues_dir / slug
    path = folder / "issue.md"
    if path.exists():
        raise InputError(path, "already exists; edit it, or choose another name")
    (folder / "articles").mkdir(parents=True, exist_ok=True)
    audience_line = f"# Recipients: a CSV with an email column plus merge-field columns.\naudience: {audience}\n" if audience else ""
    text = STARTER.format(title=starter_subject(slug), date=today.isoformat(), slug=slug, audience=audience_line,
                          preheader=STARTER_PREHEADER, intro=STARTER_INTRO)
    path.write_text(text, encoding="utf-8")
    return path


def add_articles(path: Path, sources: list[str | dict[str, str]], section_title: str | None = None) -> int:
    """Append sources to a section of the issue file, keeping its comments and layout.

    A source is a path or URL, or a mapping of article keys (``{"source": URL, "url": URL}``).
    Sources already listed anywhere in the issue are skipped, except that a mapping's ``url``
    is set on the listed article; returns how many were added.
    """
    with locked(path):  # two `add` commands at once: both lists land
        return _add_articles(path, sources, section_title)


def _add_articles(path: Path, sources: list[str | dict[str, str]], section_title: str | None) -> int:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    document = read_document(path)
    sections = document.front.setdefault("sections", CommentedSeq())
    listed = {}
    for section in sections:
        articles = section.get("articles") or []
        for index, item in enumerate(articles):
            listed[item if isinstance(item, str) else item.get("source")] = (articles, index)
    wanted: dict[str, dict[str, str]] = {}
    for item in sources:
        keys = {"source": item} if isinstance(item, str) else dict(item)
        wanted.setdefault(keys["source"], keys)
    new_sources = [keys for source, keys in wanted.items() if source not in listed]
    relinked = [keys for source, keys in wanted.items() if source in listed and keys.get("url")]
    for keys in relinked:
        _set_url(*listed[keys["source"]], keys["url"])
    if new_sources:
        section = _pick_section(sections, section_title)
        articles = section.get("articles")
        if not isinstance(articles, CommentedSeq) or not articles:
            articles = CommentedSeq()
            section["articles"] = articles
        for keys in new_sources:
            articles.append(CommentedMap(keys))
    if new_sources or relinked:
        _write_document(document)
    return len(new_sources)


def _set_url(articles: CommentedSeq, index: int, url: str) -> None:
    from ruamel.yaml.comments import CommentedMap

    item = articles[index]
    if isinstance(item, str):
        articles[index] = item = CommentedMap(source=item)
    item["url"] = url


@dataclass(frozen=True)
class PlacedSource:
    """A source as the issue file will list it, and the file copied into the issue for it."""

    source: str
    copied_from: Path | None = None


def place_sources(typed: list[str], issue_folder: Path, workspace_root: Path, cwd: Path,
                  copy: bool | None = None) -> list[PlacedSource]:
    """Resolve typed paths from ``cwd``; store them relative to the issue folder.

    A file outside the workspace is copied into the issue's ``articles/`` (CI only sees the
    repository) unless ``copy`` is False, which refuses it; ``copy=True`` copies every file
    not already in the issue folder. Every path is checked before anything is copied.
    """
    placed = [_place(text, issue_folder, workspace_root.resolve(), cwd, copy) for text in typed]
    for item in placed:
        if item.copied_from is not None:
            target = issue_folder / item.source
            if not target.exists():
                write_atomically(target, item.copied_from.read_bytes())
    return placed


def _place(text: str, issue_folder: Path, root: Path, cwd: Path, copy: bool | None) -> PlacedSource:
    if is_url(text):
        return PlacedSource(text)
    path = _existing(text, issue_folder, cwd)
    folder = issue_folder.resolve()
    outside = not path.is_relative_to(root)
    if outside and copy is False:
        raise InputError(text, f"is outside the workspace ({root}), where a scheduled send cannot read it: "
                         "leave out --no-copy to copy it into the issue folder")
    if path.is_relative_to(folder) or not (outside or copy):
        return PlacedSource(Path(os.path.relpath(path, folder)).as_posix())
    target = issue_folder / "articles" / path.name
    if target.exists() and target.read_bytes() != path.read_bytes():
        raise InputError(target, f"already exists with other content; rename {text} before adding it")
    return PlacedSource(f"articles/{path.name}", copied_from=path)


def _existing(text: str, issue_folder: Path, cwd: Path) -> Path:
    """The readable file ``text`` names, from where the user stands, else from the issue folder."""
    typed = Path(text).expanduser()
    candidates = [cwd / typed] if typed.is_absolute() else [cwd / typed, issue_folder / typed]
    path = next((c for c in candidates if c.exists()), None)
    if path is None:
        raise InputError(text, f"not found (relative paths are read from the current folder, {cwd})")
    if not path.is_file():
        raise InputError(text, "is not a file")
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise InputError(text, f"cannot be read ({error.strerror})") from None
    return path.resolve()


def _pick_section(sections: CommentedSeq, title: str | None) -> CommentedMap:
    """The section titled ``title``, else the last one; created when missing."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if title is None and sections:
        return sections[-1]
    for section in sections:
        if str(section.get("title", "")).strip() == title:
            return section
    section = CommentedMap()
    section["title"] = title or "Featured"
    section["articles"] = CommentedSeq()
    sections.append(section)
    return section


def _write_document(document: IssueDocument) -> None:
    buffer = io.StringIO()
    round_trip_yaml().dump(document.front, buffer)
    text = f"{FENCE}\n{buffer.getvalue()}{FENCE}\n{document.body}"
    write_atomically(document.path, text)
