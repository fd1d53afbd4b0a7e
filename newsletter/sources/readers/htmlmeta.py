"""What a page says about itself: title, byline, dates, site, image, canonical link, language.

Publishers describe an article for search engines and social cards (JSON-LD, Open Graph,
Twitter and Dublin Core tags) more reliably than any heuristic over the layout can; the
page's own elements (``<title>``, a lone ``<h1>``, a ``rel=author`` link, ``<time>``) are
the fallback.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from dataclasses import dataclass
from urllib.parse import urljoin

from lxml import etree

from newsletter.sources.dates import DATE_PATTERN, parse_date
from newsletter.sources.readers.pagedump import byline_name, shown_dates

# schema.org types whose headline is an article's title.
ARTICLE_TYPE = re.compile(r"Article|Posting|Report|BlogPost|Review$")
TITLE_SEPARATOR = re.compile(r"\s+[|\-–—·•»:]{1,2}\s+")
# What parts a headline from a site or section name in a page's title: "Headline - Site", "Section: Headline".
AFTER_HEADLINE = re.compile(r":\s+|\s+[|\-–—·•»:/]{1,2}\s+")
BEFORE_HEADLINE = re.compile(r"(?::|\s+[|\-–—·•»/]{1,2})\s+$")
BYLINE_PREFIX = re.compile(r"^(?:by|par|von|por|di|door|af|av)\b\s*:?\s*", re.IGNORECASE)
# What follows a name in a byline element: "Jane Doe • 8h", "Jane Doe | Staff", "Jane Doe @jd".
BYLINE_TAIL = re.compile(r"\s+[•|·—–-]\s+|\s+(?:Follow\s+)?@")
# Walking the attributes that say "author" or "byline" and taking their elements is two to three times faster than
# testing every element's class and id: most elements have neither. "uthor" finds "author" and "Author" alike.
AUTHOR_OR_HEADLINE = etree.XPath(
    './/h1 | .//@rel[.="author"]/.. | .//@itemprop[.="author"]/..'
    ' | .//@class[contains(., "byline") or contains(., "uthor")]/.. | .//@id[contains(., "byline") or contains(., "uthor")]/..')
DATE_ITEMPROP = etree.XPath('.//@itemprop[.="datePublished" or .="dateModified"]/parent::*[@datetime or @content]')
NAME_ONLY = re.compile(r"^[^\W\d_][^\d@|•]*$")
NOT_A_BYLINE = re.compile(r"bio|about|avatar|image|img|photo|picture|tweet|follow|social|share|comment")
ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
JSON_WRAPPER = re.compile(r"^\s*(?:<!--|<!\[CDATA\[)|(?:-->|\]\]>)\s*$")
MAX_BYLINE_WORDS = 12

PUBLISHED_KEYS = ("article:published_time", "og:published_time", "published_time", "datepublished",
                  "parsely-pub-date", "sailthru.date", "dc.date.issued", "dc.date", "dcterms.date", "date",
                  "pubdate", "publish-date", "publishdate", "article.published")
UPDATED_KEYS = ("article:modified_time", "og:updated_time", "modified_time", "datemodified", "dc.date.modified",
                "dcterms.modified", "last-modified", "lastmod")
AUTHOR_KEYS = ("author", "dc.creator", "dcterms.creator", "parsely-author", "sailthru.author", "byl",
               "article:author")


@dataclass(frozen=True)
class PageMeta:
    title: str | None = None
    byline: str | None = None
    published: dt.date | None = None
    updated: dt.date | None = None
    site: str | None = None
    description: str | None = None
    image: str | None = None
    image_alt: str | None = None
    url: str | None = None
    language: str | None = None


def clean(text: object) -> str | None:
    if not isinstance(text, str):
        return None
    return " ".join(text.split()) or None


def ld_text(value: object) -> str | None:
    """A JSON-LD string as text: many sites escape it as HTML ("&#8216;The Medium&#8217;"), which JSON does not
    undo, so character references are decoded (a bare "&" stays)."""
    return clean(html.unescape(value) if isinstance(value, str) and "&" in value else value)


def meta_tags(tree: etree._Element) -> dict[str, str]:
    """``<meta>`` values by lower-cased name, property or itemprop; the first one of a name wins."""
    values: dict[str, str] = {}
    for tag in tree.iter("meta"):
        key = tag.get("property") or tag.get("name") or tag.get("itemprop") or tag.get("http-equiv")
        content = clean(tag.get("content"))
        if key and content:
            values.setdefault(key.strip().lower(), content)
    return values


def json_ld_objects(tree: etree._Element) -> list[dict]:
    objects: list[dict] = []
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(JSON_WRAPPER.sub("", script.text).strip().rstrip(";"), strict=False)
        except ValueError:
            continue  # a page's broken JSON-LD is its problem; the other sources still speak
        objects.extend(_flatten(data))
    return objects


def _flatten(data: object) -> list[dict]:
    if isinstance(data, list):
        return [item for element in data for item in _flatten(element)]
    if not isinstance(data, dict):
        return []
    found = [data]
    for key in ("@graph", "mainEntity"):
        found.extend(_flatten(data.get(key)))
    return found


def _types(item: dict) -> list[str]:
    kind = item.get("@type")
    return [k for k in (kind if isinstance(kind, list) else [kind]) if isinstance(k, str)]


def _names(value: object) -> list[str]:
    """Names from a JSON-LD person, organisation or list of them."""
    if isinstance(value, list):
        return [name for element in value for name in _names(element)]
    if isinstance(value, dict):
        value = value.get("name")
    name = ld_text(value)
    return [name] if name else []


def _first_url(value: object) -> str | None:
    if isinstance(value, list):
        return next((url for url in map(_first_url, value) if url), None)
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl") or value.get("@id")
    return clean(value)


def read_date(text: str | None, day_first: bool) -> dt.date | None:
    """The calendar date as the publisher wrote it (no time-zone shift), ISO first."""
    if not text:
        return None
    match = ISO_DATE.search(text)
    if match:
        try:
            return dt.date(*map(int, match.groups()))
        except ValueError:
            return None
    return parse_date(text.strip(), day_first)


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def coverage(candidate: str, page_title: str) -> float:
    """Share of the page title's words that the candidate has."""
    wanted = words(page_title)
    return len(wanted & words(candidate)) / len(wanted) if wanted else 0.0


def document_title(tree: etree._Element) -> str | None:
    title = tree.find(".//title")
    return clean(title.text_content()) if title is not None else None


def title_without_site(title: str) -> str:
    """"Headline | Section | Site" loses its last part; a remainder of one word was no headline."""
    parts = list(TITLE_SEPARATOR.finditer(title))
    if not parts:
        return title
    head = title[:parts[-1].start()].strip()
    return head if len(head.split()) >= 2 else title


def shown_headline(title: str | None, tree: etree._Element) -> str | None:
    """The page's ``<h1>`` when the stated title is it plus a site or section name ("Headline - Site.de",
    "Section: Headline", "Headline | Site | Section"): the headline as readers see it."""
    if not title:
        return title
    headings = (clean(h.text_content()) for h in tree.iter("h1"))
    return next((heading for heading in headings if heading and _headline_of(title, heading)), title)


def _headline_of(title: str, heading: str) -> bool:
    """Whether ``title`` is ``heading`` with a name before or after it, past a separator."""
    if title.startswith(heading):
        return AFTER_HEADLINE.match(title, len(heading)) is not None
    return title.endswith(heading) and BEFORE_HEADLINE.search(title[:-len(heading)]) is not None


def lone_heading(tree: etree._Element) -> str | None:
    headings = [clean(h.text_content()) for h in tree.iter("h1")]
    headings = [h for h in headings if h]
    return headings[0] if len(set(headings)) == 1 else None


def article_object(objects: list[dict]) -> dict:
    return next((item for item in objects if any(ARTICLE_TYPE.search(k) for k in _types(item))), {})


def ld_headline(article: dict, page_title: str | None) -> str | None:
    """Some sites put their own name in ``name``: take whichever of name and headline the ``<title>`` echoes."""
    headline, name = ld_text(article.get("headline")), ld_text(article.get("name"))
    if headline and name and headline != name and page_title:
        return name if coverage(name, page_title) > coverage(headline, page_title) else headline
    return headline or name


def byline_from(names: list[str]) -> str | None:
    names = [BYLINE_PREFIX.sub("", BYLINE_TAIL.split(n)[0]).strip() for n in names]
    names = [n for n in dict.fromkeys(names) if n and "://" not in n and re.search(r"[^\W\d_]", n)]
    byline = ", ".join(names)
    return byline if byline and len(byline.split()) <= MAX_BYLINE_WORDS else None


def page_byline(tree: etree._Element) -> str | None:
    """An author named in the layout (``rel=author``, ``itemprop=author``, a "byline" or "author" class), the
    first one after the headline: bylines above it are usually other articles' in a menu or a sidebar."""
    first = None
    candidates = AUTHOR_OR_HEADLINE(tree)
    after_headline = not any(element.tag == "h1" for element in candidates)
    for element in candidates:
        if element.tag == "h1":
            after_headline = True
            continue
        if NOT_A_BYLINE.search(f"{element.get('class') or ''} {element.get('id') or ''}".lower()):
            continue
        text = clean(element.text_content()) or ""
        byline = byline_name(text.strip(" —–-|•:")) or (text if len(text.split()) <= 4 and NAME_ONLY.match(text)
                                                         else None)
        if byline and after_headline:
            return byline
        first = first or byline
    return first


def itemprop_dates(tree: etree._Element) -> dict[str, str]:
    """``<time itemprop="datePublished" datetime=...>`` and the like, by itemprop."""
    dates: dict[str, str] = {}
    for element in DATE_ITEMPROP(tree):
        dates.setdefault(element.get("itemprop"), element.get("datetime") or element.get("content"))
    return dates


def first(*values: str | None) -> str | None:
    return next((value for value in values if value), None)


def guessed_publication_date(tree: etree._Element, url: str | None) -> dt.date | None:
    """htmldate's reading of a page that does not state its date where ``page_meta`` looks: more markup, the
    address, then a timestamp in the text. Its quick search only: the thorough one (dateparser over every text
    segment) dates a few pages more at over ten times the cost, and seconds to load dateparser's languages."""
    from htmldate import find_date

    found = find_date(tree, url=url, original_date=True, extensive_search=False)
    return dt.date.fromisoformat(found) if found else None


def visible_text(tree: etree._Element) -> str:
    """The page as a reader sees it, one block a line, menus and all (html-text, scripts and styles left out)."""
    import html_text

    return html_text.extract_text(tree, guess_layout=True)


# The page's text pieces outside scripts, styles and the head: where a date a reader sees stands. (Those elements
# hold text only, so a piece's parent tells; looking up every ancestor took twice as long.) "/descendant::body"
# is what "//body" means, found without libxml2 gathering every node on the way; plain strings, as the pieces
# are only searched, cost half what lxml's strings that know their parent do.
SHOWN_TEXT = etree.XPath("/descendant::body/descendant::text()"
                         "[not(parent::script or parent::style or parent::noscript or parent::template)]",
                         smart_strings=False)


def shown_publication_date(tree: etree._Element, stated: dt.date | None, day_first: bool) -> dt.date | None:
    """The publication date a reader sees on the page, read in its visible text as the page-dump reader reads a
    dateline, when the metadata states none or a later one that the page does not show.

    A stated date later than the page's dateline is most often when the page was last built or edited; one the
    page shows, or a dateline later than it (a comment's, today's date in the masthead), leaves it standing.
    On the development pages (benchmarks/eval_styles.py), this dates trafilatura's 514 dated pages right 87 %
    of the time, against 81 % for the stated date alone, and keeps all 28 of readability's, whose gold date
    is the metadata's."""
    shown = dates_in(SHOWN_TEXT(tree))
    if not shown or stated and (stated in shown or not any(date < stated for date in shown)):
        return stated  # the dump reader's reading is not needed (it costs more than the rest of the page)
    found = shown_dates(visible_text(tree), day_first)[0]
    return found if not stated or (found and found < stated) else stated


def dates_in(pieces: list[str]) -> set[dt.date]:
    """Every date the text pieces show, each numeric one read day first and month first ("11.03.2017" may be
    either)."""
    written = {match[0] for piece in DATE_PATTERN.may_hold(set(pieces)) for line in piece.splitlines()
               for match in DATE_PATTERN.finditer(line)}
    return {date for form in written for day_first in (True, False) if (date := parse_date(form, day_first))}


def page_meta(tree: etree._Element, base_url: str | None = None, day_first: bool = True) -> PageMeta:
    tags = meta_tags(tree)
    objects = json_ld_objects(tree)
    article = article_object(objects)
    page_title = document_title(tree)

    published = first(clean(article.get("datePublished")), *map(tags.get, PUBLISHED_KEYS))
    updated = first(clean(article.get("dateModified")), *map(tags.get, UPDATED_KEYS))
    if not published or not updated:
        in_page = itemprop_dates(tree)
        published, updated = published or in_page.get("datePublished"), updated or in_page.get("dateModified")
    published, updated = read_date(published, day_first), read_date(updated, day_first)
    authors = _names(article.get("author")) or [tags[key] for key in AUTHOR_KEYS if key in tags][:1]
    publisher = next(iter(_names(article.get("publisher"))), None)
    website = next((item for item in objects if "WebSite" in _types(item)), {})
    canonical = next((link.get("href") for link in tree.iter("link")
                      if "canonical" in (link.get("rel") or "").lower().split() and link.get("href")), None)
    url = first(clean(canonical), tags.get("og:url"), clean(article.get("url")), base_url)
    url = urljoin(base_url, url) if base_url and url else url
    image = first(tags.get("og:image"), tags.get("og:image:url"), tags.get("og:image:secure_url"),
                  tags.get("twitter:image"), tags.get("twitter:image:src"), _first_url(article.get("image")))
    root = tree.getroottree().getroot()
    language = first(clean(root.get("lang")), clean(root.get("{http://www.w3.org/XML/1998/namespace}lang")),
                     tags.get("content-language"), (tags.get("og:locale") or "").replace("_", "-") or None,
                     clean(article.get("inLanguage")))
    return PageMeta(
        title=shown_headline(first(ld_headline(article, page_title), tags.get("og:title"), tags.get("twitter:title"),
                                   tags.get("dc.title"), title_without_site(page_title) if page_title else None,
                                   lone_heading(tree)), tree),
        byline=byline_from(authors) or page_byline(tree),
        published=published,
        updated=updated if updated and (not published or updated > published) else None,
        site=first(tags.get("og:site_name"), publisher, ld_text(website.get("name")), tags.get("application-name")),
        description=first(tags.get("og:description"), tags.get("description"), tags.get("twitter:description"),
                          ld_text(article.get("description"))),
        # A relative picture address is where the page was fetched from, not its canonical site.
        image=urljoin(base_url or url or "", image) if image else None,
        image_alt=first(tags.get("og:image:alt"), tags.get("twitter:image:alt")),
        url=url,
        language=language,
    )
