"""Sent from any runner: what a CI machine has (no .env, empty secrets, a fresh clone) and what
it does not (the editor's cache), one test per way the scheduled send used to go wrong."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from newsletter import clock
from tests.conftest import EXAMPLE_ISSUE, write_issue
from tests.send_helpers import issue_folder, set_send_settings

ALL_SECRETS = ("SENDGRID_API_KEY", "RESEND_API_KEY", "SMTP_PASSWORD", "NEWSLETTER_LOG_KEY", "NEWSLETTER_UNSUBSCRIBE_SECRET",
               "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "NEWSLETTER_LLM_API_KEY")


def schedule(workspace: Path, send_at: dt.datetime) -> None:
    path = issue_folder(workspace) / "issue.md"
    text = re.sub(r"(?m)^send_at: .*\n", "", path.read_text(encoding="utf-8"))
    path.write_text(text.replace("audience: audience.csv\n", f"audience: audience.csv\nsend_at: {send_at.isoformat()}\n"),
                    encoding="utf-8")


def from_now(minutes: float) -> dt.datetime:
    return (clock.now() + dt.timedelta(minutes=minutes)).replace(microsecond=0)


@pytest.fixture
def init_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> Path:
    monkeypatch.chdir(tmp_path)
    assert cli("init", "news", "--tool-spec", "newsletter @ git+https://git.example.org/t/newsletter@abc123").code == 0
    monkeypatch.chdir(tmp_path / "news")
    return tmp_path / "news"


# 1. every step of the send job gets every secret it needs


def test_every_step_of_the_send_job_sees_the_secrets(init_workspace: Path) -> None:
    workflow = YAML(typ="safe").load((init_workspace / ".github/workflows/send-scheduled.yml").read_text())
    send = workflow["jobs"]["send"]
    check_step = next(step for step in send["steps"] if "check --due" in step.get("run", ""))
    seen = {**send.get("env", {}), **check_step.get("env", {})}
    for name in ("NEWSLETTER_UNSUBSCRIBE_SECRET", "NEWSLETTER_LOG_KEY", "SENDGRID_API_KEY"):
        assert seen.get(name) == f"${{{{ secrets.{name} }}}}", name


def test_a_signed_token_send_without_its_secret_stops_before_anything_goes(sendgrid_workspace, sendgrid, cli,
                                                                           monkeypatch) -> None:
    settings = sendgrid_workspace / "newsletter.toml"
    settings.write_text(re.sub(r'(?m)^unsubscribe_url = .*$',
                               'unsubscribe_url = "https://northwind.example/u?t={{unsubscribe_token}}"',
                               settings.read_text()))
    monkeypatch.delenv("NEWSLETTER_UNSUBSCRIBE_SECRET", raising=False)
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes", "--force")
    assert result.code == 2 and "NEWSLETTER_UNSUBSCRIBE_SECRET is not set" in result.err
    assert sendgrid.attempts == [] and not (issue_folder(sendgrid_workspace) / "send-log.jsonl").exists()


# 2. no log key and no .env: refused before anything is sent


@pytest.mark.parametrize("key", [None, ""])
def test_a_real_send_without_a_log_key_or_env_file_is_refused(sendgrid_workspace, sendgrid, cli, monkeypatch,
                                                              key) -> None:
    (sendgrid_workspace / ".env").unlink()
    if key is not None:
        monkeypatch.setenv("NEWSLETTER_LOG_KEY", key)  # what GitHub passes for an unset secret
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 2 and result.err.count("\n") == 1, result.err
    assert "NEWSLETTER_LOG_KEY is not set" in result.err and "newsletter secrets" in result.err
    assert sendgrid.attempts == [] and not (sendgrid_workspace / ".env").exists()
    assert not (issue_folder(sendgrid_workspace) / "send-log.jsonl").exists()


def test_two_first_sends_agree_on_one_log_key(workspace: Path) -> None:
    from newsletter.secrets import add_generated

    script = ("import sys; from pathlib import Path; from newsletter.secrets import add_generated; "
              "add_generated(Path(sys.argv[1]), ('NEWSLETTER_LOG_KEY',))")
    runs = [subprocess.Popen([sys.executable, "-c", script, str(workspace / ".env")]) for _ in range(6)]
    assert all(run.wait(60) == 0 for run in runs)
    assert (workspace / ".env").read_text().count("NEWSLETTER_LOG_KEY=") == 1
    assert add_generated(workspace / ".env", ("NEWSLETTER_LOG_KEY",)) == []


# 3. requirements.txt names where the tool came from


def test_init_refuses_to_guess_where_a_folder_install_came_from(tmp_path: Path, cli, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # the test venv installs the tool from this checkout (PEP 610 dir_info)
    result = cli("init", "news")
    assert result.code == 2 and "--tool-spec" in result.err and result.err.count("\n") == 1
    assert not (tmp_path / "news").exists()


@pytest.mark.parametrize("origin, spec", [
    ({"url": "https://git.example.org/t/newsletter.git", "vcs_info": {"vcs": "git", "commit_id": "0f1e2d"}},
     "newsletter @ git+https://git.example.org/t/newsletter.git@0f1e2d"),
    ({"url": "file:///wheels/newsletter-0.1.0-py3-none-any.whl", "archive_info": {}},
     "newsletter @ file:///wheels/newsletter-0.1.0-py3-none-any.whl"),
])
def test_init_pins_the_tool_by_its_pep_610_origin(monkeypatch, origin, spec) -> None:
    from newsletter.cli import scaffold

    class Installed:
        def read_text(self, name: str) -> str | None:
            return json.dumps(origin) if name == "direct_url.json" else None

    monkeypatch.setattr(scaffold.metadata, "distribution", lambda name: Installed())
    assert scaffold.installed_tool_spec() == spec


def test_check_flags_a_bare_tool_name_in_requirements(init_workspace: Path, cli) -> None:
    (init_workspace / "requirements.txt").write_text("# how CI installs it\nnewsletter==0.1.0\n")
    slug = next((init_workspace / "issues").iterdir()).name
    findings = json.loads(cli("check", slug, "--json").out)["findings"]
    bare = [f for f in findings if f["code"] == "tool-requirement-by-name"]
    assert len(bare) == 1 and bare[0]["severity"] == "error" and bare[0]["place"] == "requirements.txt:2"


# 4. one definition of "due"


def test_status_check_and_both_sends_agree_on_due(sendgrid_workspace, sendgrid, cli) -> None:
    schedule(sendgrid_workspace, from_now(30))  # within SendGrid's hold: due now, delivered at send_at
    assert "(due)" in cli("status", EXAMPLE_ISSUE).out
    checked = json.loads(cli("check", "--due", "--json").out)
    assert [report["issue"] for report in checked] == [EXAMPLE_ISSUE]
    dry = json.loads(cli("send", "--due", "--json").out)
    assert [report["issue"] for report in dry] == [EXAMPLE_ISSUE] and dry[0]["dry_run"]
    schedule(sendgrid_workspace, from_now(80 * 60))  # beyond SendGrid's 72 hours: due for nobody
    assert "(not yet due)" in cli("status", EXAMPLE_ISSUE).out
    assert cli("check", "--due", "--json").out.strip() == "[]"
    assert json.loads(cli("send", "--due", "--json").out) == []


def test_with_smtp_only_a_passed_send_at_is_due(workspace: Path, cli) -> None:
    set_send_settings(workspace, provider="smtp", smtp={"host": "127.0.0.1"})
    schedule(workspace, from_now(30))
    assert "(not yet due)" in cli("status", EXAMPLE_ISSUE).out
    schedule(workspace, from_now(-1))
    assert "(due)" in cli("status", EXAMPLE_ISSUE).out


# 5. what the editor approved is what goes out


def test_a_scheduled_send_sends_only_the_approved_email(sendgrid_workspace, sendgrid, cli) -> None:
    schedule(sendgrid_workspace, from_now(-5))
    refused = cli("send", "--due", "--send", "--yes")
    assert refused.code == 2 and "not approved: run 'newsletter approve" in refused.err and sendgrid.attempts == []
    approved = cli("approve", EXAMPLE_ISSUE)
    assert approved.code == 0 and "approved.json" in approved.out
    article = issue_folder(sendgrid_workspace) / "articles" / "compost.txt"
    article.write_text(article.read_text().replace("compost", "mulch"))  # the page changed since
    changed = cli("send", "--due", "--send", "--yes")
    assert changed.code == 2 and "articles/compost.txt changed" in changed.err and "nothing was sent" in changed.err
    assert sendgrid.attempts == []
    article.write_text(article.read_text().replace("mulch", "compost"))
    sent = cli("send", "--due", "--send", "--yes")
    assert sent.code == 0, sent.err
    assert len(sendgrid.delivered) == 6


# 6. no file holding suppressed addresses is staged


def test_git_add_all_stages_no_suppressions_or_skipped_rows(init_workspace: Path) -> None:
    slug = next((init_workspace / "issues").iterdir()).name
    (init_workspace / ".suppressions.csv.pulled.json").write_text("{}")
    (init_workspace / "issues" / slug / "skipped-rows.csv").write_text("line,email\n3,bad@\n")
    (init_workspace / ".env").write_text("NEWSLETTER_LOG_KEY=x\n")
    subprocess.run(["git", "init", "-q"], cwd=init_workspace, check=True)
    subprocess.run(["git", "add", "-A"], cwd=init_workspace, check=True)
    staged = subprocess.run(["git", "diff", "--cached", "--name-only"], cwd=init_workspace, check=True,
                            capture_output=True, text=True).stdout.split()
    assert "newsletter.toml" in staged
    assert not [name for name in staged if "suppressions" in name or "skipped-rows" in name or ".env" == name]


# 7. test copies read as a reader's, and are tagged apart


def test_a_test_copy_is_filled_from_the_first_reader_and_tagged_apart(workspace: Path, cli) -> None:
    audience = (issue_folder(workspace) / "audience.csv").read_text().splitlines()
    columns, first = audience[0].split(","), dict(zip(audience[0].split(","), audience[1].split(",")))
    assert "first_name" in columns
    result = cli("send", EXAMPLE_ISSUE, "--to", "editor@northwind.example", "--json")
    assert result.code == 0, result.err
    outbox = Path(json.loads(result.out)["outbox"])
    message = json.loads((outbox / "message.json").read_text())
    assert EXAMPLE_ISSUE not in message["categories"] and f"{EXAMPLE_ISSUE}-test" in message["categories"]
    eml = next(outbox.glob("*.eml")).read_bytes()
    assert b"{{first_name}}" not in eml and first["first_name"].encode() in eml
    second = dict(zip(columns, audience[2].split(",")))
    chosen = cli("send", EXAMPLE_ISSUE, "--to", "editor@northwind.example", "--as", second["email"], "--json")
    eml = next(Path(json.loads(chosen.out)["outbox"]).glob("*.eml")).read_bytes()
    assert second["first_name"].encode() in eml


# 8. nothing leaves before the confirmation


def test_without_a_confirmation_nothing_is_published(sendgrid_workspace, sendgrid, cli, monkeypatch) -> None:
    settings = sendgrid_workspace / "newsletter.toml"
    settings.write_text(settings.read_text().replace('# bucket = "s3://northwind-web/newsletter"',
                                                     'bucket = "s3://northwind-web/newsletter"'))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # would fail loudly if anything tried
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setattr(sys, "stdin", None)
    result = cli("send", EXAMPLE_ISSUE, "--send")
    assert result.code == 2 and "refusing to send without a confirmation" in result.err
    assert "Published" not in result.err and "bucket" not in result.err and sendgrid.attempts == []


# 9. one command makes the secrets the tool can make


def test_secrets_makes_the_generated_ones_once_and_shows_no_value(workspace: Path, cli) -> None:
    first = cli("secrets")
    assert first.code == 0 and "added NEWSLETTER_LOG_KEY, NEWSLETTER_UNSUBSCRIBE_SECRET" in first.out
    env = (workspace / ".env").read_text()
    values = re.findall(r"(?m)^(NEWSLETTER_\w+)=(\S+)$", env)
    assert [name for name, _ in values] == ["NEWSLETTER_LOG_KEY", "NEWSLETTER_UNSUBSCRIBE_SECRET"]
    assert all(value not in first.out for _, value in values)
    assert "gh secret set NEWSLETTER_LOG_KEY" in first.out
    again = cli("secrets", "--json")
    assert json.loads(again.out)["added"] == [] and (workspace / ".env").read_text() == env


def test_env_example_lists_every_secret(init_workspace: Path) -> None:
    listed = re.findall(r"(?m)^(\w+)=$", (init_workspace / ".env.example").read_text())
    assert sorted(listed) == sorted(ALL_SECRETS)


# 10. every failure names what to fix


def test_an_unreachable_api_host_is_named(sendgrid_workspace, cli, monkeypatch) -> None:
    monkeypatch.setenv("SENDGRID_API_HOST", "http://127.0.0.1:9")
    set_send_settings(sendgrid_workspace, max_retries=0)
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 1 and "SENDGRID_API_HOST" in result.err and "127.0.0.1:9" in result.err


def test_a_refused_key_names_the_secret(sendgrid_workspace, sendgrid, cli, monkeypatch) -> None:
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.wrong-key-0123456789")
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 1 and "401" in result.err and "SENDGRID_API_KEY" in result.err
    assert "SG.wrong-key-0123456789" not in result.err


@pytest.mark.slow
def test_preview_prints_its_address_into_a_pipe(workspace: Path) -> None:
    preview = subprocess.Popen([sys.executable, "-m", "newsletter", "preview", EXAMPLE_ISSUE, "--port", "0",
                                "--no-open"], cwd=workspace, stdout=subprocess.PIPE, text=True)
    try:
        line = preview.stdout.readline()
    finally:
        preview.kill()
        preview.wait()
    assert re.search(r"at http://127\.0\.0\.1:\d+/", line), line


def test_a_key_without_its_colon_is_reported_on_its_own_line(workspace: Path, cli) -> None:
    write_issue(workspace / "issues" / "broken", 'subject: "Spring"\nsections:\n  - title: News\n  articles\n')
    result = cli("build", "broken")
    assert result.code == 2 and "issue.md:5:" in result.err and "without its ':'" in result.err


# 11. a workflow that fits a private repository's free minutes


def runs_a_month(cron: str, pushes: int) -> int:
    minute, hour, *_ = cron.split()
    per_hour = 60 // int(minute[2:]) if minute.startswith("*/") else 1
    per_day = per_hour * (24 if hour == "*" else 1)
    return 30 * per_day + pushes


def test_the_sendgrid_workflow_runs_daily_and_on_push(init_workspace: Path, tmp_path: Path, cli) -> None:
    workflow = YAML(typ="safe").load((init_workspace / ".github/workflows/send-scheduled.yml").read_text())
    triggers = workflow["on"]
    assert triggers["push"]["paths"] == ["issues/**"]
    assert runs_a_month(triggers["schedule"][0]["cron"], pushes=4) <= 40
    assert cli("init", str(tmp_path / "by-smtp"), "--provider", "smtp", "--tool-spec", "x @ file:///x.whl").code == 0
    smtp = YAML(typ="safe").load((tmp_path / "by-smtp/.github/workflows/send-scheduled.yml").read_text())
    assert smtp["on"]["schedule"][0]["cron"] == "*/15 * * * *"


# 12. a scheduled send can be called back


def test_cancel_calls_back_a_scheduled_send_while_sendgrid_allows(sendgrid_workspace, sendgrid, cli) -> None:
    schedule(sendgrid_workspace, from_now(120))
    assert cli("approve", EXAMPLE_ISSUE).code == 0
    assert cli("send", "--due", "--send", "--yes").code == 0 and len(sendgrid.delivered) == 6
    result = cli("cancel", EXAMPLE_ISSUE, "--yes")
    assert result.code == 0 and "Cancelled" in result.out, result.err
    assert sendgrid.delivered == [] and sendgrid.cancelled
    again = cli("send", "--due", "--send", "--yes")
    assert "No scheduled issue is due." in again.out and sendgrid.delivered == []


def test_cancel_says_when_it_is_too_late(sendgrid_workspace, sendgrid, cli, monkeypatch) -> None:
    send_at = from_now(20)
    schedule(sendgrid_workspace, send_at)
    assert cli("approve", EXAMPLE_ISSUE).code == 0
    assert cli("send", "--due", "--send", "--yes").code == 0
    later = send_at - dt.timedelta(minutes=5)  # time passes (the clock seam, SendGrid's too): 5 minutes to go
    monkeypatch.setattr(clock, "now", lambda: later)
    sendgrid.clock = later.timestamp
    result = cli("cancel", EXAMPLE_ISSUE, "--yes")
    assert result.code == 1 and "Too late to cancel" in result.out and "10 minutes" in result.out
    assert not sendgrid.cancelled and len(sendgrid.delivered) == 6

