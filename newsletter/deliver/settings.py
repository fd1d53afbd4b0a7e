"""The ``[send]`` table: how a send goes out. Each ``[send.NAME]`` table belongs to that provider."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from newsletter.errors import InputError
from newsletter.workspace import SettingsTable

# Keys that moved into a provider's own table; an old workspace gets told where, not ignored.
MOVED_KEYS = {
    "sendgrid_host": "host under [send.sendgrid]",
    "smtp_host": "host under [send.smtp]",
    "smtp_port": "port under [send.smtp]",
    "smtp_security": "security under [send.smtp]",
    "smtp_user": "user under [send.smtp]",
    "rate_limit": "rate_limit under [send.smtp]",
}


@dataclass(frozen=True)
class SendSettings(SettingsTable):
    TABLE = "send"
    # A negative retry count or a zero timeout is an error at the key, not a crash or a hang later;
    # so is a timeout of 1e11 s or a million retries.
    LIMITS = {"max_retries": (0, 100), "batch_size": (1, 10_000), "timeout": (0.001, 3600),
              "max_backoff": (0, 86_400), "sample": (0, 10_000), "schedule_ahead": (0, 4320),
              "concurrency": (1, 64)}

    provider: str = "outbox"  # what --send uses: sendgrid, resend or smtp (outbox is the dry run)
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

    @classmethod
    def prepare(cls, values: dict[str, Any], fail: Callable[[str, str], InputError]) -> dict[str, Any]:
        for key in values:
            if key in MOVED_KEYS:
                raise fail(key, f"{key} in [send] has moved: write it as {MOVED_KEYS[key]}")
        providers = {key: value for key, value in values.items() if isinstance(value, dict)}
        return {**{key: value for key, value in values.items() if key not in providers}, "providers": providers}
