"""Audiences: who gets an issue, read from a CSV file (an ``email`` column plus merge fields;
an optional ``timezone`` column, IANA names, says where a send_at written as a local time is read).

Addresses are validated with email-validator (no DNS), de-duplicated case-insensitively and
checked against an optional suppression list. A bad row is an error naming its line, or,
when asked, skipped and reported.

A send reads the audience in one pass (``scan_audience``) with bounded memory: who is kept goes
to an anonymous temporary file in compact pickled chunks, and duplicates are caught by a set of
64-bit hashes of the lower-cased addresses (two distinct addresses among a million collide with
odds of about 1 in 30 million), so a million recipients never sit in memory as objects.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import gc
import io
import itertools
import pickle
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, AbstractSet, BinaryIO, Iterable, Iterator, Sequence, TextIO

from email_validator import EmailNotValidError, validate_email

from newsletter.compose.issuefile import IssueSpec, time_zone
from newsletter.errors import InputError
from newsletter.files import write_atomically
from newsletter.schema import check_header_text
from newsletter.secrets import redact

if TYPE_CHECKING:
    from newsletter.workspace import Workspace


@dataclass(frozen=True, slots=True)
class Recipient:
    email: str
    fields: dict[str, str] = field(default_factory=dict)
    line: int = 0

    @property
    def name(self) -> str:
        first, last = self.fields.get("first_name", ""), self.fields.get("last_name", "")
        full = f"{first} {last}" if first and last else first or last
        return full.strip() or self.fields.get("name", "")

    @property
    def merge_fields(self) -> dict[str, str]:
        return {**self.fields, "email": self.email}

    @property
    def zone(self) -> str:
        """The reader's IANA time zone (the ``timezone`` column, checked when read); "" when none."""
        return self.fields.get(ZONE_COLUMN, "")


ZONE_COLUMN = "timezone"  # IANA names (Europe/Berlin): a local send_at reaches the reader at that time there


@dataclass(frozen=True)
class Batch:
    """Recipients handed to a provider in one go, under an id that the send log and the provider share."""

    id: str  # "<run>.<number>"
    recipients: Sequence[Recipient]
    key: str = ""  # an idempotency key the provider keeps, when it takes one (logged before the request)
    send_at: dt.datetime | None = None  # its readers' own send time (a local send_at): every reader's the same


@dataclass(frozen=True)
class BadRow:
    line: int
    message: str
    cells: list[str]


def read_audience(path: Path) -> Iterable[Recipient]:
    """Valid, unique recipients in file order, suppressed ones included. A bad row is an error
    naming its line. A send has just scanned the same file: that scan is read back instead."""
    scanned = _recent_scan(path)
    if scanned is None:
        return scan_audience(path)
    if scanned.bad_rows:  # skipped for the send, but an error here, as a fresh scan would raise
        raise InputError(path, scanned.bad_rows[0].message, scanned.bad_rows[0].line)
    return dataclasses.replace(scanned, everyone=True)


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """For bulk work on records that cannot form cycles (recipients, request bodies): with
    100,000 of them alive, the cycle collector would rescan them again and again for
    nothing, a quarter of a large dry run's time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


CHUNK = 1000  # recipients per pickled chunk of the scanned audience


@dataclass
class ScannedAudience:
    """An audience after one validating pass: counts, bad rows, and the valid recipients (the
    first row of each address), read back chunk by chunk in file order: those not suppressed,
    or with ``everyone`` all of them."""

    path: Path
    names: tuple[str, ...] = ()  # merge-field columns, in the order each row's values are kept
    store: BinaryIO = field(default_factory=tempfile.TemporaryFile)
    count: int = 0  # kept: not suppressed
    bad_rows: list[BadRow] = field(default_factory=list)
    duplicates: int = 0
    suppressed: int = 0  # in the store too, marked, for read_audience
    everyone: bool = False  # the suppressed as well

    def chunks(self) -> Iterator[list[Recipient]]:
        names, everyone = self.names, self.everyone
        for rows in self._rows():
            yield [Recipient(email, dict(zip(names, values)), line)
                   for line, email, values, kept in rows if kept or everyone]

    def zoned(self) -> Iterator[tuple[int, str, str]]:
        """(line, address, time zone or "") of each reader kept, without building recipients."""
        index = self.names.index(ZONE_COLUMN) if ZONE_COLUMN in self.names else None
        for rows in self._rows():
            for line, email, values, kept in rows:
                if kept:
                    yield line, email, values[index] if index is not None else ""

    def __iter__(self) -> Iterator[Recipient]:
        for chunk in self.chunks():
            yield from chunk

    def __len__(self) -> int:
        return self.count + (self.suppressed if self.everyone else 0)

    def __getitem__(self, index: int) -> Recipient:
        """By position, read up to it (the preview shows the first recipient)."""
        if not 0 <= index < len(self):
            raise IndexError(index)
        return next(itertools.islice(self, index, None))

    def _rows(self) -> Iterator[list[tuple[int, str, tuple[str, ...], bool]]]:
        self.store.seek(0)
        while True:
            try:
                yield pickle.load(self.store)  # our own file, written by scan_audience just now
            except EOFError:
                return


_RECENT: dict[tuple, ScannedAudience] = {}  # the last scan, by file and version: a send's check reads it too


def _file_version(path: Path) -> tuple:
    stat = path.stat()
    return str(path.resolve()), stat.st_mtime_ns, stat.st_size


def _recent_scan(path: Path) -> ScannedAudience | None:
    try:
        return _RECENT.get(_file_version(path))
    except OSError:
        return None


def scan_audience(path: Path, skip_bad_rows: bool = False, blocked: AbstractSet[str] = frozenset()) -> ScannedAudience:
    """Read, validate and de-duplicate the audience in one pass, leaving out ``blocked``
    (lower-cased addresses). With ``skip_bad_rows`` bad rows are collected, not raised."""
    with cycle_collector_paused(), _opened(path) as handle:
        columns, rows = _csv_rows(path, handle)
        checked = _RowChecker(path, columns)
        audience = ScannedAudience(path, checked.names)
        # Python's own string hash: 64 bits, like an 8-byte digest, and already computed for the lookups.
        seen: set[int] = set()
        chunk: list[tuple[int, str, tuple[str, ...], bool]] = []
        for line, cells in rows:
            try:
                email, values = checked(line, cells)
            except InputError as error:
                if not skip_bad_rows:
                    raise
                audience.bad_rows.append(BadRow(line, error.message, cells))
                continue
            lowered = email.lower()
            digest = hash(lowered)
            if digest in seen:
                audience.duplicates += 1
                continue
            seen.add(digest)
            kept = lowered not in blocked
            if kept:
                audience.count += 1
            else:
                audience.suppressed += 1
            chunk.append((line, email, values, kept))
            if len(chunk) == CHUNK:
                _flush(audience.store, chunk)
                chunk = []
        _flush(audience.store, chunk)
    _RECENT.clear()
    _RECENT[_file_version(path)] = audience
    return audience


def _flush(store: BinaryIO, chunk: list) -> None:
    if chunk:
        pickle.dump(chunk, store, pickle.HIGHEST_PROTOCOL)


@contextmanager
def _opened(path: Path, what: str = "audience file") -> Iterator[TextIO]:
    try:
        handle = open(path, encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise InputError(path, f"{what} not found") from None
    with handle:
        yield handle


def read_suppressions(path: Path) -> set[str]:
    """Lower-cased addresses never to send to, from a CSV with an ``email`` column
    (what SendGrid and most providers export)."""
    with _opened(path, "suppression list") as handle:
        return _suppressed(*_csv_rows(path, handle, "suppression list"))


def _suppressed(columns: list[str], rows: Iterator[tuple[int, list[str]]]) -> set[str]:
    index = columns.index("email")
    suppressed = set()
    for _, cells in rows:
        value = cells[index].strip() if index < len(cells) else ""
        if value:
            try:
                value = valid_email(value)
            except InputError:
                pass  # an odd entry still suppresses exactly what it says
            suppressed.add(value.lower())
    return suppressed


def write_bad_rows(audience: ScannedAudience, target: Path) -> Path:
    """A CSV report of the skipped rows: where each was, why, and its cells. Replaced whole."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["file", "line", "error", "row"])
    for row in audience.bad_rows:
        writer.writerow([str(audience.path), row.line, spreadsheet_safe(row.message), spreadsheet_safe(_csv_line(row.cells))])
    write_atomically(target, buffer.getvalue())
    return target


def spreadsheet_safe(value: str) -> str:
    """A spreadsheet opening the report must not run a cell as a formula (CSV injection)."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_line(cells: list[str]) -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="").writerow(cells)
    return buffer.getvalue()


def _csv_rows(path: Path, handle: TextIO,
              what: str = "audience file") -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The lower-cased header (which has an ``email`` column) and the non-blank rows with their lines."""
    # A cell past MAX_CELL is a bad row (skippable with --skip-bad-rows); only one past READ_LIMIT
    # stops the reading (the csv module cannot go on after it).
    csv.field_size_limit(max(csv.field_size_limit(), READ_LIMIT))
    reader = csv.reader(handle)
    try:
        header = next(reader, None)
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    columns = [h.strip().lower() for h in header or []]
    if "email" not in columns:
        raise InputError(path, "the first row must be a header with an 'email' column", 1)
    return columns, _rows(path, reader)


MAX_CELL = 131_072  # characters in one cell: Python's own CSV field limit, now a bad row rather than the end
READ_LIMIT = 16_000_000


def _rows(path: Path, reader) -> Iterator[tuple[int, list[str]]]:
    line = reader.line_num + 1  # a quoted field may span lines: report where the row starts
    try:
        for row in reader:
            if "".join(row).strip():
                yield line, row
            line = reader.line_num + 1
    except csv.Error as error:
        raise InputError(path, f"malformed CSV: {error}", line) from None
    except UnicodeDecodeError:
        raise _not_utf8(path) from None


def _not_utf8(path: Path) -> InputError:
    """Decoding runs ahead of the rows in blocks: find the line the bad byte is on."""
    with open(path, "rb") as raw:
        for number, content in enumerate(raw, start=1):
            try:
                content.decode("utf-8")
            except UnicodeDecodeError as error:
                return InputError(path, f"not UTF-8 text (byte {error.start + 1} of the line); "
                                  "save the CSV as UTF-8", number)
    return InputError(path, "not UTF-8 text; save the CSV as UTF-8", 1)


class _RowChecker:
    """Checks the rows of one file; what is the same for every row is worked out once."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path, self.columns = path, columns
        last = {column: index for index, column in enumerate(columns)}  # a repeated column: its last value
        self.email_index = last["email"]
        self.names = tuple(dict.fromkeys(column for column in columns if column != "email"))
        self.value_indexes = [last[name] for name in self.names]
        self.zone_index = last.get(ZONE_COLUMN)

    def __call__(self, line: int, cells: list[str]) -> tuple[str, tuple[str, ...]]:
        """The row's normalised address and its other values, or an InputError naming the line."""
        path, columns = self.path, self.columns
        if len(cells) != len(columns):
            raise InputError(path, f"expected {len(columns)} columns ({', '.join(columns)}), found {len(cells)}", line)
        for column, cell in zip(columns, cells):
            if len(cell) > MAX_CELL:
                raise InputError(path, f"the {column!r} value is {len(cell):,} characters long (at most {MAX_CELL:,})",
                                 line)
        values = [cell.strip() for cell in cells]
        try:  # one search per row; only when it finds something is each value checked, for the message
            check_header_text("".join(cells), "", path, line)
        except InputError:
            for column, value in zip(columns, values):
                check_header_text(value, f"the {column!r} value", path, line)  # names and merge fields reach headers
        email = valid_email(values[self.email_index], path, line)
        if self.zone_index is not None and values[self.zone_index]:
            try:
                time_zone(values[self.zone_index])
            except ValueError as error:
                raise InputError(path, f"the {ZONE_COLUMN!r} value: {error}", line) from None
        return email, tuple([values[index] for index in self.value_indexes])


# RFC 5322 dot-atom: every such ASCII local part is one email-validator accepts unchanged.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")


def valid_email(value: str, path: Path | None = None, line: int | None = None) -> str:
    """The normalised address, or an InputError naming where the bad one came from."""
    local, at, domain = value.rpartition("@")
    # Fast path for the common case: the library checks each distinct domain once, which
    # is what makes 100,000 addresses take a fraction of a second instead of seconds.
    if at and len(local) <= 64 and len(value) <= 254 and domain.isascii() and _DOT_ATOM.match(local):
        normalized_domain = _valid_domain(domain)
        if normalized_domain:
            return f"{local}@{normalized_domain}"
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        raise InputError(path, f"invalid email address {_shown(value, line)!r}: {error}", line) from None
    return ascii_address(checked, path, line)


def _shown(value: str, line: int | None) -> str:
    """A reader's address as an error about their row shows it: the row's line names it, and the
    address itself (which would go into a CI log) is replaced by its send-log id."""
    return redact(value) if line else value


def ascii_address(checked, path: Path | None = None, line: int | None = None, what: str = "email address") -> str:
    """The address as every provider can carry it: an international domain in its punycode
    (xn--) form. A name before the @ beyond ASCII needs SMTPUTF8, which SendGrid and most
    servers refuse, so it is refused here, naming where it came from."""
    if checked.ascii_email is None:
        raise InputError(path, f"{what} {_shown(checked.normalized, line)!r} has letters beyond ASCII before the @, which needs "
                         "SMTPUTF8 (SendGrid and most mail servers refuse it): ask the reader for another address, "
                         "or skip the row (--skip-bad-rows)", line)
    return checked.ascii_email


@functools.lru_cache(maxsize=4096)
def _valid_domain(domain: str) -> str | None:
    try:
        return validate_email(f"postmaster@{domain}", check_deliverability=False).domain
    except EmailNotValidError:
        return None


def audience_file(workspace: Workspace, spec: IssueSpec, override: Path | None = None) -> Path | None:
    """--audience, else the issue's ``audience:``, else newsletter.toml's [send] audience."""
    if override:
        return override  # typed on the command line: the user's choice, wherever it is
    if spec.audience:
        return workspace.require_inside(spec.folder / spec.audience, "audience", spec.path, spec.lines.get("audience"))
    default = default_audience(workspace)
    if default:
        return workspace.require_inside(workspace.root / default, "[send] audience",
                                        workspace.settings_path, workspace.settings_line("send", "audience"))
    return None


def default_audience(workspace: Workspace) -> str:
    """``[send] audience``. The send stage owns and checks that table; the audience is read here,
    before any send (by `check` too), so this one key is taken as written."""
    value = workspace.settings.tables.get("send", {}).get("audience", "")
    return value if isinstance(value, str) else ""


def audience_path(workspace: Workspace, spec: IssueSpec, override: Path | None) -> Path:
    path = audience_file(workspace, spec, override)
    if path is None:
        raise InputError(spec.path, "no audience: add 'audience: audience.csv' to the issue, "
                         "set [send] audience in newsletter.toml, or pass --audience CSV or --to ADDR")
    return path
