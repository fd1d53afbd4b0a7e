"""The workspace: a folder with ``newsletter.toml``, ``issues/`` and ``templates/``."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from newsletter.errors import InputError
from newsletter.files import CACHE_ROOT, DiskMemo, memo_key
from newsletter.schema import check_choice, check_header_text, check_mapping, dataclass_types, parse_mailbox, suggestion

T = TypeVar("T")
TableT = TypeVar("TableT", bound="SettingsTable")

SETTINGS_FILE = "newsletter.toml"
ISSUE_FILE = "issue.md"


class SettingsTable:
    """A table of newsletter.toml that one stage owns: a frozen dataclass in that stage naming its
    table, the bounds of its numbers and any further rule. ``Workspace.table`` reads and checks it."""

    TABLE: ClassVar[str]
    LIMITS: ClassVar[dict[str, tuple[float | None, float | None]]] = {}  # key: (least, most)

    @classmethod
    def prepare(cls, values: dict[str, Any], fail: Callable[[str, str], InputError]) -> dict[str, Any]:
        """The values as written, before their keys are checked (a table with sub-tables takes them out)."""
        return values

    def problems(self) -> Iterator[tuple[str, str]]:
        """(key, message) for each rule the values break beyond their types and bounds."""
        return iter(())


DATE_ORDERS = ("DMY", "MDY")
INLINERS = ("premailer", "css-inline")


@dataclass(frozen=True)
class Settings:
    name: str = "Newsletter"  # the newsletter's name: masthead, From name default, list id of unsubscribe tokens
    sender: str = "Newsletter <newsletter@example.com>"  # the From address, with a display name
    reply_to: str = ""  # where replies go; empty: the sender
    website: str = "https://example.com"  # linked from the masthead and footer
    postal_address: str = ""  # required in commercial email (CAN-SPAM, CASL): shown in the footer
    unsubscribe_url: str = ""  # https link for one-click unsubscribe; {{unsubscribe_token}} signs it (see unsubscribe modes)
    unsubscribe_mailto: str = ""  # an address for List-Unsubscribe by mail
    theme: str = "digest"  # a folder under templates/: digest or letter, or your own
    date_order: str = "DMY"  # how to read 03/04/2025 in sources: DMY or MDY
    inliner: str = "premailer"  # or "css-inline" (pip install 'newsletter[fast]'): the same result, faster
    language: str = "en"  # the email's lang attribute and sentence splitting
    # Where the web archive shows each issue ("view in browser"); {slug} is the issue folder.
    archive_url: str = ""
    # Folders outside the workspace that issue files and settings may name (sources, images,
    # audiences); everything else they name must resolve inside it, symlinks followed.
    allow_paths: list = field(default_factory=list)
    # The other tables as written ([send], [fetch], …): each stage reads its own with Workspace.table.
    tables: dict = field(default_factory=dict)

    @property
    def day_first(self) -> bool:
        return self.date_order == "DMY"


@dataclass(frozen=True)
class Workspace:
    root: Path
    settings: Settings
    # The provider-hosted unsubscribe this workspace's emails are built for (render.unsubscribe.
    # HostedUnsubscribe), set by sending_workspace for the provider that sends; None: the settings'.
    hosted_unsubscribe: Any = None
    _read: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # tables read so far

    @property
    def settings_path(self) -> Path:
        return self.root / SETTINGS_FILE

    @property
    def cache_dir(self) -> Path:
        """Fetched pages, extracted articles, checked files: never committed (`init` ignores it)."""
        return self.root / CACHE_ROOT

    def settings_line(self, table: str, key: str | None = None) -> int | None:
        """Where ``[table]`` (or ``key`` in it) is written in newsletter.toml, for error messages."""
        return _key_line(self._settings_text(), table, key)

    def table(self, cls: type[TableT]) -> TableT:
        """The stage's own table (``cls.TABLE``) as written in newsletter.toml, checked on first use."""
        if cls not in self._read:
            self._read[cls] = self._table(cls, self.settings.tables.get(cls.TABLE, {}), cls.TABLE)
        return self._read[cls]

    def provider_settings(self, name: str, cls: type[T]) -> T:
        """The ``[send.NAME]`` table as the provider's own settings class, checked like every table."""
        return self._table(cls, self.settings.tables.get("send", {}).get(name, {}), f"send.{name}")

    def check_tables(self, owners: Iterable[type[SettingsTable]]) -> None:
        """Every table written is one a stage owns, and each reads without an error (before any work starts)."""
        owned = {cls.TABLE: cls for cls in owners}
        for name in self.settings.tables:
            if name not in owned:
                raise InputError(self.settings_path, f"unknown table [{name}]{suggestion(name, ['newsletter', *owned])}",
                                 _table_line(self._settings_text(), name))
        for cls in owned.values():
            self.table(cls)

    def _table(self, cls: type[T], values: dict[str, Any], name: str) -> T:
        return _table_from_toml(cls, values, self.settings_path, self._settings_text, name)

    def _settings_text(self) -> str:
        path = self.settings_path
        return path.read_text(encoding="utf-8") if path.is_file() else ""

    def inside(self, path: Path) -> bool:
        """Whether ``path`` (symlinks resolved) is in the workspace or a folder allow_paths names."""
        resolved = path.resolve()
        roots = [self.root, *(self.root / Path(folder).expanduser() for folder in self.settings.allow_paths)]
        return any(resolved.is_relative_to(root.resolve()) for root in roots)

    def require_inside(self, path: Path, what: str, where: Path | None, line: int | None = None) -> Path:
        """``path`` as named by a file the workspace holds: an error when it leads outside."""
        if not self.inside(path):
            raise InputError(where, f"{what} {path.resolve()} is outside the workspace (symlinks followed): "
                             f"move it in, or allow its folder with allow_paths = [\"...\"] in {SETTINGS_FILE}", line)
        return path

    @property
    def issues_dir(self) -> Path:
        return self.root / "issues"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    def issue_path(self, issue: str | Path) -> Path:
        """Accept a slug, an issue folder or an ``issue.md`` path."""
        candidate = Path(issue)
        if candidate.is_file():
            return candidate
        if candidate.is_dir():
            return candidate / ISSUE_FILE
        by_slug = self.issues_dir / str(issue) / ISSUE_FILE
        if by_slug.is_file():
            return by_slug
        raise InputError(
            None,
            f"no issue {issue!s}: expected {by_slug.relative_to(self.root)} "
            f"or a path to an issue folder (create one with: newsletter new {issue})",
        )


def find_workspace(start: Path | None = None) -> Workspace:
    """Walk up from ``start`` to the folder holding newsletter.toml (else use ``start``)."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        settings_path = folder / SETTINGS_FILE
        if settings_path.is_file():
            return Workspace(folder, load_settings(settings_path))
    return Workspace(start, Settings())


def load_secrets(workspace: Workspace) -> None:
    """Read the workspace's .env (secrets only); variables already set in the environment win."""
    path = workspace.root / ".env"
    if path.is_file():  # most builds have no secrets to read: python-dotenv is not even loaded
        from dotenv import load_dotenv

        load_dotenv(path, override=False)


def load_settings(path: Path) -> Settings:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InputError(path, f"not UTF-8 text (byte {error.start}): save it as UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(path, f"invalid TOML: {_toml_message(str(error))}", _toml_error_line(str(error))) from None
    except RecursionError:
        raise InputError(path, "invalid TOML: arrays or tables nested too deeply") from None
    top = dict(data.pop("newsletter", {}))
    tables = {}
    for key, value in data.items():
        if isinstance(value, dict):
            tables[key] = value
        else:
            top[key] = value  # a top-level key outside any table: checked with the [newsletter] keys
    settings = _table_from_toml(Settings, top, path, lambda: text, "newsletter")
    check_choice(settings.date_order, DATE_ORDERS, "date_order", path, _key_line(text, "newsletter", "date_order"))
    check_choice(settings.inliner, INLINERS, "inliner", path, _key_line(text, "newsletter", "inliner"))
    _check_header_settings(settings, path, text)
    if not all(isinstance(folder, str) and folder for folder in settings.allow_paths):
        raise InputError(path, "allow_paths must be a list of folder paths (text)", _key_line(text, "newsletter", "allow_paths"))
    return dataclasses.replace(settings, tables=tables)


def _check_limits(table: SettingsTable, fail: Callable[[str, str], InputError]) -> None:
    import math

    for key, (least, most) in table.LIMITS.items():
        value = getattr(table, key)
        if not math.isfinite(value):
            raise fail(key, f"[{table.TABLE}] {key} must be a finite number, not {value!r}")
        if least is not None and value < least:
            floor = "more than 0" if 0 < least < 1 else f"{least} or more"
            raise fail(key, f"[{table.TABLE}] {key} must be {floor}, not {value!r}")
        if most is not None and value > most:
            raise fail(key, f"[{table.TABLE}] {key} must be at most {most:,}, not {value!r}")


MAILBOX_KEYS = ("sender", "reply_to", "unsubscribe_mailto")


def _check_header_settings(settings: Settings, path: Path, text: str) -> None:
    """What goes into mail headers is one line and the addresses parse: an error at the key, before any send."""
    def line(key: str) -> int | None:
        return _key_line(text, "newsletter", key)

    for key in ("unsubscribe_url", "name", *MAILBOX_KEYS):
        check_header_text(getattr(settings, key), key, path, line(key))
    mailboxes = {key: getattr(settings, key) for key in MAILBOX_KEYS if key == "sender" or getattr(settings, key)}
    # Loading email-validator costs more than a whole warm build: addresses that passed once
    # are not checked again while they stay the same.
    memo = DiskMemo(path.parent / CACHE_ROOT / "checked")
    name = f"{memo_key('mailboxes', *(f'{key}={value}' for key, value in mailboxes.items()))}.json"
    if memo.load(name) is None:
        for key, value in mailboxes.items():
            parse_mailbox(value, key, path, line(key))
        memo.store(name, "valid")


def _table_from_toml(cls: type[T], values: dict[str, Any], path: Path, text: Callable[[], str], table: str) -> T:
    """``values`` as ``cls``, checked; ``text`` gives the file's text, read only to place an error."""
    def line(key: str) -> int | None:
        return _key_line(text(), table, key)

    def fail(key: str, message: str) -> InputError:
        return InputError(path, message, line(key))

    owned = isinstance(cls, type) and issubclass(cls, SettingsTable)
    values = cls.prepare(dict(values), fail) if owned else dict(values)
    allowed = {name: expected for name, expected in dataclass_types(cls).items() if name != "tables"}
    check_mapping(values, allowed, f"[{table}]", path, line)
    read = cls(**values)
    if owned:
        _check_limits(read, fail)
        for key, message in read.problems():
            raise fail(key, message)
    return read


def _table_line(text: str, table: str) -> int | None:
    return _line_of(text, rf"^[ \t]*\[[ \t]*{re.escape(table)}[ \t]*\]")


def _key_line(text: str, table: str, key: str | None) -> int | None:
    """The line of ``key`` inside ``[table]`` (or before any table, for [newsletter] keys)."""
    header = _table_line(text, table)
    lines = text.splitlines()
    start = header or 0
    if key is None:
        return header
    for number in range(start, len(lines)):
        line = lines[number]
        if number > start and header is not None and re.match(r"\s*\[", line):
            break
        if re.match(rf"\s*{re.escape(key)}\s*=", line):
            return number + 1
    return header


def _line_of(text: str, pattern: str) -> int | None:
    match = re.search(pattern, text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _toml_error_line(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


def _toml_message(message: str) -> str:
    """tomllib says "(at line 3, column 7)"; the line is already in front of the message."""
    return re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
