"""Read, validate, scaffold and edit ``issue.md`` files.

An issue file is YAML front matter between ``---`` lines, then a Markdown intro.
Every error names the issue file and the line it is on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsletter.errors import InputError
from newsletter.files import DiskMemo, memo_key
from newsletter.schema import check_header_text, check_mapping

if TYPE_CHECKING:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

FENCE = "---"
LOCAL = "local"  # send_at: 2027-01-05T07:00 local [ZONE]: each reader at that time in their own zone


@dataclass(frozen=True)
class LocalSendTime:
    """``send_at`` written as a local time: each reader gets the issue at ``wall`` in their own
    time zone (the audience's ``timezone`` column); a reader without one gets ``zone``, the
    issue's default ("" when send_at names none)."""

    wall: dt.datetime  # naive: a time on the clock, in no zone yet
    zone: str = ""

    @property
    def text(self) -> str:
        """As written in the front matter (and logged when the issue is cancelled)."""
        return f"{self.wall.isoformat(timespec='minutes')} {LOCAL}" + (f" {self.zone}" if self.zone else "")

    def in_zone(self, zone: str) -> dt.datetime:
        """The moment it is ``wall`` in ``zone`` on that date (that date's offset, DST included), in UTC.
        A wall time a DST change skips is read with the offset before the change (PEP 495)."""
        return self.wall.replace(tzinfo=time_zone(zone)).astimezone(dt.timezone.utc)


@functools.lru_cache(maxsize=1024)
def time_zone(name: str) -> dt.tzinfo:
    """The IANA zone ``name`` ("Europe/Berlin"); ValueError naming it, with a close match, when unknown."""
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        pass
    raise ValueError(f"unknown time zone {name!r}{_closest_zone(name) or ' (an IANA name such as Europe/Berlin)'}")


@functools.lru_cache(maxsize=256)
def _closest_zone(name: str) -> str:
    """" (did you mean ...?)" for a misspelt zone; remembered, as an audience may repeat one on many rows."""
    import zoneinfo

    from newsletter.schema import suggestion

    return suggestion(name, sorted(zoneinfo.available_timezones()), listing=False)


@dataclass(frozen=True)
class Budget:
    """How long a summary may be: at most this many sentences and words."""

    sentences: int
    words: int


@dataclass(frozen=True)
class ArticleRef:
    """One article as the issue lists it, with the editor's overrides."""

    source: str
    line: int
    url: str | None = None
    title: str | None = None
    summary: str | None = None
    image: str | None = None
    image_alt: str | None = None
    budget: Budget | None = None


@dataclass(frozen=True)
class SectionSpec:
    title: str
    articles: tuple[ArticleRef, ...]
    line: int


@dataclass(frozen=True)
class IssueSpec:
    path: Path
    subject: str
    preheader: str
    date: dt.date | None
    theme: str | None
    budget: Budget | None
    sections: tuple[SectionSpec, ...]
    intro: str
    audience: str | None = None
    lines: dict[str, int] = field(default_factory=dict)  # front-matter key -> line, for findings
    skip_broken: bool = False  # drop an unreadable source with a warning instead of failing
    send_at: dt.datetime | None = None  # when to send (with a time zone); `send --due` sends it then
    send_local: LocalSendTime | None = None  # send_at written as a local time (send_at is then None)

    @property
    def schedule_text(self) -> str | None:
        """send_at as one string (an instant, or the local time as written); None when unscheduled."""
        if self.send_local:
            return self.send_local.text
        return self.send_at.isoformat() if self.send_at else None

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def slug(self) -> str:
        return self.folder.name

    @property
    def articles(self) -> list[ArticleRef]:
        return [ref for section in self.sections for ref in section.articles]


ISSUE_KEYS = {"subject": str, "preheader": str, "date": (dt.date, str), "theme": str,
              "summary": dict, "audience": str, "sections": list, "skip_broken": bool,
              "send_at": (dt.date, str)}
SECTION_KEYS = {"title": str, "articles": list}
ARTICLE_KEYS = {"source": str, "url": str, "title": str, "summary": str, "image": str,
                "image_alt": str, "sentences": int, "words": int}
BUDGET_KEYS = {"sentences": int, "words": int}


@functools.cache
def _constructor() -> type:
    from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor

    class DateCheckingConstructor(RoundTripConstructor):
        """Round-trip loading, but an impossible date (2026-02-30) is a YAML error with its line."""

        def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
            try:
                return super().construct_yaml_timestamp(node, values)
            except ValueError as error:
                raise ConstructorError(None, None, f"invalid date {node.value!r} ({error})", node.start_mark) from None

    DateCheckingConstructor.add_constructor("tag:yaml.org,2002:timestamp", DateCheckingConstructor.construct_yaml_timestamp)
    return DateCheckingConstructor


def round_trip_yaml() -> YAML:
    # Loaded on first use: a build whose front matter is remembered never needs ruamel (~25 ms with the parse).
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.Constructor = _constructor()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


@dataclass
class IssueDocument:
    """The raw parts of an issue file, kept for round-trip edits."""

    path: Path
    front: CommentedMap
    body: str
    first_yaml_line: int  # file line number of the YAML's first line

    def line(self, node: Any, key: Any = None) -> int:
        """The 1-based file line of ``node`` (or of ``key`` inside it)."""
        try:
            if key is None:
                row = node.lc.line
            elif isinstance(node, list):  # a CommentedSeq
                row = node.lc.item(key)[0]
            else:
                row = node.lc.key(key)[0]
        except (AttributeError, KeyError, TypeError):
            row = 0
        return self.first_yaml_line + row


def read_issue(path: Path, cache_dir: Path | None = None) -> IssueSpec:
    """The issue at ``path``; its checked front matter is remembered in ``cache_dir`` (the workspace's)."""
    yaml_text, body = _split_document(path)
    spec = _front_matter_spec(path, yaml_text, cache_dir)
    return dataclasses.replace(spec, intro=body.strip("\n"))


# Editors change the intro far more often than the front matter. Reading the front matter
# (ruamel is a third of a warm rebuild) is remembered in process for the preview and on disk
# for the next command, until its own text changes.
@functools.lru_cache(maxsize=64)
def _front_matter_spec(path: Path, yaml_text: str, cache_dir: Path | None) -> IssueSpec:
    memo = DiskMemo(cache_dir / FRONT_MATTER_MEMO if cache_dir else None)
    name = f"{memo_key(str(path), yaml_text)}.json"
    record = memo.load(name)
    if isinstance(record, dict):
        try:
            return _spec_from_record(path, record)
        except (KeyError, TypeError, ValueError):
            pass  # written by another version of the record: read the text again
    spec = _IssueValidator(IssueDocument(path, _load_front(path, yaml_text), "", first_yaml_line=2)).issue()
    memo.store(name, _spec_record(spec))
    return spec


FRONT_MATTER_MEMO = "front-matter"


def _spec_record(spec: IssueSpec) -> dict[str, Any]:
    record = dataclasses.asdict(spec)
    del record["path"], record["intro"]
    record["date"] = spec.date.isoformat() if spec.date else None
    record["send_at"] = spec.send_at.isoformat() if spec.send_at else None
    record["send_local"] = [spec.send_local.wall.isoformat(), spec.send_local.zone] if spec.send_local else None
    return record


def _spec_from_record(path: Path, record: dict[str, Any]) -> IssueSpec:
    def budget(value: dict | None) -> Budget | None:
        return Budget(**value) if value else None

    sections = tuple(
        SectionSpec(section["title"], tuple(ArticleRef(**article | {"budget": budget(article["budget"])})
                                            for article in section["articles"]), section["line"])
        for section in record["sections"])
    date, send_at, local = record["date"], record["send_at"], record["send_local"]
    return IssueSpec(**record | {
        "path": path, "intro": "", "sections": sections, "budget": budget(record["budget"]),
        "date": dt.date.fromisoformat(date) if date else None,
        "send_at": dt.datetime.fromisoformat(send_at) if send_at else None,
        "send_local": LocalSendTime(dt.datetime.fromisoformat(local[0]), local[1]) if local else None})


def read_issue_date(path: Path) -> dt.date | None:
    """Only the issue's ``date:``, so an issue still being written (no articles yet) has one."""
    document = read_document(path)
    return _IssueValidator(document).date(document.front)


def read_document(path: Path) -> IssueDocument:
    yaml_text, body = _split_document(path)
    return IssueDocument(path, _load_front(path, yaml_text), body, first_yaml_line=2)


def _split_document(path: Path) -> tuple[str, str]:
    """The front matter's YAML text and the Markdown after it."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # editors on Windows save a BOM before '---'
    except FileNotFoundError:
        raise InputError(path, "issue file not found") from None
    except UnicodeDecodeError as error:
        raise InputError(path, f"not UTF-8 text ({error.reason})", 1) from None
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != FENCE:
        raise InputError(path, "must start with '---' and YAML front matter (subject, sections, ...)", 1)
    closing = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == FENCE), None)
    if closing is None:
        raise InputError(path, "front matter has no closing '---' line", 1)
    return "".join(lines[1:closing]), "".join(lines[closing + 1:])


def _plain_yaml_problem(problem: str) -> str:
    """The parser's words, with what to do where they mean little to an editor."""
    if problem.startswith("expected <block end>"):
        return f"this line is indented differently from the lines above it ({problem})"
    if problem.startswith("could not find expected ':'"):
        return "a key without its ':' (or a line that continues the one above at the wrong indent)"
    return problem


def _load_front(path: Path, yaml_text: str) -> CommentedMap:
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    _check_nesting(path, yaml_text)
    try:
        front = round_trip_yaml().load(yaml_text)
    except RecursionError:
        raise InputError(path, "invalid YAML: nested too deeply", 2) from None
    except MarkedYAMLError as error:
        # An unclosed quote is only noticed at the end of the text; where it opened is the context.
        # So is a key without its colon: the scanner stops on the line after it.
        at_start = any(words in (error.problem or "") for words in ("end of stream", "could not find expected ':'"))
        mark = (error.context_mark if at_start else None) or error.problem_mark or error.context_mark
        line = mark.line + 2 if mark else 1
        problem = _plain_yaml_problem(error.problem or error.context or "invalid YAML")
        raise InputError(path, f"invalid YAML: {problem}", line) from None
    except YAMLError as error:
        raise InputError(path, f"invalid YAML: {error}", 2) from None
    if front is None:
        front = CommentedMap()
    if not isinstance(front, CommentedMap):
        raise InputError(path, "front matter must be a mapping of keys (subject:, sections:, ...)", 2)
    _check_size(path, front)
    return front


# An issue's front matter is a few dozen keys. Far more, once aliases are followed, is an alias
# bomb (a few KB of ``&a [*b, *b, ...]`` that stands for billions of values); far deeper nesting
# only exhausts the parser's stack.
MAX_FRONT_VALUES = 100_000
MAX_FRONT_DEPTH = 64


def _check_nesting(path: Path, yaml_text: str) -> None:
    """Flow collections (``[[[...`` and ``{{{...``) nested past MAX_FRONT_DEPTH, found in one pass."""
    depth = deepest = 0
    quote = ""
    for char in yaml_text:
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_FRONT_DEPTH:
                raise InputError(path, f"invalid YAML: nested more than {MAX_FRONT_DEPTH} levels deep", 2)
        elif char in "]}":
            depth = max(0, depth - 1)
        elif char == "\n":
            quote = ""  # a stray apostrophe in plain text ends with its line, as far as this count goes


def _check_size(path: Path, front: Any) -> None:
    """Count the values as a reader of the front matter would meet them (aliases followed), stopping
    at MAX_FRONT_VALUES: the count costs at most that many steps, whatever the aliases multiply to."""
    count = 0
    stack = [(front, 0)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_FRONT_VALUES or depth > MAX_FRONT_DEPTH:
            what = (f"more than {MAX_FRONT_VALUES:,} values once its aliases are followed" if count > MAX_FRONT_VALUES
                    else f"nested more than {MAX_FRONT_DEPTH} levels deep")
            raise InputError(path, f"front matter holds {what}: an issue needs a few dozen", 2)
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for pair in value.items() for item in pair)
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


class _IssueValidator:
    def __init__(self, document: IssueDocument) -> None:
        self.doc = document

    def fail(self, message: str, line: int) -> InputError:
        return InputError(self.doc.path, message, line)

    def check_keys(self, mapping: Any, allowed: dict, where: str, line: int) -> None:
        def line_of(key: str | None) -> int:
            return line if key is None else self.doc.line(mapping, key)

        check_mapping(mapping, allowed, where, self.doc.path, line_of)

    def issue(self) -> IssueSpec:
        front = self.doc.front
        self.check_keys(front, ISSUE_KEYS, "the front matter", 2)
        for required in ("subject", "sections"):
            if required not in front:
                raise self.fail(f"missing required key {required!r}", 2)
        sections = front["sections"]
        if not sections:
            raise self.fail("sections is empty: list at least one section with articles", self.doc.line(front, "sections"))
        return IssueSpec(
            path=self.doc.path,
            subject=self.header_text(front, "subject"),
            preheader=self.header_text(front, "preheader"),
            date=self.date(front),
            theme=front.get("theme"),
            budget=self.budget(front.get("summary"), front, "summary"),
            sections=tuple(self.section(sections, i) for i in range(len(sections))),
            intro=self.doc.body.strip("\n"),
            audience=front.get("audience"),
            lines={str(key): self.doc.line(front, key) for key in front},
            skip_broken=front.get("skip_broken", False),
            send_at=None if self.send_local(front) else self.send_at(front),
            send_local=self.send_local(front),
        )

    def header_text(self, front: CommentedMap, key: str) -> str:
        value = str(front.get(key) or "").strip()
        return check_header_text(value, key, self.doc.path, self.doc.line(front, key) if key in front else 2)

    def send_at(self, front: CommentedMap) -> dt.datetime | None:
        value = front.get("send_at")
        if value is None:
            return None
        try:
            when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            when = None
        if when is None or when.tzinfo is None:
            raise self.fail(f"send_at must be a date and time with a time zone, e.g. 2026-11-27T07:00:00+00:00 "
                            f"(or a local time: 2026-11-27T07:00 {LOCAL}), not {str(value)!r}",
                            self.doc.line(front, "send_at"))
        return dt.datetime.fromisoformat(when.isoformat())  # a plain datetime, not ruamel's TimeStamp

    def send_local(self, front: CommentedMap) -> LocalSendTime | None:
        """``send_at: 2027-01-05T07:00 local`` (or ``... local Europe/Berlin``, naming the zone of
        readers without one): a time on the clock, no offset, then ``local``."""
        value = front.get("send_at")
        words = str(value).split() if isinstance(value, str) else []
        if LOCAL not in words[1:3]:
            return None
        line = self.doc.line(front, "send_at")
        example = f"e.g. 2027-01-05T07:00 {LOCAL} Europe/Berlin"
        at = words.index(LOCAL)
        if len(words) > at + 2:
            raise self.fail(f"send_at {value!r}: write a local time as DATE-TIME {LOCAL} [ZONE], {example}", line)
        try:
            wall = dt.datetime.fromisoformat(" ".join(words[:at]))
        except ValueError:
            raise self.fail(f"send_at {value!r}: {' '.join(words[:at])!r} is not a date and time, {example}",
                            line) from None
        if wall.tzinfo is not None:
            raise self.fail(f"send_at {value!r}: a local time has no offset (each reader's zone gives it), "
                            f"{example}", line)
        zone = words[at + 1] if len(words) == at + 2 else ""
        if zone:
            try:
                time_zone(zone)
            except ValueError as error:
                raise self.fail(f"send_at: {error}", line) from None
        return LocalSendTime(wall, zone)

    def date(self, front: CommentedMap) -> dt.date | None:
        value = front.get("date")
        if value is None or isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise self.fail(f"date must be YYYY-MM-DD, not {value!r}", self.doc.line(front, "date")) from None

    def budget(self, value: Any, parent: Any, key: str) -> Budget | None:
        if value is None:
            return None
        line = self.doc.line(parent, key)
        self.check_keys(value, BUDGET_KEYS, key, line)
        return self.budget_of(value, line)

    def budget_of(self, mapping: Any, line: int) -> Budget:
        budget = Budget(mapping.get("sentences", 0), mapping.get("words", 0))
        if budget.sentences < 0 or budget.words < 0:
            raise self.fail("summary lengths (sentences, words) must be 0 or more", line)
        return budget

    def section(self, sections: CommentedSeq, index: int) -> SectionSpec:
        node = sections[index]
        line = self.doc.line(sections, index)
        self.check_keys(node, SECTION_KEYS, "a section", line)
        if "articles" not in node or not node["articles"]:
            raise self.fail("section has no articles: add an 'articles:' list", line)
        articles = node["articles"]
        return SectionSpec(
            title=str(node.get("title", "")).strip(),
            articles=tuple(self.article(articles, i) for i in range(len(articles))),
            line=line,
        )

    def article(self, articles: CommentedSeq, index: int) -> ArticleRef:
        node = articles[index]
        line = self.doc.line(articles, index)
        if isinstance(node, str):
            return ArticleRef(source=node.strip(), line=line)
        self.check_keys(node, ARTICLE_KEYS, "an article", line)
        if not node.get("source", "").strip():
            raise self.fail("article has no 'source:' (a file path, relative to the issue folder)", line)
        budget = self.budget_of(node, line) if "sentences" in node or "words" in node else None
        return ArticleRef(
            source=node["source"].strip(), line=line, url=node.get("url"), title=node.get("title"),
            summary=node.get("summary"), image=node.get("image"), image_alt=node.get("image_alt"),
            budget=budget,
        )


# What `new` writes for the editor to replace; `check` reports any of it left in an issue.
