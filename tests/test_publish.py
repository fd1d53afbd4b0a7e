"""`newsletter publish` and the publish-before-send gate, against moto's S3 server on loopback."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from newsletter.errors import InputError
from newsletter.publish.site import refuse_unready
from newsletter.render.build import build_issue
from newsletter.workspace import find_workspace
from tests.conftest import EXAMPLE_ISSUE, PROJECT

BUCKET = "northwind-news"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3 in server mode on a free loopback port; yields its endpoint URL."""
    port = free_port()
    executable = Path(sys.executable).parent / "moto_server"
    process = subprocess.Popen([str(executable), "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(endpoint, timeout=0.5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("moto_server did not start")
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def s3(s3_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Dummy credentials and the endpoint from the environment, as boto3 reads them; an empty bucket."""
    import boto3

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": s3_server,
                        "AWS_CONFIG_FILE": str(tmp_path / "none"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3")
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []) if _exists(client) else []:
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    if not _exists(client):
        client.create_bucket(Bucket=BUCKET)
        # Public reads, as a bucket behind a website is set up (the tool never changes access rules).
        client.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}))
    return client


def _exists(client) -> bool:
    return any(b["Name"] == BUCKET for b in client.list_buckets().get("Buckets", []))


def configure(workspace: Path, endpoint: str) -> str:
    """archive_url served by moto (path-style: /BUCKET/KEY) and [publish] bucket; returns the public base."""
    base = f"{endpoint}/{BUCKET}/letters/"
    settings = workspace / "newsletter.toml"
    text = re.sub(r'(?m)^archive_url = .*$', f'archive_url = "{base}{{slug}}/"', settings.read_text())
    text, found = re.subn(r'(?m)^# bucket = .*$', f'bucket = "s3://{BUCKET}/letters"', text)
    assert found == 1, "the example newsletter.toml lists [publish] with the bucket commented"
    settings.write_text(text)
    return base


def test_publish_uploads_page_images_and_index_once(workspace: Path, s3, s3_server: str, cli) -> None:
    base = configure(workspace, s3_server)
    first = cli("publish", EXAMPLE_ISSUE, "--json")
    assert first.code == 0, first.err
    report = json.loads(first.out)
    keys = set(report["uploaded"])
    image_keys = [key for key in keys if "/images/" in key]
    assert {"letters/index.html", f"letters/{EXAMPLE_ISSUE}/index.html"} <= keys and len(image_keys) == 1
    assert re.fullmatch(rf"letters/{EXAMPLE_ISSUE}/images/[0-9a-f]{{20}}\.png", image_keys[0])

    page = s3.head_object(Bucket=BUCKET, Key=f"letters/{EXAMPLE_ISSUE}/index.html")
    assert page["ContentType"] == "text/html; charset=utf-8" and page["CacheControl"] == "public, max-age=300"
    image = s3.head_object(Bucket=BUCKET, Key=image_keys[0])
    assert image["ContentType"] == "image/png" and "immutable" in image["CacheControl"]

    again = json.loads(cli("publish", EXAMPLE_ISSUE, "--json").out)
    assert again["uploaded"] == [] and set(again["unchanged"]) == keys  # idempotent: nothing re-sent

    sent = build_issue(find_workspace(workspace), EXAMPLE_ISSUE).rendered.html
    sources = re.findall(r'<img[^>]*\ssrc="([^"]+)"', sent)
    assert sources and all(src.startswith(base) for src in sources)
    for src in sources:  # every image in the email loads from where it was published
        answer = httpx.get(src)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("image/"), src
    web = httpx.get(f"{base}{EXAMPLE_ISSUE}/index.html")
    assert web.status_code == 200 and "Winter pruning" in web.text


def test_human_output_and_missing_bucket_setting(workspace: Path, s3, s3_server: str, cli) -> None:
    result = cli("publish", EXAMPLE_ISSUE)
    assert result.code == 2 and "set [publish] bucket" in result.err
    configure(workspace, s3_server)
    result = cli("publish", EXAMPLE_ISSUE)
    assert result.code == 0 and result.out.startswith(f"Published 1 issue to s3://{BUCKET}/letters/: 3 files uploaded")
    assert result.out.splitlines()[-1].startswith("Next: ")


def test_send_publishes_first(sendgrid_workspace: Path, sendgrid, s3, s3_server: str, cli) -> None:
    configure(sendgrid_workspace, s3_server)
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes", "--to", "editor@example.org")
    assert result.code == 0, result.err
    assert "Published" in result.err and sendgrid.delivered == ["editor@example.org"]
    html = next(c["value"] for c in sendgrid.accepted[0]["content"] if c["type"] == "text/html")
    for src in re.findall(r'<img[^>]*\ssrc="([^"]+)"', html):
        assert httpx.get(src).headers["content-type"].startswith("image/")


def test_send_refuses_relative_or_unpublished_images(sendgrid_workspace: Path, sendgrid, s3, s3_server: str,
                                                     cli) -> None:
    settings = sendgrid_workspace / "newsletter.toml"
    settings.write_text(re.sub(r'(?m)^archive_url = .*$', 'archive_url = ""', settings.read_text()))
    checked = cli("send", EXAMPLE_ISSUE, "--send", "--yes", "--to", "editor@example.org")
    assert checked.code == 1 and "error relative-image-url" in checked.err and "--force" in checked.err
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes", "--to", "editor@example.org", "--force")
    assert result.code == 2 and sendgrid.delivered == []
    assert re.fullmatch(r"(?s).*sending despite 1 check error \(--force\)\n"r"newsletter: refusing to send: the email names images/[0-9a-f]{20}\.png, a relative "
                        r"address no inbox can load; set archive_url \(and \[publish\]\) in newsletter.toml\n", result.err)

    configure(sendgrid_workspace, s3_server)  # absolute now, but the bucket is still empty
    plan_html = build_issue(find_workspace(sendgrid_workspace), EXAMPLE_ISSUE).rendered.html
    with pytest.raises(InputError, match=rf"refusing to send: {re.escape(s3_server)}/\S+ is not published yet"):
        refuse_unready(find_workspace(sendgrid_workspace), EXAMPLE_ISSUE, plan_html)


@pytest.mark.slow
def test_workflow_deploys_pages_before_sending(workspace: Path) -> None:
    from ruamel.yaml import YAML

    from tests.test_send_safety import run_cli

    workflow = YAML(typ="safe").load((PROJECT / ".github" / "workflows" / "send-scheduled.yml").read_text())
    pages, send = workflow["jobs"]["pages"], workflow["jobs"]["send"]
    assert pages["if"] == "vars.NEWSLETTER_PAGES == 'true'" and send["needs"] == "pages"
    assert "failure" in send["if"] and pages["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    steps = {step.get("name") or step.get("uses"): step for step in pages["steps"]}
    assert steps["actions/upload-pages-artifact@v3"]["with"]["path"] == "_site"
    command = steps["Write the archive (sent issues and the ones due now)"]["run"].split()
    issue = workspace / "issues" / EXAMPLE_ISSUE / "issue.md"
    issue.write_text(issue.read_text().replace("date: 2026-11-27", "date: 2026-11-27\nsend_at: 2026-11-27T07:00:00+00:00"))
    result = run_cli(workspace, *command[1:])
    assert result.returncode == 0, result.stderr
    site = workspace / "_site"
    assert (site / "index.html").is_file() and (site / EXAMPLE_ISSUE / "index.html").is_file()
    assert len(list((site / EXAMPLE_ISSUE / "images").iterdir())) == 1  # the due issue's images are deployed
