"""The dry run: the outbox provider writes exactly what would go out, and sends nothing."""

from __future__ import annotations

import csv
import json
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_ISSUE


def only_run(workspace: Path) -> Path:
    runs = list((workspace / "outbox" / EXAMPLE_ISSUE).iterdir())
    assert len(runs) == 1, runs
    return runs[0]


def read_eml(path: Path) -> EmailMessage:
    return message_from_bytes(path.read_bytes(), policy=policy.default)


@pytest.fixture
def audience(workspace: Path) -> list[dict]:
    with open(workspace / "issues" / EXAMPLE_ISSUE / "audience.csv", newline="") as file:
        return list(csv.DictReader(file))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_dry_run_writes_samples_record_and_manifest(workspace: Path, cli, audience: list[dict]) -> None:
    result = cli("send", EXAMPLE_ISSUE)
    assert result.code == 0, result.err
    assert "nothing was sent" in result.out
    run = only_run(workspace)
    emls = sorted(run.glob("*.eml"))
    assert len(emls) == 3  # [send] sample in newsletter.toml
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["dry_run"] is True and manifest["recipients"] == len(audience)
    recipients = read_jsonl(run / "recipients.jsonl")
    assert [r["email"] for r in recipients] == [row["email"] for row in audience]
    assert {r["batch"] for r in recipients} == {"1.1"}


def test_each_sample_is_a_complete_personalised_message(workspace: Path, cli, audience: list[dict]) -> None:
    assert cli("send", EXAMPLE_ISSUE).code == 0
    first = read_eml(sorted(only_run(workspace).glob("*.eml"))[0])
    person = audience[0]
    assert first.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in first.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert first["To"].addresses[0].addr_spec == person["email"]
    assert first["Subject"] == "Winter pruning, leaf mould & a seed library"
    assert first["Message-ID"].endswith("@northwind.example>")
    assert first["Date"]
    assert f"unsubscribe?email={person['email']}" in first["List-Unsubscribe"]
    assert "mailto:unsubscribe@northwind.example" in first["List-Unsubscribe"]
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = first.get_body(("plain",)).get_content()
    html = first.get_body(("html",)).get_content()
    assert f"Hello {person['first_name']}," in text and f"Hello {person['first_name']}," in html
    assert "{{" not in text and "{{" not in html


def test_the_record_is_provider_neutral_shared_parts_once_then_merge_values(workspace: Path, cli,
                                                                            audience: list[dict]) -> None:
    assert cli("send", EXAMPLE_ISSUE).code == 0
    run = only_run(workspace)
    shared = json.loads((run / "message.json").read_text())
    assert "Hello {{first_name}}," in shared["html"] and "Hello {{first_name}}," in shared["text"]
    assert "first_name" in shared["merge_fields"] and shared["subject"]
    assert shared["from"]["email"].endswith("@northwind.example")
    assert "{{email}}" in shared["headers"]["List-Unsubscribe"]
    first = read_jsonl(run / "recipients.jsonl")[0]
    assert first["fields"]["first_name"] == audience[0]["first_name"]
    assert first["name"].startswith(audience[0]["first_name"])
    # Nothing SendGrid-shaped: the dry run does not assume the provider a real send would use.
    assert not (run / "payload.json").exists()
    assert "personalizations" not in (run / "recipients.jsonl").read_text()


def test_test_send_and_limit(workspace: Path, cli) -> None:
    result = cli("send", EXAMPLE_ISSUE, "--to", "editor@example.org", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["recipients"] == 1 and report["dry_run"] is True
    message = read_eml(Path(report["outbox"]) / report["files"][0])
    assert message["Subject"].startswith("[TEST] ")
    assert message["To"].addresses[0].addr_spec == "editor@example.org"
    limited = json.loads(cli("send", EXAMPLE_ISSUE, "--limit", "1", "--json").out)
    assert limited["recipients"] == 1


def test_audience_is_deduplicated_case_insensitively(workspace: Path, cli, audience: list[dict]) -> None:
    csv_path = workspace / "issues" / EXAMPLE_ISSUE / "audience.csv"
    csv_path.write_text(csv_path.read_text() + audience[0]["email"].upper() + ",Again\n")
    report = json.loads(cli("send", EXAMPLE_ISSUE, "--json").out)
    assert report["recipients"] == len(audience)


def test_send_repeats_the_builds_warnings(workspace: Path, cli) -> None:
    issue = workspace / "issues" / EXAMPLE_ISSUE / "issue.md"
    text = issue.read_text().replace("audience: audience.csv", "audience: audience.csv\nskip_broken: true", 1)
    issue.write_text(text.replace("articles/seed-library.txt", "articles/gone.txt", 1))
    result = cli("send", EXAMPLE_ISSUE)
    assert result.code == 0, result.err
    assert "newsletter: warning: " in result.err and "articles/gone.txt: file not found" in result.err


def test_recipient_lines_are_exactly_what_json_writes() -> None:
    """recipients.jsonl lines are put together from pre-encoded parts, for speed: they must
    still be the JSON of each recipient, odd field names and values included."""
    from newsletter.compose.audience import Batch, Recipient
    from newsletter.deliver.providers.outbox import _recipient_lines

    people = [Recipient("ana@example.org", {"first_name": 'Ré "{x}"', "we{i}rd}": "line\nbreak\\"}),
              Recipient("bo@example.org", {"first_name": "Bo", "we{i}rd}": ""}),
              Recipient("cy@example.org"), Recipient("di@example.org", {"z": "😀"})]
    lines = _recipient_lines(Batch("3.7", people)).splitlines()
    assert lines == [json.dumps({"batch": "3.7", "email": r.email, "name": r.name, "fields": r.fields},
                                ensure_ascii=False) for r in people]
