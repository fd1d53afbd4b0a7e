"""`send_issue` keeps a send safe whoever calls it: a script gets the same gate, the same
publishing first and the same pulled suppressions as the command line."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from newsletter.deliver.send import choose_provider, plan_send, send_issue
from newsletter.deliver.settings import SendSettings
from newsletter.errors import SendError
from newsletter.workspace import find_workspace
from tests.conftest import EXAMPLE_ISSUE
from tests.send_helpers import set_send_settings, write_audience
from tests.sendgrid_server import Fault
from tests.test_publish import BUCKET, configure, s3, s3_server  # noqa: F401 (fixtures)


def confirmed(plan, provider) -> None:
    """A script's own confirmation: it already decided."""


def send_from_python(root: Path):
    workspace = find_workspace(root)
    plan = plan_send(workspace, EXAMPLE_ISSUE)
    provider = choose_provider(workspace, send=True)
    return send_issue(plan, provider, workspace.table(SendSettings), confirmed)


def test_a_script_gets_the_check_gate(sendgrid_workspace: Path, sendgrid) -> None:
    settings = sendgrid_workspace / "newsletter.toml"
    settings.write_text(re.sub(r"(?m)^postal_address = .*\n", "", settings.read_text()))  # a check error
    with pytest.raises(SendError, match=r"'newsletter check .*' found 1 error"):
        send_from_python(sendgrid_workspace)
    assert sendgrid.attempts == [] and not (sendgrid_workspace / "issues" / EXAMPLE_ISSUE / "send-log.jsonl").exists()


@pytest.mark.slow
def test_a_script_publishes_first_and_skips_a_pulled_bounce(sendgrid_workspace: Path, sendgrid, s3,  # noqa: F811
                                                            s3_server: str) -> None:  # noqa: F811
    configure(sendgrid_workspace, s3_server)
    audience = write_audience(sendgrid_workspace / "issues" / EXAMPLE_ISSUE / "audience.csv", 4)
    sendgrid.suppressions["bounces"] = [{"created": 1_700_000_000, "email": audience[1], "reason": "550 5.1.1"}]
    set_send_settings(sendgrid_workspace, pull_suppressions=True)
    in_bucket_at_send: list[int] = []
    sendgrid.every_request = Fault(before=lambda: in_bucket_at_send.append(s3.list_objects_v2(
        Bucket=BUCKET).get("KeyCount", 0)))

    result = send_from_python(sendgrid_workspace)
    assert result.accepted == 3
    assert sorted(sendgrid.delivered) == sorted(set(audience) - {audience[1]})
    assert in_bucket_at_send and all(count > 0 for count in in_bucket_at_send), "published before the first request"
    html = next(c["value"] for c in sendgrid.accepted[0]["content"] if c["type"] == "text/html")
    images = re.findall(r'<img[^>]*\ssrc="([^"]+)"', html)
    assert images and all(httpx.get(src).status_code == 200 for src in images)
