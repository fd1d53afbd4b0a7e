"""The suppression file: who is never sent to, and why. Provider-neutral.

``[send] suppressions`` (default ``suppressions.csv`` at the workspace root) is a CSV with
``email, reason, date, source`` columns (other columns a user added are kept). Rows come from
a provider's lists (``newsletter suppressions pull``: the provider fetches, this module
merges) or from files (``suppressions import``: a CSV, or an mbox of RFC 3464 bounce
reports). A merge only adds: a row already there is never dropped or changed, since the
first reason seen is the one that matters.

The file holds addresses, so keep it out of git (or commit it knowingly); the pull's
high-water mark sits beside it in ``.suppressions.csv.pulled.json``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import mailbox
from dataclasses import dataclass, field
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from newsletter import clock
from newsletter.compose.audience import read_suppressions, valid_email
from newsletter.deliver.settings import SendSettings
from newsletter.errors import InputError, display_path
from newsletter.files import locked, update_file, write_atomically

if TYPE_CHECKING:
    from newsletter.workspace import Workspace

DEFAULT_FILE = "suppressions.csv"
COLUMNS = ["email", "reason", "date", "source"]
# Lists overlap in time a little on each pull: a row created while the last pull ran is not missed.
PULL_OVERLAP = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Suppression:
    email: str
    reason: str  # "bounce: 550 5.1.1 no such user", "spam report", "unsubscribe (group 123)" ...
    date: str  # YYYY-MM-DD (when the provider recorded it), or "" when unknown
    source: str  # "sendgrid:bounces", "mbox:bounces.mbox", "csv:export.csv"


@dataclass
class MergeResult:
    path: Path
    added: int = 0
    already: int = 0  # in the file before
    total: int = 0
    by_source: dict[str, int] = field(default_factory=dict)  # rows added, per source

    def to_dict(self) -> dict:
        return {"file": str(self.path), "added": self.added, "already_listed": self.already, "total": self.total,
                "added_by_source": self.by_source}


def suppression_file(workspace: Workspace) -> Path:
    return workspace.root / (workspace.table(SendSettings).suppressions or DEFAULT_FILE)


def blocked_addresses(workspace: Workspace) -> set[str]:
    """Lower-cased addresses never to send to. The default file may be missing; a file the
    settings name must exist (a typo there would silently mail everyone on it)."""
    path = suppression_file(workspace)
    if not workspace.table(SendSettings).suppressions and not path.exists():
        return set()
    return read_suppressions(path)


def merge_suppressions(path: Path, rows: Iterable[Suppression]) -> MergeResult:
    """Add the rows whose address is not in the file yet; write the file whole (created if missing),
    under the file's lock: a pull and an import at the same time both land."""
    with locked(path) as target:
        return _merge(path, target, rows)


def _merge(path: Path, target: Path, rows: Iterable[Suppression]) -> MergeResult:
    columns, existing = _read_rows(target)
    seen = {row["email"].strip().lower() for row in existing}
    result = MergeResult(path, already=len(seen))
    for row in rows:
        key = row.email.strip().lower()
        if not key or key in seen:
            continue
        seen.add(key)
        existing.append({"email": row.email, "reason": row.reason, "date": row.date, "source": row.source})
        result.added += 1
        result.by_source[row.source] = result.by_source.get(row.source, 0) + 1
    result.total = len(existing)
    if result.added or not target.exists():
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, columns, restval="", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(existing)
        write_atomically(target, buffer.getvalue())
    return result


def _read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    if not path.exists():
        return list(COLUMNS), []
    fields, reader = _csv_records(path)
    columns = fields + [name for name in COLUMNS if name not in fields]
    rows = [{key: value or "" for key, value in row.items() if key} for row in reader if (row.get("email") or "").strip()]
    return columns, rows


def _csv_records(path: Path) -> tuple[list[str], csv.DictReader]:
    """A suppression CSV's lower-cased columns and its rows as mappings, after the checks a send
    makes of it (UTF-8, a header with an email column, CSV errors at their line)."""
    read_suppressions(path)
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline=""))
    reader.fieldnames = [name.strip().lower() for name in reader.fieldnames or []]
    return list(reader.fieldnames), reader


# --- pulling from a provider --------------------------------------------------------------

@dataclass
class PullResult:
    merge: MergeResult
    provider: str
    since: str | None  # the start_time asked for (ISO), None for everything
    fetched: int

    def to_dict(self) -> dict:
        return {"provider": self.provider, "since": self.since, "fetched": self.fetched, **self.merge.to_dict()}

    def summary(self) -> str:
        """One line for people: what came home, and where it went."""
        since = f"since {self.since}" if self.since else "first pull: everything"
        return (f"Pulled {self.fetched:,} suppression{'' if self.fetched == 1 else 's'} from {self.provider} ({since}): "
                f"{self.merge.added:,} new in {display_path(self.merge.path)}, {self.merge.total:,} in all.")


def state_file(path: Path) -> Path:
    return path.with_name(f".{path.name}.pulled.json")


def pull_suppressions(workspace: Workspace, provider_name: str = "sendgrid",
                      progress: Callable[[str], None] = lambda _: None) -> PullResult:
    """Fetch the provider's suppressions recorded since the last pull and merge them in."""
    from newsletter.deliver.providers import get_provider
    from newsletter.deliver.retry import RetryPolicy

    provider = get_provider(provider_name, workspace)
    if not provider.can_pull_suppressions:
        raise InputError(workspace.settings_path, f"provider {provider_name!r} keeps no suppression list to pull: "
                         "use 'newsletter suppressions import FILE' with its bounces")
    path = suppression_file(workspace)
    started = clock.now()
    since = _last_pull(path, provider_name)
    policy = RetryPolicy.from_settings(workspace.table(SendSettings))
    rows = provider.pull_suppressions(since - PULL_OVERLAP if since else None, policy, progress)
    merged = merge_suppressions(path, rows)
    _remember_pull(path, provider_name, started)
    return PullResult(merged, provider_name, since.isoformat() if since else None, len(rows))


def _last_pull(path: Path, provider: str) -> dt.datetime | None:
    """When the last pull started; None (pull everything) when the file it filled is gone."""
    state = state_file(path)
    if not path.exists() or not state.exists():
        return None
    try:
        return dt.datetime.fromisoformat(json.loads(state.read_text(encoding="utf-8"))[provider]["started"])
    except (ValueError, KeyError, TypeError):
        return None  # an unreadable mark costs one full pull, nothing else


def _remember_pull(path: Path, provider: str, started: dt.datetime) -> None:
    def mark(text: str) -> str:
        try:
            data = json.loads(text) if text.strip() else {}
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        data[provider] = {"started": started.isoformat(timespec="seconds")}
        return json.dumps(data, indent=2) + "\n"

    update_file(state_file(path), mark)


# --- importing files ----------------------------------------------------------------------

def import_suppressions(workspace: Workspace, source: Path) -> MergeResult:
    """Merge a CSV (an email column; reason/date/source columns are used when present) or an
    mbox of RFC 3464 delivery-status reports (their permanent failures) into the file."""
    try:
        head = source.read_bytes()[:5]
    except FileNotFoundError:
        raise InputError(source, "file not found") from None
    rows = read_bounce_mbox(source) if head == b"From " else read_csv_rows(source)
    return merge_suppressions(suppression_file(workspace), rows)


def read_csv_rows(source: Path) -> list[Suppression]:
    _, reader = _csv_records(source)
    rows = []
    for row in reader:
        email = (row.get("email") or "").strip()
        if email:
            date = row.get("date") or row.get("created") or ""
            rows.append(Suppression(email, row.get("reason") or "imported", _day(date),
                                    row.get("source") or f"csv:{source.name}"))
    return rows


def read_bounce_mbox(source: Path) -> list[Suppression]:
    """Permanent failures (``Action: failed``) from the ``message/delivery-status`` parts."""
    rows = []
    for message in mailbox.mbox(source, create=False):
        day = _message_day(message)
        for part in message.walk():
            if part.get_content_type() != "message/delivery-status":
                continue
            for block in part.get_payload()[1:]:  # the first block is about the message, the rest per recipient
                row = _bounce(block, day, source.name)
                if row:
                    rows.append(row)
    return rows


def _bounce(block: Message, day: str, name: str) -> Suppression | None:
    if (block.get("Action") or "").strip().lower() != "failed":
        return None  # delayed, delivered, relayed: not a reason to stop mailing
    recipient = block.get("Final-Recipient") or block.get("Original-Recipient") or ""
    address = recipient.partition(";")[2].strip() if ";" in recipient else recipient.strip()
    if not address:
        return None
    try:
        address = valid_email(address)
    except InputError:
        pass  # suppress exactly what the report says
    status = (block.get("Status") or "").strip()
    diagnostic = " ".join((block.get("Diagnostic-Code") or "").partition(";")[2].split())
    reason = "bounce" + (f": {status}" if status else "") + (f" {diagnostic}" if diagnostic else "")
    return Suppression(address, reason[:200], day, f"mbox:{name}")


def _message_day(message: Message) -> str:
    try:
        return parsedate_to_datetime(message["Date"]).date().isoformat()
    except (TypeError, ValueError):
        return ""


def _day(value: str) -> str:
    """A date as YYYY-MM-DD from what exports write: ISO dates and times, or Unix seconds."""
    value = value.strip()
    if value.isdigit():
        return dt.datetime.fromtimestamp(int(value), dt.timezone.utc).date().isoformat()
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        return value
