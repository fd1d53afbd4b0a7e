"""Unsubscribing: signed tokens (round trip, tampering, + and non-ASCII addresses), merge values
percent-encoded inside URLs, and SendGrid unsubscribe groups (asm.group_id, the tag in link and
header, a fake URL in preview and the dry run) checked on the real client's requests."""

from __future__ import annotations

import email
import json
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from newsletter.deliver.providers.sendgrid import ASM_PLACEHOLDER, ASM_TAG
from newsletter.render.message import fill
from newsletter.render.unsubscribe import InvalidToken, make_token, verify_token
from tests.conftest import EXAMPLE_ISSUE
from tests.send_helpers import issue_folder, set_send_settings
from tests.sendgrid_server import FakeSendGrid

SECRET = "unsubscribe-secret-for-tests-1234567890"
ODD = ["ann+news@example.org", "zoë.müller+x@exämple.de", "o'brien&co@example.com"]
# What can be sent: a name beyond ASCII before the @ needs SMTPUTF8, an international domain goes
# out punycoded (as written in the audience -> as sent and signed).
SENDABLE = {"ann+news@example.org": "ann+news@example.org", "zoe.mueller+x@exämple.de": "zoe.mueller+x@xn--exmple-cua.de",
            "o'brien&co@example.com": "o'brien&co@example.com"}


@pytest.fixture
def unsubscribe_secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("NEWSLETTER_UNSUBSCRIBE_SECRET", SECRET)
    return SECRET


@pytest.mark.parametrize("address", ODD)
def test_a_token_round_trips_and_a_changed_one_is_refused(address: str, unsubscribe_secret: str) -> None:
    token = make_token(address, "Northwind Notes")
    who = verify_token(token)
    assert (who.email, who.list) == (address, "Northwind Notes")
    assert all(ord(c) < 128 for c in token) and "+" not in token and "/" not in token  # URL-safe as it is
    body, _, signature = token.partition(".")
    other = make_token("someone.else@example.org", "Northwind Notes").partition(".")[0]
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    for forged in (f"{other}.{signature}", f"{flipped}.{signature}", body, token[:-3], "", "not.a-token"):
        with pytest.raises(InvalidToken):
            verify_token(forged)
    with pytest.raises(InvalidToken):
        verify_token(token, key="another-secret")
    with pytest.raises(InvalidToken):  # the list is signed too
        verify_token(make_token(address, "Other list").partition(".")[0] + "." + signature)


def test_verify_on_the_command_line(cli, workspace: Path, unsubscribe_secret: str) -> None:
    token = make_token(ODD[0], "Northwind Notes")
    good = cli("unsubscribe", "verify", token, "--json")
    assert good.code == 0 and json.loads(good.out) == {"valid": True, "email": ODD[0], "list": "Northwind Notes"}
    human = cli("unsubscribe", "verify", token)
    assert human.out.startswith(f'Valid: {ODD[0]} on "Northwind Notes".') and "Next: " in human.out
    bad = cli("unsubscribe", "verify", token[:-4] + "AAAA")
    assert bad.code == 1 and bad.out.startswith("Not valid: the signature does not match")


def test_merge_values_are_percent_encoded_inside_urls_and_escaped_in_text() -> None:
    template = ('<a href="https://x.example/u?e={{email}}&amp;n={{name}}">{{name}} ({{email}})</a>\n'
                "Unsubscribe: https://x.example/u?e={{email}}\n<mailto:u@x.example?subject={{email}}>")
    values = {"email": "ann+news@exämple.org", "name": "Tom & Jerry"}
    html = fill(template, values, escape=True)
    assert 'href="https://x.example/u?e=ann%2Bnews@ex%C3%A4mple.org&amp;n=Tom%20%26%20Jerry"' in html
    assert ">Tom &amp; Jerry (ann+news@exämple.org)</a>" in html
    assert "Unsubscribe: https://x.example/u?e=ann%2Bnews@ex%C3%A4mple.org\n" in html
    assert "subject=ann%2Bnews@ex%C3%A4mple.org>" in html
    assert parse_qs(urlsplit("https://x.example/u?e=ann%2Bnews@ex%C3%A4mple.org").query)["e"] == [values["email"]]


def test_sendgrid_gets_a_verifiable_token_per_recipient_in_link_and_header(
        cli, sendgrid: FakeSendGrid, sendgrid_workspace: Path, unsubscribe_secret: str) -> None:
    settings = sendgrid_workspace / "newsletter.toml"
    settings.write_text(settings.read_text().replace("unsubscribe?email={{email}}", "unsubscribe?token={{unsubscribe_token}}"))
    (issue_folder(sendgrid_workspace) / "audience.csv").write_text(
        "email,first_name\n" + "".join(f"{a},X\n" for a in SENDABLE))
    checked = cli("check", EXAMPLE_ISSUE)
    assert "unsubscribe-mode-own-page-token" in checked.out and "signed token" in checked.out
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 0, result.err
    request = sendgrid.accepted[0]
    assert 'unsubscribe?token={{unsubscribe_token:url}}"' in request["content"][1]["value"]
    assert "unsubscribe?token={{unsubscribe_token:url}}\n" in request["content"][0]["value"]
    for person, address in zip(request["personalizations"], SENDABLE.values()):
        header = person["headers"]["List-Unsubscribe"]
        link = header.split(",")[0].strip("<>")
        token = parse_qs(urlsplit(link).query)["token"][0]  # what the page receives, decoded
        assert verify_token(token).email == address
        assert unquote(person["substitutions"]["{{unsubscribe_token:url}}"]) == token


def test_without_the_secret_a_token_link_is_an_error(cli, workspace: Path) -> None:
    settings = workspace / "newsletter.toml"
    settings.write_text(settings.read_text().replace("?email={{email}}", "?t={{unsubscribe_token}}"))
    assert "no-unsubscribe-secret" in cli("check", EXAMPLE_ISSUE).out
    result = cli("send", EXAMPLE_ISSUE)
    assert result.code == 2 and "NEWSLETTER_UNSUBSCRIBE_SECRET is not set" in result.err


@pytest.fixture
def group_workspace(sendgrid_workspace: Path) -> Path:
    set_send_settings(sendgrid_workspace, sendgrid={"unsubscribe_group": 4242})
    (issue_folder(sendgrid_workspace) / "audience.csv").write_text("email,first_name\nann+news@example.org,Ann\n"
                                                                   "bob@example.org,Bob\n")
    return sendgrid_workspace


def test_an_unsubscribe_group_puts_sendgrid_tags_in_link_and_header(cli, sendgrid: FakeSendGrid,
                                                                    group_workspace: Path) -> None:
    checked = cli("check", EXAMPLE_ISSUE)
    assert "unsubscribe-mode-sendgrid-group" in checked.out and "SendGrid unsubscribe group 4242" in checked.out
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 0, result.err
    assert sendgrid.problems == []
    request = sendgrid.accepted[0]
    assert request["asm"] == {"group_id": 4242}
    text, html = request["content"][0]["value"], request["content"][1]["value"]
    assert f'href="{ASM_TAG}"' in html and f"Unsubscribe: {ASM_TAG}" in text
    assert ASM_PLACEHOLDER not in html + text and "northwind.example/unsubscribe" not in html
    for person in request["personalizations"]:
        assert person["headers"]["List-Unsubscribe"] == f"<{ASM_TAG}>, <mailto:unsubscribe@northwind.example?subject=unsubscribe>"
        assert person["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_preview_and_the_dry_run_show_a_fake_url_for_the_tag(cli, group_workspace: Path) -> None:
    from newsletter.preview.server import PreviewServer
    from newsletter.workspace import find_workspace

    dry = cli("send", EXAMPLE_ISSUE)
    assert dry.code == 0, dry.err
    eml = next((group_workspace / "outbox").rglob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert str(message["List-Unsubscribe"]).strip().startswith(f"<{ASM_PLACEHOLDER}>")
    assert ASM_PLACEHOLDER in message.get_body(("html",)).get_content()
    assert ASM_PLACEHOLDER.endswith("unsubscribe-link") and ".invalid/" in ASM_PLACEHOLDER
    from newsletter.deliver.providers import hosted_unsubscribe

    ws = find_workspace(group_workspace)
    server = PreviewServer(ws, EXAMPLE_ISSUE, hosted=hosted_unsubscribe(ws))
    try:
        assert f'href="{ASM_PLACEHOLDER}"' in server.state.snapshot.html and "<%" not in server.state.snapshot.html
    finally:
        server.httpd.server_close()


def test_a_send_through_smtp_carries_the_workspaces_own_unsubscribe_not_sendgrids(cli, group_workspace: Path) -> None:
    """The provider that sends decides: SMTP hosts no unsubscribe page, so its email links to the
    workspace's own, even with [send] provider = "sendgrid" and its group."""
    set_send_settings(group_workspace, smtp={"host": "127.0.0.1", "port": 9, "security": "none"})
    result = cli("send", EXAMPLE_ISSUE, "--provider", "smtp", "--json")  # the dry run of what smtp would send
    assert result.code == 0, result.err
    eml = next(Path(json.loads(result.out)["outbox"]).glob("*.eml")).read_bytes()
    assert b"northwind.example/unsubscribe" in eml and ASM_PLACEHOLDER.encode() not in eml


def test_the_provider_chosen_for_a_send_decides_the_unsubscribe_and_the_report(cli, sendgrid: FakeSendGrid,
                                                                               group_workspace: Path) -> None:
    """[send] provider stays "outbox": `--provider sendgrid` alone makes it SendGrid's send, link to report."""
    set_send_settings(group_workspace, provider="outbox")
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes", "--provider", "sendgrid")
    assert result.code == 0, result.err
    request = sendgrid.accepted[0]
    assert request["asm"] == {"group_id": 4242}
    html = request["content"][1]["value"]
    assert f'href="{ASM_TAG}"' in html and "northwind.example/unsubscribe" not in html
    assert all(p["headers"]["List-Unsubscribe"].startswith(f"<{ASM_TAG}>") for p in request["personalizations"])
    report = cli("report", EXAMPLE_ISSUE, "--json")
    assert report.code == 0, report.err
    assert json.loads(report.out)["provider"] == "sendgrid"
