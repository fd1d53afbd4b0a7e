"""Compose an issue: read every article, merge versions, summarise, place in sections."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

from .article import Article
from .dedupe import group_versions, newest
from .errors import InputError
from .issuefile import ArticleRef, Budget, IssueSpec
from .readers import SourceError, read_article
from .summarize import summarize
from .workspace import Workspace


@dataclass(frozen=True)
class Entry:
    """An article as it appears in the issue: the editor's overrides applied."""

    article: Article
    title: str
    summary: str
    url: str | None
    image: str | None
    image_alt: str
    summary_by: str  # "editor" or "extractive"

    def to_dict(self) -> dict:
        data = self.article.to_dict(include_text=False)
        data.update(title=self.title, summary=self.summary, url=self.url, image=self.image,
                    image_alt=self.image_alt, summary_by=self.summary_by)
        return data


@dataclass(frozen=True)
class Section:
    title: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Issue:
    slug: str
    subject: str
    preheader: str
    date: dt.date | None
    theme: str
    intro_markdown: str
    intro_html: str
    sections: tuple[Section, ...]

    @property
    def entries(self) -> list[Entry]:
        return [entry for section in self.sections for entry in section.entries]

    def to_dict(self) -> dict:
        return {
            "slug": self.slug,
            "subject": self.subject,
            "preheader": self.preheader,
            "date": self.date.isoformat() if self.date else None,
            "theme": self.theme,
            "intro": self.intro_markdown,
            "sections": [
                {"title": s.title, "articles": [e.to_dict() for e in s.entries]} for s in self.sections
            ],
        }


_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def render_markdown(text: str) -> str:
    """Markdown to HTML with raw HTML shown as text, so an intro cannot inject markup."""
    return _markdown.render(text).strip()


def compose(spec: IssueSpec, workspace: Workspace) -> Issue:
    settings = workspace.settings
    refs = spec.articles
    articles = [_read(ref, spec, day_first=settings.date_order.upper().startswith("D")) for ref in refs]
    budget = spec.budget or Budget(settings.summary.sentences, settings.summary.words)
    placed: dict[int, Entry] = {}
    for group in group_versions(articles):
        versions = [articles[i] for i in group]
        winner = newest(versions)
        merged = dataclasses.replace(winner, also_from=tuple(v.source for v in versions if v is not winner))
        placed[group[0]] = _entry(merged, [refs[i] for i in group], budget)
    sections, index = [], 0
    for section in spec.sections:
        entries = tuple(placed[i] for i in range(index, index + len(section.articles)) if i in placed)
        index += len(section.articles)
        if entries:
            sections.append(Section(section.title, entries))
    return Issue(
        slug=spec.slug,
        subject=spec.subject,
        preheader=spec.preheader,
        date=spec.date,
        theme=spec.theme or settings.theme,
        intro_markdown=spec.intro,
        intro_html=render_markdown(spec.intro),
        sections=tuple(sections),
    )


def _read(ref: ArticleRef, spec: IssueSpec, day_first: bool) -> Article:
    try:
        return read_article(ref.source, spec.folder, day_first)
    except SourceError as error:
        raise InputError(spec.path, f"{ref.source}: {error.message}", ref.line) from None


def _entry(article: Article, refs: list[ArticleRef], budget: Budget) -> Entry:
    """Editor overrides come from the first listing of the article that sets them."""
    def override(name: str) -> str | None:
        return next((getattr(ref, name) for ref in refs if getattr(ref, name)), None)

    editor_summary = override("summary")
    article_budget = override("budget") or budget
    summary = editor_summary.strip() if editor_summary else summarize(article, article_budget)
    return Entry(
        article=dataclasses.replace(article, summary=summary),
        title=(override("title") or article.title).strip(),
        summary=summary,
        url=override("url") or article.url,
        image=override("image") or article.image,
        image_alt=override("image_alt") or article.image_alt or "",
        summary_by="editor" if editor_summary else "extractive",
    )
