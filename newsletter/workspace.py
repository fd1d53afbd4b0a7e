"""The workspace: a folder with ``newsletter.toml``, ``issues/`` and ``templates/``."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from newsletter.errors import InputError
from newsletter.files import CACHE_ROOT, DiskMemo, memo_key
from newsletter.schema import check_choice, check_header_text, check_mapping, dataclass_types, parse_mailbox, suggestion

T = TypeVar("T")

SETTINGS_FILE = "newsletter.toml"
ISSUE_FILE = "issue.md"


@dataclass(frozen=True)
class Brand:
    color: str = "#1f5f3a"  # links, buttons and the masthead rule
    text_color: str = "#222222"  # body text
    background: str = "#f4f1ea"  # around the cards
    card: str = "#ffffff"  # behind each article
    font: str = "Helvetica, Arial, sans-serif"  # a CSS font stack; web fonts are not loaded (most inboxes block them)
    heading_font: str = ""  # for headings; empty: font
    logo: str = ""  # an https image URL; the name is shown when empty
    logo_alt: str = ""  # the logo's alt text; empty: the name
    logo_width: int = 160  # pixels
    # The same four in a reader's dark mode:
    dark_background: str = "#121212"
    dark_card: str = "#1e1e1e"
    dark_text_color: str = "#e8e8e8"
    dark_color: str = "#8fd19e"
    dark_muted_color: str = "#a8a8a8"  # bylines and dates in dark mode: dimmer than the text, still AA on dark_card
    social: dict = field(default_factory=dict)  # label -> URL, shown in the footer


@dataclass(frozen=True)
class CheckSettings:
    caniemail: str = ""  # path to a caniemail data.json; the packaged table is used when empty
    dns: str = ""  # check --online: "HOST:PORT" of the DNS resolver for SPF, DKIM, DMARC; empty: the system's
    dkim_selectors: list = field(default_factory=list)  # check --online: DKIM selectors besides the provider's (SendGrid: s1, s2)


@dataclass(frozen=True)
class UtmSettings:
    enabled: bool = True  # add utm_source, utm_medium, utm_campaign and utm_content to article links
    source: str = "newsletter"  # utm_source
    medium: str = "email"  # utm_medium
    campaign: str = "{slug}"  # {slug} is the issue's folder name


@dataclass(frozen=True)
class SummarySettings:
    sentences: int = 3  # most sentences in a blurb
    words: int = 80  # most words in a blurb
    llm_url: str = ""  # OpenAI-compatible base URL (…/v1); empty: extractive summaries only
    llm_model: str = ""  # the model name the server knows
    llm_timeout: int = 30  # seconds per article; the key comes from $NEWSLETTER_LLM_API_KEY


@dataclass(frozen=True)
class SendSettings:
    provider: str = "outbox"  # what --send uses: sendgrid or smtp (outbox is the dry run)
    audience: str = ""  # default recipients CSV when the issue names none
    suppressions: str = ""  # CSV with an email column: never sent to (default: suppressions.csv, if present)
    pull_suppressions: bool = False  # a real send first pulls the provider's bounces and unsubscribes
    outbox: str = "outbox"  # where dry runs write what would be sent
    sample: int = 3  # recipients a dry run writes as .eml files (recipients.jsonl lists everyone)
    batch_size: int = 1000  # recipients per request (SendGrid) or per logged batch (SMTP: at most 100)
    timeout: float = 30.0  # seconds per request
    max_retries: int = 5  # on 429, 5xx, timeouts and dropped connections
    max_backoff: float = 60.0  # seconds: the longest wait between tries
    concurrency: int = 4  # batches in flight at once, within the provider's own limit
    # minutes: `send --due` hands an issue to a provider that holds mail (SendGrid) this long
    # before its send_at (at most as long as it holds mail: SendGrid 72 h). A daily CI run then
    # hands every issue over in time, and a crashed or cancelled run can be settled before send_at.
    schedule_ahead: float = 71 * 60.0
    # [send.NAME] tables, as written: each provider module reads and validates its own.
    providers: dict = field(default_factory=dict)


# Keys that moved into a provider's own table; an old workspace gets told where, not ignored.
MOVED_KEYS = {
    "sendgrid_host": "host under [send.sendgrid]",
    "smtp_host": "host under [send.smtp]",
    "smtp_port": "port under [send.smtp]",
    "smtp_security": "security under [send.smtp]",
    "smtp_user": "user under [send.smtp]",
    "rate_limit": "rate_limit under [send.smtp]",
}
DATE_ORDERS = ("DMY", "MDY")
INLINERS = ("premailer", "css-inline")


@dataclass(frozen=True)
class FetchSettings:
    """Fetching URL and feed sources; fetched pages are cached under ``cache``."""

    connect_timeout: float = 10.0  # seconds
    read_timeout: float = 20.0  # seconds without data
    max_bytes: int = 5_000_000  # a larger page is an error
    max_redirects: int = 5  # more is an error
    user_agent: str = ""  # default: newsletter/VERSION
    deadline: float = 30.0  # seconds for a whole page, however slowly it arrives
    cache: str = ".cache/sources"  # relative to the workspace
    # Hosts, as URLs spell them ("intranet.example", "127.0.0.1"), that may resolve to loopback,
    # private or link-local addresses; every other fetch is refused such addresses (docs/security.md).
    allow_private_hosts: list = field(default_factory=list)


@dataclass(frozen=True)
class PublishSettings:
    """Where ``newsletter publish`` puts the web archive. Credentials and the endpoint come from
    boto3's own sources (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, profiles)."""

    bucket: str = ""  # s3://NAME/PREFIX (S3, R2, MinIO, B2); empty: no publishing
    public_url: str = ""  # where PREFIX is served; default: archive_url up to {slug}


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
    brand: Brand = field(default_factory=Brand)
    summary: SummarySettings = field(default_factory=SummarySettings)
    send: SendSettings = field(default_factory=SendSettings)
    utm: UtmSettings = field(default_factory=UtmSettings)
    check: CheckSettings = field(default_factory=CheckSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    publish: PublishSettings = field(default_factory=PublishSettings)

    @property
    def day_first(self) -> bool:
        return self.date_order == "DMY"


_TABLES = {"brand": Brand, "summary": SummarySettings, "send": SendSettings, "utm": UtmSettings, "fetch": FetchSettings,
           "check": CheckSettings, "publish": PublishSettings}


@dataclass(frozen=True)
class Workspace:
    root: Path
    settings: Settings
    # The provider-hosted unsubscribe this workspace's emails are built for (render.unsubscribe.
    # HostedUnsubscribe), set by sending_workspace for the provider that sends; None: the settings'.
    hosted_unsubscribe: Any = None

    @property
    def settings_path(self) -> Path:
        return self.root / SETTINGS_FILE

    @property
    def cache_dir(self) -> Path:
        """Fetched pages, extracted articles, checked files: never committed (`init` ignores it)."""
        return self.root / CACHE_ROOT

    def settings_line(self, table: str, key: str | None = None) -> int | None:
        """Where ``[table]`` (or ``key`` in it) is written in newsletter.toml, for error messages."""
        path = self.settings_path
        return _key_line(path.read_text(encoding="utf-8"), table, key) if path.is_file() else None

    def provider_settings(self, name: str, cls: type[T]) -> T:
        """The ``[send.NAME]`` table as the provider's own settings class, checked like every table."""
        values = self.settings.send.providers.get(name, {})
        path = self.settings_path
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        return _table_from_toml(cls, values, path, text, f"send.{name}")

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

    @property
    def outbox_dir(self) -> Path:
        return self.root / self.settings.send.outbox

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
    for key, value in data.items():
        if key not in _TABLES:
            if not isinstance(value, dict):
                top[key] = value  # a top-level key outside any table: checked with the [newsletter] keys
                continue
            raise InputError(path, f"unknown table [{key}]{suggestion(key, ['newsletter', *_TABLES])}",
                             _table_line(text, key))
        top[key] = _table_from_toml(_TABLES[key], value, path, text, key)
    settings = _table_from_toml(Settings, top, path, text, "newsletter")
    check_choice(settings.date_order, DATE_ORDERS, "date_order", path, _key_line(text, "newsletter", "date_order"))
    check_choice(settings.inliner, INLINERS, "inliner", path, _key_line(text, "newsletter", "inliner"))
    _check_header_settings(settings, path, text)
    _check_ranges(settings, path, text)
    if not all(isinstance(folder, str) and folder for folder in settings.allow_paths):
        raise InputError(path, "allow_paths must be a list of folder paths (text)", _key_line(text, "newsletter", "allow_paths"))
    if not all(isinstance(host, str) and host.strip() for host in settings.fetch.allow_private_hosts):
        raise InputError(path, "[fetch] allow_private_hosts must be a list of host names (text), "
                         'such as ["intranet.example"]', _key_line(text, "fetch", "allow_private_hosts"))
    return settings


# Numbers that make no sense below a floor (a negative retry count, a zero timeout): an error
# at the key rather than a crash or a hang later.
MINIMUMS = {
    ("send", "max_retries"): 0, ("send", "batch_size"): 1, ("send", "timeout"): 0.001,
    ("send", "max_backoff"): 0, ("send", "sample"): 0, ("send", "schedule_ahead"): 0,
    ("send", "concurrency"): 1,
    ("fetch", "connect_timeout"): 0.001, ("fetch", "read_timeout"): 0.001, ("fetch", "deadline"): 0.001,
    ("fetch", "max_bytes"): 1, ("fetch", "max_redirects"): 0,
    ("summary", "sentences"): 1, ("summary", "words"): 1, ("summary", "llm_timeout"): 1,
}


# ... and above a ceiling: a timeout of 1e10 s overflows the socket layer, a retry count of a
# million never ends. Generous bounds, far past any real need, checked at the key.
MAXIMUMS = {
    ("send", "max_retries"): 100, ("send", "batch_size"): 10_000, ("send", "timeout"): 3600,
    ("send", "max_backoff"): 86_400, ("send", "sample"): 10_000, ("send", "schedule_ahead"): 4320,
    ("send", "concurrency"): 64,
    ("fetch", "connect_timeout"): 600, ("fetch", "read_timeout"): 3600, ("fetch", "deadline"): 86_400,
    ("fetch", "max_bytes"): 1_000_000_000, ("fetch", "max_redirects"): 100,
    ("summary", "sentences"): 100, ("summary", "words"): 10_000, ("summary", "llm_timeout"): 3600,
    ("brand", "logo_width"): 600,
}


def _check_ranges(settings: Settings, path: Path, text: str) -> None:
    import math

    for table, key in dict.fromkeys([*MINIMUMS, *MAXIMUMS]):
        value = getattr(getattr(settings, table), key)
        floor, ceiling = MINIMUMS.get((table, key)), MAXIMUMS.get((table, key))
        if not math.isfinite(value):
            raise InputError(path, f"[{table}] {key} must be a finite number, not {value!r}", _key_line(text, table, key))
        if floor is not None and value < floor:
            least = "more than 0" if 0 < floor < 1 else f"{floor} or more"
            raise InputError(path, f"[{table}] {key} must be {least}, not {value!r}", _key_line(text, table, key))
        if ceiling is not None and value > ceiling:
            raise InputError(path, f"[{table}] {key} must be at most {ceiling:,}, not {value!r}",
                             _key_line(text, table, key))


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


def _table_from_toml(cls: type[T], values: dict[str, Any], path: Path, text: str, table: str) -> T:
    values = dict(values)
    if cls is SendSettings:
        values["providers"] = {key: values.pop(key) for key in list(values) if isinstance(values[key], dict)}
    for key in values:
        if key in MOVED_KEYS and table == "send":
            raise InputError(path, f"{key} in [send] has moved: write it as {MOVED_KEYS[key]}", _key_line(text, table, key))
    allowed = {name: expected for name, expected in dataclass_types(cls).items() if name not in _TABLES}
    nested_names = set(_TABLES) if cls is Settings else {"providers"} if cls is SendSettings else set()
    nested = {key: value for key, value in values.items() if key in nested_names}
    plain = {key: value for key, value in values.items() if key not in nested}
    check_mapping(plain, allowed, f"[{table}]", path, lambda key: _key_line(text, table, key))
    return cls(**plain, **nested)


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
