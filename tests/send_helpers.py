"""Shared parts of the send tests: settings, generated audiences, the fake SendGrid fixture."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_ISSUE
from tests.sendgrid_server import FakeSendGrid

FAKE_KEY = "SG.fake-key-0123456789-must-never-appear"


def set_send_settings(workspace: Path, **values: object) -> None:
    """Set keys of newsletter.toml's [send] table, replacing any that are there; a mapping value
    (``smtp={"host": ...}``) sets keys of that provider's own ``[send.NAME]`` table."""
    for name, table in [(key, value) for key, value in values.items() if isinstance(value, dict)]:
        _set_table_keys(workspace, f"send.{name}", table)
    _set_table_keys(workspace, "send", {key: value for key, value in values.items() if not isinstance(value, dict)})


def _set_table_keys(workspace: Path, table: str, values: dict) -> None:
    path = workspace / "newsletter.toml"
    text = path.read_text(encoding="utf-8")
    header = f"[{table}]\n"
    if header not in text:
        text = text.rstrip("\n") + f"\n\n{header}"
    start = text.index(header) + len(header)
    end = text.find("\n[", start)
    end = len(text) if end < 0 else end + 1
    body = text[start:end]
    for key, value in values.items():
        line = f"{key} = {json.dumps(value)}"
        body, found = re.subn(rf"(?m)^{key}\s*=.*$", line, body)
        if not found:
            body = f"{line}\n{body}"
    path.write_text(text[:start] + body + text[end:], encoding="utf-8")


def write_audience(path: Path, count: int, extra_rows: str = "") -> list[str]:
    """``count`` generated subscribers (plus raw ``extra_rows``); returns their addresses."""
    emails = [f"reader{number:05d}@example.org" for number in range(count)]
    rows = "".join(f"{email},Reader{number}\n" for number, email in enumerate(emails))
    path.write_text(f"email,first_name\n{rows}{extra_rows}", encoding="utf-8")
    return emails


def issue_folder(workspace: Path) -> Path:
    return workspace / "issues" / EXAMPLE_ISSUE


def log_events(workspace: Path) -> list[dict]:
    path = issue_folder(workspace) / "send-log.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def copies(delivered: list[str]) -> Counter[str]:
    return Counter(address.lower() for address in delivered)


@pytest.fixture(autouse=True)
def _own_log_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key a send creates (and load_dotenv sets) stays in os.environ: undo it after each test."""
    monkeypatch.setenv("NEWSLETTER_LOG_KEY", "")
    monkeypatch.delenv("NEWSLETTER_LOG_KEY")
    # Likewise the unsubscribe secret that `init` writes to a new workspace's .env.
    monkeypatch.setenv("NEWSLETTER_UNSUBSCRIBE_SECRET", "")
    monkeypatch.delenv("NEWSLETTER_UNSUBSCRIBE_SECRET")


def log_key(workspace: Path):
    """The send-log key the workspace's first send wrote to .env."""
    from dotenv import dotenv_values

    from newsletter.deliver.sendlog import LogKey

    return LogKey(dotenv_values(workspace / ".env")["NEWSLETTER_LOG_KEY"].encode())


@pytest.fixture
def sendgrid():
    server = FakeSendGrid(FAKE_KEY)
    yield server
    server.stop()


@pytest.fixture
def sendgrid_workspace(workspace: Path, sendgrid: FakeSendGrid, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example workspace sending through the fake SendGrid, with tiny waits between retries."""
    monkeypatch.setenv("SENDGRID_API_KEY", FAKE_KEY)
    monkeypatch.delenv("SENDGRID_API_HOST", raising=False)
    set_send_settings(workspace, provider="sendgrid", sendgrid={"host": sendgrid.url}, timeout=5, max_backoff=0.01,
                      max_retries=3)
    return workspace
