"""Compose an issue: read every article, merge versions, summarise, place in sections."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from markdown_it import MarkdownIt

from newsletter.compose.cache import CACHE_DIR, ArticleCache
from newsletter.compose.dedupe import EarlierArticles, newest, versions_of
from newsletter.compose.history import featured_before
from newsletter.compose.issuefile import ArticleRef, Budget, IssueSpec
from newsletter.compose.settings import SummarySettings
from newsletter.errors import InputError, SourceError
from newsletter.sources.article import Article
from newsletter.sources.fetch import FetchOptions, fetch_options, is_url, prefetch
from newsletter.sources.source import load_source
from newsletter.workspace import Workspace

if TYPE_CHECKING:
    from newsletter.compose.summarize_llm import Summarizer


@dataclass(frozen=True)
class Entry:
    """An article as it appears in the issue: the editor's overrides applied."""

    article: Article
    title: str
    summary: str
    url: str | None
    image: str | None
    image_alt: str
    summary_by: str  # "editor", "model" or "extractive"
    featured_in: tuple[str, ...] = ()  # earlier issues that featured a version of it

    def to_dict(self) -> dict:
        data = self.article.to_dict(include_text=False)
        data.update(title=self.title, summary=self.summary, url=self.url, image=self.image,
                    image_alt=self.image_alt, summary_by=self.summary_by, featured_in=list(self.featured_in))
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
    warnings: tuple[str, ...] = ()  # one line each: skipped sources, articles featured before

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
    """Markdown to HTML with raw HTML shown as text, so an intro cannot inject markup.

    The plain-text part is derived from this HTML too (render.html_to_text)."""
    return _markdown.render(text).strip()


def compose(spec: IssueSpec, workspace: Workspace, fetch: FetchOptions | None = None) -> Issue:
    settings = workspace.settings
    day_first = settings.day_first
    fetch = fetch or fetch_options(workspace)
    refs = spec.articles
    warnings: list[str] = []
    for ref in refs:
        if not is_url(ref.source):
            workspace.require_inside(spec.folder / ref.source, f"{ref.source}: the file", spec.path, ref.line)
    cache = ArticleCache(workspace.root / CACHE_DIR if fetch.cache_dir else None, day_first, fetch.refresh)
    articles, keys = _read_all(spec, day_first, fetch, cache, warnings)
    earlier = _earlier_articles(spec, workspace, day_first, fetch, warnings)
    summary = workspace.table(SummarySettings)
    budget = spec.budget or Budget(summary.sentences, summary.words)
    summaries = _Summaries(cache, summary)
    placed: dict[int, Entry] = {}
    listed = list(articles)
    article_keys, versions_listed = [keys[index] for index in articles], list(articles.values())
    for group in cache.groups(article_keys, lambda: versions_of(article_keys, versions_listed)):
        indices = [listed[i] for i in group]
        versions = [articles[i] for i in indices]
        winner = newest(versions)
        merged = dataclasses.replace(winner, also_from=tuple(v.source for v in versions if v is not winner))
        featured = earlier.featured_in(merged)
        if featured:
            first = refs[indices[0]]
            warnings.append(str(InputError(spec.path, f"{first.source}: already featured in {', '.join(featured)}", first.line)))
        refs_of_group = [refs[i] for i in indices]
        placed[indices[0]] = _entry(merged, refs_of_group, budget, featured,
                                    summaries.maker(keys[indices[versions.index(winner)]]))
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
        warnings=tuple(warnings),
    )


def _read_all(spec: IssueSpec, day_first: bool, fetch: FetchOptions, cache: ArticleCache,
              warnings: list[str]) -> tuple[dict[int, Article], dict[int, str]]:
    """Every listed article (and its cache key) by listing index; with ``skip_broken: true`` a
    broken one becomes a warning."""
    articles, keys = {}, {}
    # Pages download together; reading them stays in listing order, from the cache.
    fetch, failures = prefetch([ref.source for ref in spec.articles], fetch)
    for index, ref in enumerate(spec.articles):
        try:
            if ref.source in failures:
                raise failures[ref.source]
            article, keys[index] = cache.read(load_source(ref.source, spec.folder, day_first, fetch))
            articles[index] = article_without_merge_fields(article)
        except SourceError as error:
            problem = InputError(spec.path, f"{ref.source}: {error.message}", ref.line)
            if not spec.skip_broken:
                raise problem from None
            warnings.append(f"{problem} (skipped: skip_broken is on)")
    if not articles:
        raise InputError(spec.path, "no article could be read; every source was skipped")
    return articles, keys


@dataclass
class _Summaries:
    """Summaries through the cache: a source whose bytes did not change is not summarised again,
    and while every summary comes from the cache the summarisers are not even loaded."""

    cache: ArticleCache
    settings: SummarySettings

    @property
    def method(self) -> str:
        return f"model {self.settings.llm_url} {self.settings.llm_model}" if self.settings.llm_url else "extractive"

    @functools.cached_property
    def summarizer(self) -> Summarizer:
        from newsletter.compose.summarize_llm import summarizer_for

        return summarizer_for(self.settings)

    def maker(self, article_key: str) -> Callable[[Article, Budget], tuple[str, str]]:
        def make(article: Article, budget: Budget) -> tuple[str, str]:
            return self.cache.summary(article_key, budget, self.method, lambda: self._blurb(article, budget))
        return make

    def _blurb(self, article: Article, budget: Budget) -> tuple[str, str]:
        from newsletter.compose.summarize_llm import blurb

        return blurb(self.summarizer, article, budget)


# Merge fields ({{email}}) are filled only in what the editor wrote. In text that came from a
# source they are broken up with a zero-width space (shown the same, never matched), and in its
# URLs the braces are percent-encoded, so a page cannot make us send subscribers' data anywhere.
_ZERO_WIDTH_SPACE = "\u200b"


def without_merge_fields(text: str | None) -> str | None:
    return text.replace("{{", "{" + _ZERO_WIDTH_SPACE + "{") if text and "{{" in text else text


def url_without_merge_fields(url: str | None) -> str | None:
    return url.replace("{", "%7B").replace("}", "%7D") if url else url


def article_without_merge_fields(article: Article) -> Article:
    """The article with nothing in it that a merge could fill."""
    texts = {name: without_merge_fields(getattr(article, name))
             for name in ("title", "byline", "site", "image_alt", "description", "summary")}
    blocks = tuple(dataclasses.replace(block, text=without_merge_fields(block.text)) for block in article.blocks)
    return dataclasses.replace(article, **texts, blocks=blocks, url=url_without_merge_fields(article.url),
                               image=url_without_merge_fields(article.image))


def _earlier_articles(spec: IssueSpec, workspace: Workspace, day_first: bool, fetch: FetchOptions,
                      warnings: list[str]) -> EarlierArticles:
    """What earlier issues featured, with a warning for each one that could not be fully compared."""
    featured = featured_before(workspace, spec.path, spec.date, day_first, fetch)
    for issue in featured:
        if issue.unchecked:
            count = len(issue.unchecked)
            warnings.append(f"{issue.slug}: {count} source{'s' if count > 1 else ''} not compared for repeats "
                            f"(not in the cache or unreadable, e.g. {issue.unchecked[0]}); build {issue.slug} to fetch them")
    return EarlierArticles((issue.slug, issue.fingerprints) for issue in featured)


def _image(editor: str | None, found: str | None) -> str | None:
    """The editor's image wins; ``image: none`` also turns off the picture the page named."""
    if editor and editor.strip().lower() == "none":
        return None
    return editor or found


def _entry(article: Article, refs: list[ArticleRef], budget: Budget, featured_in: tuple[str, ...],
           summarize_article: Callable[[Article, Budget], tuple[str, str]]) -> Entry:
    """Editor overrides come from the first listing of the article that sets them."""
    def override(name: str) -> str | None:
        return next((getattr(ref, name) for ref in refs if getattr(ref, name)), None)

    editor_summary = override("summary")
    article_budget = override("budget") or budget
    summary, summary_by = ((editor_summary.strip(), "editor") if editor_summary
                           else summarize_article(article, article_budget))
    if summary_by != "editor":
        summary = without_merge_fields(summary) or ""  # a model may echo a merge field from the page
    return Entry(
        article=dataclasses.replace(article, summary=summary),
        title=(override("title") or article.title).strip(),
        summary=summary,
        url=override("url") or article.url,
        image=_image(override("image"), article.image),
        image_alt=override("image_alt") or article.image_alt or "",
        summary_by=summary_by,
        featured_in=featured_in,
    )
