"""Sender authentication (`check --online`): SPF, DKIM and DMARC looked up through dnspython in a
real DNS server (dnslib) on 127.0.0.1, named by ``[check] dns``. A bulk audience (over 5,000)
without DMARC fails; with SPF, DKIM and DMARC it passes; a small one only gets warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.check.checks import check_issue
from newsletter.check.sender_auth import sender_auth_check
from newsletter.deliver.providers.sendgrid import SendGridProvider
from newsletter.workspace import find_workspace
from tests.conftest import EXAMPLE_ISSUE
from tests.dns_server import Zone
from tests.send_helpers import _set_table_keys, issue_folder, set_send_settings, write_audience

SPF = 'northwind.example. 60 IN TXT "v=spf1 include:sendgrid.net ~all"\n'
DKIM = ("s1._domainkey.northwind.example. 60 IN CNAME s1.domainkey.u4711.wl012.sendgrid.net.\n"
        "s2._domainkey.northwind.example. 60 IN CNAME s2.domainkey.u4711.wl012.sendgrid.net.\n")
DMARC = '_dmarc.northwind.example. 60 IN TXT "v=DMARC1; p=quarantine; adkim=r; rua=mailto:dmarc@northwind.example"\n'
UNRELATED = 'other.example. 60 IN TXT "v=spf1 -all"\n'


@pytest.fixture
def zone_for(workspace: Path):
    """Serves the given zone and points the workspace's [check] dns at it."""
    zones: list[Zone] = []

    def start(text: str) -> Zone:
        zone = Zone(UNRELATED + text)
        zones.append(zone)
        _set_table_keys(workspace, "check", {"dns": zone.address})
        return zone

    yield start
    for zone in zones:
        zone.stop()


@pytest.fixture
def bulk(workspace: Path) -> Path:
    """SendGrid sends (its s1/s2 DKIM selectors) to 5,001 recipients."""
    set_send_settings(workspace, provider="sendgrid")
    audience = issue_folder(workspace) / "audience.csv"
    write_audience(audience, 5001)
    return workspace


def findings(workspace: Path) -> tuple[int, dict[str, str]]:
    """(errors, {code: severity}) of the sender-authentication findings, as check_issue reports them."""
    report = check_issue(find_workspace(workspace), EXAMPLE_ISSUE, extra=[sender_auth_check(SendGridProvider.dkim_selectors)])
    dns = {f.code: f.severity for f in report.findings if f.place == "DNS"}
    return report.count("error"), dns


def messages(workspace: Path) -> dict[str, str]:
    report = check_issue(find_workspace(workspace), EXAMPLE_ISSUE, extra=[sender_auth_check(SendGridProvider.dkim_selectors)])
    return {f.code: f.message for f in report.findings if f.place == "DNS"}


def test_a_bulk_audience_without_dmarc_fails(bulk: Path, zone_for) -> None:
    zone_for(SPF + DKIM)
    errors, found = findings(bulk)
    assert errors == 1 and found["no-dmarc"] == "error"
    assert found["spf"] == "info" and found["dkim"] == "info"
    text = messages(bulk)["no-dmarc"]
    assert "5,001 recipients" in text and "_dmarc.northwind.example" in text


def test_with_spf_dkim_and_dmarc_a_bulk_audience_passes(bulk: Path, zone_for) -> None:
    zone_for(SPF + DKIM + DMARC)
    errors, found = findings(bulk)
    assert errors == 0, found
    assert {code for code, severity in found.items() if severity != "info"} == set()
    said = messages(bulk)
    assert said["dmarc"].startswith("DMARC for northwind.example at _dmarc.northwind.example: p=quarantine")
    assert "s1, s2" in said["dmarc-aligned"]


def test_a_bulk_audience_without_spf_or_dkim_fails_on_each(bulk: Path, zone_for) -> None:
    zone_for(DMARC)
    errors, found = findings(bulk)
    assert (found["no-spf"], found["no-dkim"], found["dmarc-not-aligned"]) == ("error", "error", "error")
    assert errors == 3


def test_a_small_audience_gets_warnings_only(workspace: Path, zone_for) -> None:
    set_send_settings(workspace, provider="sendgrid")
    zone_for("")  # nothing for northwind.example; the example audience has 6 recipients
    errors, found = findings(workspace)
    assert errors == 0
    assert (found["no-spf"], found["no-dmarc"], found["no-dkim"]) == ("warning", "warning", "warning")


def test_a_selector_from_the_settings_and_a_strict_dmarc_record(workspace: Path, zone_for) -> None:
    _set_table_keys(workspace, "check", {"dkim_selectors": ["nw2026"]})
    zone_for(SPF + 'nw2026._domainkey.northwind.example. 60 IN TXT "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEB"\n'
             '_dmarc.northwind.example. 60 IN TXT "v=DMARC1; p=none; adkim=s; aspf=s"\n')
    said = messages(workspace)
    assert said["dkim"] == "DKIM nw2026._domainkey.northwind.example: a key is published"
    assert "monitoring only" in said["dmarc"] and "DKIM alignment strict" in said["dmarc"]
    assert "nw2026" in said["dmarc-aligned"]
    _set_table_keys(workspace, "check", {"dkim_selectors": ["other"]})
    said = messages(workspace)
    assert "no-dkim" in said and "aspf=s (strict)" in said["dmarc-not-aligned"]


@pytest.mark.slow  # waits for the resolver's time limit (6 s), once
def test_a_resolver_that_does_not_answer_is_one_warning(workspace: Path) -> None:
    _set_table_keys(workspace, "check", {"dns": "127.0.0.1:9"})  # the discard port: nothing answers
    errors, found = findings(workspace)
    assert errors == 0 and found == {"sender-auth-not-checked": "warning"}


@pytest.mark.parametrize("value", ["localhost", "127.0.0.1:dns", "127.0.0.1:70000"])
def test_a_bad_resolver_setting_is_one_line_and_exit_2(cli, workspace: Path, value: str) -> None:
    _set_table_keys(workspace, "check", {"dns": value})
    result = cli("check", EXAMPLE_ISSUE, "--online")
    assert result.code == 2 and result.err.count("\n") == 1
    assert "newsletter.toml:" in result.err and '[check] dns must be "HOST:PORT"' in result.err
