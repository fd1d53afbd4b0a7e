"""Measure article extraction: body overlap, metadata accuracy, and pages rendered to plain text.

Body overlap follows the article-extraction-benchmark: word 4-gram shingles, one page's
true/false positives and negatives scaled to sum to 1 (so a long page weighs no more than
a short one), precision and recall averaged over pages, F1 from those two averages.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import statistics
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import lxml.html
from lxml import etree

WORD = re.compile(r"\w+")
SHINGLE_SIZE = 4


@dataclass(frozen=True)
class Overlap:
    """One page's shingle overlap, scaled so that the three parts sum to 1."""

    true_positive: float
    false_positive: float
    false_negative: float

    @property
    def precision(self) -> float:
        return self._share_right(self.false_positive)

    @property
    def recall(self) -> float:
        return self._share_right(self.false_negative)

    def _share_right(self, wrong: float) -> float:
        """Right over right plus ``wrong``; a page with nothing wrong either way scores 1."""
        if self.false_positive == self.false_negative == 0:
            return 1.0
        total = self.true_positive + wrong
        return self.true_positive / total if total else 0.0

    @property
    def f1(self) -> float:
        return harmonic_mean(self.precision, self.recall)


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float


def harmonic_mean(a: float, b: float) -> float:
    return 2 * a * b / (a + b) if a + b else 0.0


def shingles(text: str, size: int = SHINGLE_SIZE) -> Counter:
    tokens = WORD.findall(text or "")
    # A text shorter than one shingle still counts as one (short) shingle.
    return Counter(tuple(tokens[i:i + size]) for i in range(max(1, len(tokens) - size + 1)) if tokens[i:i + size])


def overlap(expected: str, extracted: str) -> Overlap:
    want, got = shingles(expected), shingles(extracted)
    true_positive = sum((want & got).values())
    false_positive = sum((got - want).values())
    false_negative = sum((want - got).values())
    total = true_positive + false_positive + false_negative
    if not total:
        return Overlap(0.0, 0.0, 0.0)
    return Overlap(true_positive / total, false_positive / total, false_negative / total)


def average(overlaps: list[Overlap]) -> Scores:
    """Mean precision over pages that extracted something, mean recall over pages that expect something."""
    precisions = [o.precision for o in overlaps if o.true_positive + o.false_positive > 0]
    recalls = [o.recall for o in overlaps if o.true_positive + o.false_negative > 0]
    precision = statistics.fmean(precisions) if precisions else 0.0
    recall = statistics.fmean(recalls) if recalls else 0.0
    return Scores(precision, recall, harmonic_mean(precision, recall))


QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'",
                        "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"'})


def normalise_text(text: str | None) -> str:
    """Compare titles and names the way a reader would: spacing, quote styles and letter case do not matter (a
    stylesheet shows "Europas Topathleten" as "EUROPAS TOPATHLETEN" in one place and not in another)."""
    text = unicodedata.normalize("NFKC", text or "").translate(QUOTES)
    return " ".join(text.casefold().split())


# --- pages rendered to plain text, as a browser's select-all and copy gives them ---

# Elements a browser does not show, or whose text a copy does not carry.
UNRENDERED = {"head", "script", "style", "noscript", "template", "svg", "math", "canvas", "iframe", "object",
              "embed", "audio", "video", "select", "textarea", "input", "datalist", "map", "img", "picture"}
BLOCKS = {"address", "article", "aside", "blockquote", "body", "center", "dd", "details", "dialog", "dir", "div",
          "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
          "header", "hgroup", "hr", "html", "legend", "li", "main", "menu", "nav", "ol", "p", "pre", "section",
          "summary", "table", "tbody", "thead", "tfoot", "tr", "caption", "ul", "option", "optgroup", "br"}
SPACED_BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "figure"}
CELLS = {"td", "th"}
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
CELL_GAP = "\x1f"
SPACE = re.compile(r"[ \t\n\r\f\v\u200b]+")


def is_hidden(element: etree._Element) -> bool:
    return element.get("hidden") is not None or bool(HIDDEN_STYLE.search(element.get("style", "")))


class _Lines:
    """Collects inline text into lines the way block boxes break them."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.pieces: list[str] = []

    def add(self, text: str | None, preformatted: bool) -> None:
        if not text:
            return
        if not preformatted:
            self.pieces.append(text)
            return
        first, *rest = text.split("\n")
        self.pieces.append(first.replace(" ", "\xa0"))
        for part in rest:
            self.flush()
            self.pieces.append(part.replace(" ", "\xa0"))

    def flush(self, blank: bool = False) -> None:
        line = SPACE.sub(" ", "".join(self.pieces)).replace("\xa0", " ").strip(" " + CELL_GAP)
        line = re.sub(rf"\s*{CELL_GAP}\s*", "\t", line)
        self.pieces = []
        if line:
            self.lines.append(line)
        if blank and self.lines and self.lines[-1]:
            self.lines.append("")


def page_text(html: str) -> str:
    """The visible text of a page, one block per line, with all its menus, banners and footers."""
    document = lxml.html.document_fromstring(html)
    body = document.find("body")
    out = _Lines()
    stack: list[tuple[etree._Element, bool]] = [(body if body is not None else document, False)]
    pre_depth = 0
    while stack:
        element, closing = stack.pop()
        tag = element.tag if isinstance(element.tag, str) else ""
        if closing:
            if tag == "pre":
                pre_depth -= 1
            if tag in BLOCKS:
                out.flush(blank=tag in SPACED_BLOCKS)
            elif tag in CELLS:
                out.pieces.append(CELL_GAP)
            out.add(element.tail, pre_depth > 0)
            continue
        if not tag or tag in UNRENDERED or is_hidden(element):
            out.add(element.tail, pre_depth > 0)
            continue
        if tag in BLOCKS:
            out.flush(blank=tag in SPACED_BLOCKS)
        if tag == "pre":
            pre_depth += 1
        out.add(element.text, pre_depth > 0)
        stack.append((element, True))
        stack.extend((child, False) for child in reversed(element))
    out.flush()
    return "\n".join(out.lines).strip() + "\n"


# --- the evaluation set: pages with expected text and metadata ---

@dataclass(frozen=True)
class EvalPage:
    page_id: str
    html: bytes
    expected_text: str
    title: str | None
    byline: str | None
    published: dt.date | None
    headings: tuple[str, ...] = ()  # the page's <h1> texts: the headline as a reader sees it


def load_pages(root: Path, only: list[str] | None = None) -> list[EvalPage]:
    """Pages of a readability-style set: test-pages/<id>/{source.html,expected.html}, manifest.json."""
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    pages = []
    for page_id in only or sorted(manifest):
        folder = root / "test-pages" / page_id
        entry = manifest.get(page_id) or _entry_from_metadata(folder)
        derived = root / "_derived" / "expected-text" / f"{page_id}.txt"
        expected = (derived.read_text(encoding="utf-8") if derived.is_file()
                    else page_text((folder / "expected.html").read_text(encoding="utf-8")))
        published = entry.get("_derived_published_date")
        # A byline the set itself flags (an organisation, a date string, glued text) is no person to find.
        byline = entry.get("_derived_byline_norm") if not entry.get("_derived_byline_caveat") else None
        html = (folder / "source.html").read_bytes()
        pages.append(EvalPage(
            page_id=page_id,
            html=html,
            expected_text=expected,
            title=entry.get("title"),
            byline=byline,
            published=dt.date.fromisoformat(published) if published else None,
            headings=tuple(h.text_content() for h in lxml.html.document_fromstring(_decoded(html, page_id)).iter("h1")),
        ))
    return pages


def _entry_from_metadata(folder: Path) -> dict:
    """A page the manifest does not list (the later validation pages): its expected-metadata.json, read the way
    the manifest's derived fields were (the published day from the timestamp; the byline as given)."""
    meta = json.loads((folder / "expected-metadata.json").read_text(encoding="utf-8"))
    published = ISO_DAY.match(meta.get("publishedTime") or "")
    return {"title": meta.get("title"), "_derived_byline_norm": meta.get("byline"),
            "_derived_published_date": published.group(0) if published else None}


ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _decoded(html: bytes, page_id: str) -> str:
    from newsletter.sources.readers.html import decode_html
    from newsletter.sources.source import Source

    return decode_html(Source(page_id, Path(f"{page_id}.html"), html))


# --- one page through both readers ---

@dataclass(frozen=True)
class Reading:
    """What one reader made of one input: the article (None when it refused) and how long it took."""

    text: str
    title: str | None
    byline: str | None
    published: dt.date | None
    seconds: float
    error: str | None = None


@dataclass(frozen=True)
class PageResult:
    page: EvalPage
    html: Reading
    dump: Reading
    raw: Overlap
    dump_text: str = ""

    @property
    def html_overlap(self) -> Overlap:
        return overlap(self.page.expected_text, self.html.text)

    @property
    def dump_overlap(self) -> Overlap:
        return overlap(self.page.expected_text, self.dump.text)


def timed_read(source, repeat: int = 1) -> Reading:
    """Read a source, timing the CPU this process spent (one core: extraction is single-threaded).

    The time is the least of ``repeat`` reads, so caches warmed and other work on the machine count least.
    """
    from newsletter.errors import SourceError
    from newsletter.sources.readers import read_source

    times = []
    for _ in range(repeat):
        start = time.process_time()
        try:
            article = read_source(source)
        except SourceError as error:
            return Reading("", None, None, None, time.process_time() - start, str(error))
        times.append(time.process_time() - start)
    return Reading(article.text, article.title, article.byline, article.published, min(times))


def evaluate_page(page: EvalPage, day_first: bool = True, repeat: int = 1, dump: str | None = None,
                  suffix: str = ".txt") -> PageResult:
    """The page's HTML through the HTML reader, and a dump of it (by default its select-all text) through
    the reader its file ``suffix`` picks (".md" for a markdown clip)."""
    from newsletter.sources.readers.html import decode_html
    from newsletter.sources.source import Source

    html_source = Source(f"{page.page_id}/source.html", Path(f"{page.page_id}.html"), page.html, day_first)
    if dump is None:
        dump = page_text(decode_html(html_source))
    dump_source = Source(f"{page.page_id}/page{suffix}", Path(f"{page.page_id}{suffix}"), dump.encode("utf-8"), day_first)
    return PageResult(page, timed_read(html_source, repeat), timed_read(dump_source, repeat),
                      overlap(page.expected_text, dump), dump)


@dataclass(frozen=True)
class Accuracy:
    right: int
    total: int

    @property
    def share(self) -> float:
        return self.right / self.total if self.total else 1.0


def title_accuracy(readings: list[tuple[EvalPage, Reading]]) -> Accuracy:
    scored = [(p, r) for p, r in readings if p.title]
    return Accuracy(sum(normalise_text(r.title) == normalise_text(p.title) for p, r in scored), len(scored))


def headline_accuracy(readings: list[tuple[EvalPage, Reading]]) -> Accuracy:
    """Lenient: the title is the expected one, it less its site name, or one of the page's <h1> headlines
    (a dump shows the headline, not the <title>)."""
    scored = [(p, r) for p, r in readings if p.title]
    return Accuracy(sum(normalise_text(r.title) in headlines(p) for p, r in scored), len(scored))


SITE_SUFFIX = re.compile(r"\s+[|–—-]\s+[^|–—-]+$")


def headlines(page: EvalPage) -> set[str]:
    """The page's title, the title less a " | Site" or " - Author" suffix, and its <h1> headings."""
    titles = {page.title, SITE_SUFFIX.sub("", page.title), *page.headings}
    return {normalise_text(title) for title in titles}


def byline_accuracy(readings: list[tuple[EvalPage, Reading]]) -> Accuracy:
    scored = [(p, r) for p, r in readings if p.byline]
    return Accuracy(sum(normalise_text(r.byline) == normalise_text(p.byline) for p, r in scored), len(scored))


def date_accuracy(readings: list[tuple[EvalPage, Reading]]) -> Accuracy:
    scored = [(p, r) for p, r in readings if p.published]
    return Accuracy(sum(r.published == p.published for p, r in scored), len(scored))


# The month's full name in the other languages of the trafilatura set (German, French, Spanish, Italian,
# Portuguese, Dutch), as pages there write their dates: "3. März 2021", "3 mars 2021", "3 de marzo de 2021".
LOCAL_MONTHS = [
    "januar janvier enero gennaio janeiro januari", "februar février febrero febbraio fevereiro februari",
    "märz mars marzo marzo março maart", "april avril abril aprile abril april", "mai mai mayo maggio maio mei",
    "juni juin junio giugno junho juni", "juli juillet julio luglio julho juli",
    "august août agosto agosto agosto augustus", "september septembre septiembre settembre setembro september",
    "oktober octobre octubre ottobre outubro oktober", "november novembre noviembre novembre novembro november",
    "dezember décembre diciembre dicembre dezembro december",
]


def date_renderings(date: dt.date) -> list[str]:
    """How pages commonly show a date: ISO, "3 March 2025", "March 3, 2025", "Mar 3, 2025", "03/03/2025",
    "3. März 2025", "3 de marzo de 2025"."""
    months = [date.strftime("%B"), date.strftime("%b"), date.strftime("%b") + "."]
    local = sorted(set(LOCAL_MONTHS[date.month - 1].split()))
    days = [str(date.day), f"{date.day:02d}"]
    forms = [date.isoformat(), date.strftime("%Y/%m/%d"), date.strftime("%Y.%m.%d")]
    for day in days:
        forms += [f"{day}/{date.month}/{date.year}", f"{day}/{date.month:02d}/{date.year}",
                  f"{date.month}/{day}/{date.year}", f"{date.month:02d}/{day}/{date.year}",
                  f"{day}.{date.month:02d}.{date.year}", f"{day}-{date.month:02d}-{date.year}",
                  f"{date.month:02d}-{day}-{date.year}", f"{date.month:02d}/{day}/{date.year % 100:02d}",
                  f"{date.month:02d}.{day}.{date.year % 100:02d}", f"{day}.{date.month:02d}.{date.year % 100:02d}"]
        for month in months:
            for suffix in ("", "st", "nd", "rd", "th"):
                forms += [f"{day}{suffix} {month} {date.year}", f"{day}{suffix} {month}, {date.year}",
                          f"{month} {day}{suffix}, {date.year}", f"{month} {day}{suffix} {date.year}"]
        for month in local:
            forms += [f"{day}. {month} {date.year}", f"{day} {month} {date.year}", f"{day} de {month} de {date.year}"]
    return forms


def shows_date(text: str, date: dt.date) -> bool:
    """Whether a dump shows this date in a common format anyone would read as it."""
    flat = " ".join(text.split()).lower()
    return any(re.search(rf"(?<![\w/.-]){re.escape(form.lower())}(?![\w/-])", flat) for form in date_renderings(date))


def shown_date_accuracy(results: list[PageResult]) -> Accuracy:
    """Published dates found in dumps, over the pages whose dump shows the expected date at all."""
    scored = [r for r in results if r.page.published and shows_date(r.dump_text, r.page.published)]
    return Accuracy(sum(r.dump.published == r.page.published for r in scored), len(scored))


# --- trafilatura-style sets: snippets the body must and must not hold; development and validation sides ---

def split_pages(root: Path, side: str) -> list[str]:
    """The page ids of one side ("development" or "validation") of a set's split.json; "all" for both."""
    split = json.loads((root / "split.json").read_text(encoding="utf-8"))
    sides = ("development", "validation") if side == "all" else (side,)
    return sorted(page for name in sides for page in split[name])


@dataclass(frozen=True)
class SnippetPage:
    page_id: str
    html: bytes
    with_: tuple[str, ...]
    without: tuple[str, ...]
    title: str | None
    published: dt.date | None
    headings: tuple[str, ...] = ()


def load_snippet_pages(root: Path, only: list[str] | None = None) -> list[SnippetPage]:
    import gzip

    entries = {entry["file"]: entry for entry in json.loads((root / "evaldata.json").read_text(encoding="utf-8")).values()}
    pages = []
    for page_id in only or sorted(entries):
        entry = entries[page_id]
        html = gzip.decompress((root / "pages" / f"{page_id}.gz").read_bytes())
        try:
            published = dt.date.fromisoformat(entry.get("date") or "")
        except ValueError:
            published = None
        try:
            headings = tuple(h.text_content() for h in lxml.html.document_fromstring(_decoded(html, page_id)).iter("h1"))
        except Exception:  # noqa: BLE001 - a page the HTML reader refuses has no headings to offer
            headings = ()
        pages.append(SnippetPage(page_id, html, tuple(entry["with"]), tuple(entry["without"]),
                                 entry.get("title") or None, published, headings))
    return pages


def _flat(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text or "").split())


def snippet_counts(page: SnippetPage, text: str) -> tuple[int, int, int, int]:
    """True positives, false negatives, false positives, true negatives: trafilatura's evaluation, where a
    snippet is found when the extracted text holds it (spacing aside)."""
    flat = _flat(text)
    found = [_flat(snippet) in flat for snippet in page.with_]
    leaked = [_flat(snippet) in flat for snippet in page.without]
    return sum(found), len(found) - sum(found), sum(leaked), len(leaked) - sum(leaked)


def snippet_scores(counts: list[tuple[int, int, int, int]]) -> Scores:
    """Precision, recall and F1 over the whole set's snippet counts (trafilatura's way)."""
    tp, fn, fp = (sum(c[i] for c in counts) for i in range(3))
    precision, recall = (tp / (tp + fp) if tp + fp else 0.0), (tp / (tp + fn) if tp + fn else 0.0)
    return Scores(precision, recall, harmonic_mean(precision, recall))


def snippet_f1(count: tuple[int, int, int, int]) -> float:
    """One page's snippet F1: under 0.5, the page has no usable body."""
    return snippet_scores([count]).f1
