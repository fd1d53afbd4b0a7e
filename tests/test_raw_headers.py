"""List-Unsubscribe as it leaves, read from raw bytes (never a parsed message: Python's parser
would decode an RFC 2047-encoded header again and hide the fault): the outbox .eml, what a real
SMTP server (aiosmtpd) receives, and the JSON body the SendGrid stand-in receives."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from newsletter.render.unsubscribe import make_token
from tests.conftest import EXAMPLE_ISSUE
from tests.send_helpers import issue_folder, set_send_settings
from tests.sendgrid_server import FakeSendGrid
from tests.smtp_server import PASSWORD, USER, Mailbox, start_server

SECRET = "raw-header-secret-for-tests-0123456789"
BASE = "https://northwind.example/newsletter/preferences/unsubscribe/confirm?list=northwind-notes&source=email&token="
ADDRESSES = ["ann.long-address-for-tests@example.org", "bob@example.org"]


def expected_url(address: str) -> str:
    url = BASE + make_token(address, "Northwind Notes", SECRET)
    assert len(url) >= 200  # the case the default email policy breaks (a word over 78 characters)
    return url


@pytest.fixture
def token_workspace(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEWSLETTER_UNSUBSCRIBE_SECRET", SECRET)
    settings = workspace / "newsletter.toml"
    settings.write_text(settings.read_text().replace("https://northwind.example/unsubscribe?email={{email}}",
                                                     BASE + "{{unsubscribe_token}}"))
    (issue_folder(workspace) / "audience.csv").write_text(
        "email,first_name\n" + "".join(f"{a},X\n" for a in ADDRESSES))
    return workspace


def assert_raw_headers(raw: bytes, address: str) -> None:
    """The header lines as bytes: the https link readable, one-click next to it, nothing encoded,
    no line over 998 characters."""
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    head = lines[: lines.index(b"")]
    assert max(len(line) for line in lines) <= 998
    unsubscribe = [line for line in head if line.lower().startswith(b"list-unsubscribe:")]
    assert unsubscribe == [f"List-Unsubscribe: <{expected_url(address)}>, "
                           f"<mailto:unsubscribe@northwind.example?subject=unsubscribe>".encode()]
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in head
    assert not any(b"=?" in line for line in head if line.lower().startswith(b"list-"))


def test_the_outbox_eml_carries_the_header_raw(cli, token_workspace: Path) -> None:
    set_send_settings(token_workspace, sample=5)
    result = cli("send", EXAMPLE_ISSUE)
    assert result.code == 0, result.err
    emls = sorted((token_workspace / "outbox").rglob("*.eml"))
    assert len(emls) == 2
    for eml, address in zip(emls, ADDRESSES):
        assert_raw_headers(eml.read_bytes(), address)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_an_smtp_server_receives_the_header_raw(cli, token_workspace: Path, certificate,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    mailbox = Mailbox()
    controller = start_server(mailbox, *certificate, security="starttls")
    try:
        monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
        set_send_settings(token_workspace, provider="smtp", max_retries=0, timeout=5,
                          smtp={"host": "127.0.0.1", "port": controller.port, "security": "starttls", "user": USER})
        result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
        assert result.code == 0, result.err
    finally:
        controller.stop()
    assert sorted(item.recipients[0] for item in mailbox.received) == sorted(ADDRESSES)
    for item in mailbox.received:
        assert_raw_headers(item.raw, item.recipients[0])


def test_the_sendgrid_payload_carries_the_header_raw(cli, sendgrid: FakeSendGrid, sendgrid_workspace: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSLETTER_UNSUBSCRIBE_SECRET", SECRET)
    settings = sendgrid_workspace / "newsletter.toml"
    settings.write_text(settings.read_text().replace("https://northwind.example/unsubscribe?email={{email}}",
                                                     BASE + "{{unsubscribe_token}}"))
    (issue_folder(sendgrid_workspace) / "audience.csv").write_text(
        "email,first_name\n" + "".join(f"{a},X\n" for a in ADDRESSES))
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 0, result.err
    sent = [attempt.raw for attempt in sendgrid.attempts if attempt.raw and b"personalizations" in attempt.raw]
    assert sent
    raw = b"".join(sent)
    assert b"=?utf-8?" not in raw.lower()
    for address in ADDRESSES:
        # The header value as a JSON string in the bytes SendGrid reads (JSON escapes "/" optionally: undo only that).
        values = re.findall(rb'"List-Unsubscribe": ?"([^"]*)"', raw)
        wanted = f"<{expected_url(address)}>, <mailto:unsubscribe@northwind.example?subject=unsubscribe>"
        assert wanted in [json.loads(b'"' + value + b'"') for value in values]
        assert all(b"\\n" not in value and b"\\r" not in value for value in values)
    assert raw.count(b'"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"') + \
        raw.count(b'"List-Unsubscribe-Post":"List-Unsubscribe=One-Click"') >= 1


def test_a_header_over_998_characters_folds_between_its_targets_never_inside_a_url() -> None:
    from newsletter.compose.audience import Recipient
    from newsletter.render.message import Campaign, build_message

    first, second = "https://a.example/u?t=" + "a" * 600, "https://b.example/u?t=" + "b" * 600
    campaign = Campaign(slug="s", subject="Hello", html="<p>Hi</p>", text="Hi", sender="N <news@northwind.example>",
                        headers={"List-Unsubscribe": f"<{first}>, <{second}>"})
    raw = bytes(build_message(campaign, Recipient("ann@example.org")))
    lines = raw.split(b"\n")
    assert max(len(line.rstrip(b"\r")) for line in lines) <= 998
    assert f"List-Unsubscribe: <{first}>,".encode() in lines
    assert f" <{second}>".encode() in lines
