"""The workspace: a folder with ``newsletter.toml``, ``issues/`` and ``templates/``."""

from __future__ import annotations

import re
import tomllib
from dataclasses import MISSING, Field, dataclass, field, fields
from pathlib import Path
from typing import Any

from newsletter.errors import InputError

SETTINGS_FILE = "newsletter.toml"
ISSUE_FILE = "issue.md"


@dataclass(frozen=True)
class Brand:
    color: str = "#1f5f3a"
    text_color: str = "#222222"
    background: str = "#f4f1ea"
    card: str = "#ffffff"
    font: str = "Helvetica, Arial, sans-serif"
    heading_font: str = ""
    logo: str = ""
    logo_alt: str = ""
    logo_width: int = 160
    dark_background: str = "#121212"
    dark_card: str = "#1e1e1e"
    dark_text_color: str = "#e8e8e8"
    dark_color: str = "#8fd19e"
    social: dict = field(default_factory=dict)  # label -> URL, shown in the footer


@dataclass(frozen=True)
class CheckSettings:
    caniemail: str = ""  # path to a caniemail data.json; the packaged table is used when empty


@dataclass(frozen=True)
class UtmSettings:
    enabled: bool = True
    source: str = "newsletter"
    medium: str = "email"
    campaign: str = "{slug}"  # {slug} is the issue's folder name


@dataclass(frozen=True)
class SummarySettings:
    sentences: int = 3
    words: int = 80
    llm_url: str = ""  # OpenAI-compatible base URL (…/v1); empty: extractive summaries only
    llm_model: str = ""
    llm_timeout: int = 30  # seconds per article; the key comes from $NEWSLETTER_LLM_API_KEY


@dataclass(frozen=True)
class SendSettings:
    provider: str = "outbox"  # what --send uses: sendgrid or smtp (outbox is the dry run)
    audience: str = ""
    suppressions: str = ""  # CSV with an email column: never sent to
    outbox: str = "outbox"
    sample: int = 3
    batch_size: int = 1000  # recipients per request (SendGrid) or per logged batch (SMTP: at most 100)
    timeout: float = 30.0  # seconds per request
    max_retries: int = 5  # on 429, 5xx, timeouts and dropped connections
    max_backoff: float = 60.0  # seconds: the longest wait between tries
    sendgrid_host: str = "https://api.sendgrid.com"  # SENDGRID_API_HOST overrides it
    smtp_host: str = "localhost"
    smtp_port: int = 0  # 0: 587 for starttls, 465 for ssl, 25 for none
    smtp_security: str = "starttls"  # starttls, ssl or none
    smtp_user: str = ""  # the password is SMTP_PASSWORD in the environment or .env
    rate_limit: float = 0.0  # SMTP messages per second; 0: no limit


@dataclass(frozen=True)
class FetchSettings:
    """Fetching URL and feed sources; fetched pages are cached under ``cache``."""

    connect_timeout: float = 10.0  # seconds
    read_timeout: float = 20.0  # seconds without data
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    user_agent: str = ""  # default: newsletter/VERSION
    cache: str = ".cache/sources"  # relative to the workspace


@dataclass(frozen=True)
class Settings:
    name: str = "Newsletter"
    sender: str = "Newsletter <newsletter@example.com>"
    reply_to: str = ""
    website: str = "https://example.com"
    postal_address: str = ""
    unsubscribe_url: str = ""
    unsubscribe_mailto: str = ""
    theme: str = "digest"
    date_order: str = "DMY"
    language: str = "en"
    # Where the web archive shows each issue ("view in browser"); {slug} is the issue folder.
    archive_url: str = ""
    brand: Brand = field(default_factory=Brand)
    summary: SummarySettings = field(default_factory=SummarySettings)
    send: SendSettings = field(default_factory=SendSettings)
    utm: UtmSettings = field(default_factory=UtmSettings)
    check: CheckSettings = field(default_factory=CheckSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)


_TABLES = {"brand": Brand, "summary": SummarySettings, "send": SendSettings, "utm": UtmSettings, "fetch": FetchSettings,
           "check": CheckSettings}


@dataclass(frozen=True)
class Workspace:
    root: Path
    settings: Settings

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
    from dotenv import load_dotenv

    load_dotenv(workspace.root / ".env", override=False)


def load_settings(path: Path) -> Settings:
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = _toml_error_line(str(error))
        raise InputError(path, f"invalid TOML: {error}", line) from None
    top = dict(data.pop("newsletter", {}))
    for key, value in data.items():
        if key not in _TABLES:
            raise InputError(path, f"unknown table [{key}] (known: newsletter, {', '.join(_TABLES)})", _line_of(text, rf"\[{re.escape(key)}\]"))
        top[key] = _build(_TABLES[key], value, path, text, key)
    return _build(Settings, top, path, text, "newsletter")


def _build(cls: type, values: dict[str, Any], path: Path, text: str, table: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    for key, value in values.items():
        if key not in known:
            raise InputError(path, f"unknown key {key!r} in [{table}] (known: {', '.join(known)})", _line_of(text, rf"^\s*{re.escape(key)}\s*="))
        default = _default(known[key])
        if key not in _TABLES and not _fits(value, default):
            raise InputError(path, f"{key} must be {type(default).__name__}, not {type(value).__name__}", _line_of(text, rf"^\s*{re.escape(key)}\s*="))
    return cls(**values)


def _default(spec: Field) -> Any:
    return spec.default_factory() if spec.default is MISSING else spec.default  # type: ignore[misc]


def _fits(value: Any, default: Any) -> bool:
    """A whole number is fine where seconds are decimal (read_timeout = 10)."""
    if isinstance(value, bool) != isinstance(default, bool):  # bool is an int to Python, not to users
        return False
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def _line_of(text: str, pattern: str) -> int | None:
    match = re.search(pattern, text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _toml_error_line(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None
