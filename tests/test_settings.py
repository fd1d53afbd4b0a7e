"""newsletter.toml: one validator with file:line and "did you mean"; provider tables; moved keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_ISSUE
from tests.send_helpers import set_send_settings


def settings_line(workspace: Path, text: str) -> int:
    lines = (workspace / "newsletter.toml").read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if line.startswith(text))


def one_line_error(result) -> str:
    assert result.code == 2, (result.out, result.err)
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    return result.err.strip()


@pytest.mark.parametrize("old, new", [("smtp_host", "host under [send.smtp]"),
                                      ("sendgrid_host", "host under [send.sendgrid]"),
                                      ("rate_limit", "rate_limit under [send.smtp]")])
def test_a_moved_key_names_its_new_place(workspace: Path, cli, old: str, new: str) -> None:
    set_send_settings(workspace, **{old: "x" if old != "rate_limit" else 5})
    error = one_line_error(cli("build", EXAMPLE_ISSUE))
    assert error == (f"newsletter: newsletter.toml:{settings_line(workspace, old)}: {old} in [send] has moved: "
                     f"write it as {new}")


def test_a_misspelt_key_gets_a_suggestion_and_its_line(workspace: Path, cli) -> None:
    path = workspace / "newsletter.toml"
    path.write_text(path.read_text().replace("sender =", "sendr =", 1))
    error = one_line_error(cli("build", EXAMPLE_ISSUE))
    assert error.startswith(f"newsletter: newsletter.toml:{settings_line(workspace, 'sendr')}: unknown key 'sendr'")
    assert "did you mean 'sender'?" in error


def test_a_provider_table_is_checked_by_its_provider(workspace: Path, cli) -> None:
    set_send_settings(workspace, smtp={"hots": "mail.example.org"})
    error = one_line_error(cli("send", EXAMPLE_ISSUE))
    assert f"newsletter.toml:{settings_line(workspace, 'hots')}: unknown key 'hots' in [send.smtp]" in error
    assert "did you mean 'host'?" in error


def test_an_unknown_provider_table_is_named(workspace: Path, cli) -> None:
    set_send_settings(workspace, sendgird={"host": "https://api.sendgrid.com"})
    error = one_line_error(cli("send", EXAMPLE_ISSUE))
    assert f"newsletter.toml:{settings_line(workspace, '[send.sendgird]')}: unknown table [send.sendgird]" in error
    assert "did you mean 'sendgrid'?" in error


def test_smtp_without_a_host_fails_before_any_connection(workspace: Path, cli) -> None:
    set_send_settings(workspace, provider="smtp")
    error = one_line_error(cli("send", EXAMPLE_ISSUE, "--send", "--yes"))
    assert "[send.smtp] host is not set" in error


def test_date_order_is_checked_once_at_load(workspace: Path, cli) -> None:
    path = workspace / "newsletter.toml"
    path.write_text(path.read_text().replace('date_order = "DMY"', 'date_order = "DYM"', 1))
    error = one_line_error(cli("build", EXAMPLE_ISSUE))
    assert f"newsletter.toml:{settings_line(workspace, 'date_order')}: date_order must be one of DMY, MDY" in error


def test_wrong_types_and_binary_settings_are_one_line_errors(workspace: Path, cli) -> None:
    set_send_settings(workspace, max_retries="three")
    assert "max_retries must be a whole number, not str 'three'" in one_line_error(cli("build", EXAMPLE_ISSUE))
    (workspace / "newsletter.toml").write_bytes(b"\xff\xfe\x00binary")
    assert "newsletter.toml: not UTF-8 text" in one_line_error(cli("build", EXAMPLE_ISSUE))
