"""The dry run: writes what would be sent to ``outbox/<slug>/<time>/`` and sends nothing.

What it writes is the same whichever provider a real send would use:

- ``message.json``: the parts every recipient shares (sender, subject, headers, the HTML and
  text with their ``{{merge fields}}``, categories, send time);
- ``recipients.jsonl``: one line per recipient, in batch order: the batch, the address, the
  display name and the merge values that fill the shared parts (and, for a send_at written as
  a local time, the reader's own ``send_at``); written batch by batch, so a large audience never
  sits in memory as one document;
- one complete ``.eml`` per sample recipient, and ``manifest.json``.

The folder appears whole or not at all.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from contextlib import contextmanager
from json.encoder import encode_basestring as _string  # a JSON string, non-ASCII kept (ensure_ascii=False)
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from newsletter import clock
from newsletter.compose.audience import Batch
from newsletter.deliver.providers import Provider, SendResult, Session
from newsletter.deliver.settings import SendSettings
from newsletter.errors import InputError, display_path
from newsletter.files import replaced_whole
from newsletter.render.message import Campaign, build_message

if TYPE_CHECKING:
    from newsletter.workspace import Workspace

FILES = ("message.json", "recipients.jsonl", "manifest.json")


class OutboxProvider(Provider):
    name = "outbox"
    dry_run = True
    max_batch = 1000
    max_concurrency = 1  # one file written in batch order
    max_schedule = None
    local_send_times = True  # writes each reader's own send time: the dry run shows a local send_at

    def __init__(self, folder: Path, sample: int = 3, now: dt.datetime | None = None) -> None:
        self.folder = folder
        self.sample = sample
        self.now = now or clock.now()

    @classmethod
    def from_workspace(cls, workspace: Workspace, sandbox: bool = False) -> OutboxProvider:
        if sandbox:
            raise InputError(None, "--sandbox needs a real provider: set [send] provider in newsletter.toml "
                             "or pass --provider sendgrid")
        settings = workspace.table(SendSettings)
        return cls(workspace.root / settings.outbox, settings.sample)

    @contextmanager
    def open(self, campaign: Campaign) -> Iterator[OutboxSession]:
        target = self.folder / campaign.slug / self.now.strftime("%Y%m%dT%H%M%S%fZ")
        with replaced_whole(target) as staging:
            session = OutboxSession(staging, campaign, self.sample, self.now)
            try:
                yield session
                session.finish()
            except BaseException:
                session.recipients_file.close()
                raise
        session.location = str(target)

    def summary(self, result: SendResult) -> str:
        samples = sum(1 for name in result.details.get("files", []) if name.endswith(".eml"))
        return (f"Wrote {display_path(result.location or '')}/: {samples} sample .eml, "
                f"{', '.join(FILES)}")


class OutboxSession(Session):
    def __init__(self, folder: Path, campaign: Campaign, sample: int, now: dt.datetime) -> None:
        self.folder = folder
        self.campaign = campaign
        self.sample = sample
        self.now = now
        self.eml_files: list[str] = []
        self.recipients = 0
        self.batches = 0
        self.send_times: dict[str, int] = {}  # a local send_at: readers per moment
        self.location: str | None = None
        self.recipients_file = open(folder / "recipients.jsonl", "w", encoding="utf-8")
        _write_json(folder / "message.json", _shared_parts(campaign, now))

    def send(self, batch: Batch) -> str:
        for recipient in batch.recipients[: self.sample - len(self.eml_files)]:
            name = f"{len(self.eml_files) + 1:03d}-{_safe_name(recipient.email)}.eml"
            (self.folder / name).write_bytes(bytes(build_message(self.campaign, recipient, self.now)))
            self.eml_files.append(name)
        self.recipients_file.write(_recipient_lines(batch))
        if batch.send_at:
            when = batch.send_at.isoformat()
            self.send_times[when] = self.send_times.get(when, 0) + len(batch.recipients)
        self.batches += 1
        self.recipients += len(batch.recipients)
        return f"written to recipients.jsonl as batch {batch.id}"

    def finish(self) -> None:
        self.recipients_file.close()
        manifest = {
            "issue": self.campaign.slug,
            "subject": self.campaign.subject,
            "provider": "outbox",
            "dry_run": True,
            "created": self.now.isoformat(),
            "send_at": self.campaign.send_at.isoformat() if self.campaign.send_at else None,
            "send_times": dict(sorted(self.send_times.items())) or None,  # a local send_at: readers per moment
            "recipients": self.recipients,
            "batches": self.batches,
            "eml_files": self.eml_files,
        }
        _write_json(self.folder / "manifest.json", manifest)

    def details(self) -> dict:
        return {"files": self.eml_files + list(FILES), "location": self.location}


_JSON = json.JSONEncoder(ensure_ascii=False)  # one encoder: json.dumps with options builds one per call


def _recipient_lines(batch: Batch) -> str:
    """The batch's lines of recipients.jsonl, as one string. A million lines is most of a large
    dry run, so the parts every line shares are encoded once: the batch id, and the field names
    (an audience's recipients all have the same ones, in the same order)."""
    when = f'"send_at": {_string(batch.send_at.isoformat())}, ' if batch.send_at else ""
    prefix = f'{{"batch": {_string(batch.id)}, {when}"email": '
    names: tuple[str, ...] | None = None
    template = ""
    lines = []
    for r in batch.recipients:
        fields = r.fields
        if tuple(fields) != names:
            names = tuple(fields)
            template = "{{" + ", ".join(_string(name).replace("{", "{{").replace("}", "}}") + ": {}"
                                          for name in names) + "}}"
        encoded = template.format(*map(_string, fields.values()))
        lines.append(f'{prefix}{_string(r.email)}, "name": {_string(r.name)}, "fields": {encoded}}}\n')
    return "".join(lines)


def _shared_parts(campaign: Campaign, now: dt.datetime) -> dict:
    name, address = campaign.sender_address
    return {
        "from": {"name": name, "email": address},
        "reply_to": campaign.reply_to or None,
        "subject": campaign.subject,
        "headers": campaign.headers,
        "categories": list(campaign.categories),
        "send_at": campaign.send_at.isoformat() if campaign.send_at and campaign.send_at > now else None,
        "merge_fields": sorted(campaign.merge_field_names()),
        "text": campaign.text,
        "html": campaign.html,
    }


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _safe_name(email: str) -> str:
    return re.sub(r"[^A-Za-z0-9@._-]", "_", email)
