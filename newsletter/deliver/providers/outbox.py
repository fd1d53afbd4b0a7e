"""The dry run: writes what would be sent to ``outbox/<slug>/<time>/`` and sends nothing.

Per run: one ``.eml`` per sample recipient, ``payload.json`` (the SendGrid v3 requests a
real send would make, for every recipient, one recipient per line, written batch by batch so a
large audience never sits in memory as one document) and ``manifest.json``. The folder
appears whole or not at all.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from newsletter.deliver.message import Campaign, build_message
from newsletter.deliver.providers import Batch
from newsletter.deliver.providers.sendgrid_payload import MAX_PERSONALIZATIONS, SendGridBody
from newsletter.errors import InputError
from newsletter.files import replaced_whole

if TYPE_CHECKING:
    from newsletter.workspace import Workspace


class OutboxProvider:
    name = "outbox"
    dry_run = True
    max_batch = MAX_PERSONALIZATIONS
    max_schedule = None

    def __init__(self, folder: Path, sample: int = 3, now: dt.datetime | None = None) -> None:
        self.folder = folder
        self.sample = sample
        self.now = now or dt.datetime.now(dt.timezone.utc)

    @classmethod
    def from_workspace(cls, workspace: Workspace, sandbox: bool = False) -> OutboxProvider:
        if sandbox:
            raise InputError(None, "--sandbox needs a real provider: set [send] provider in newsletter.toml "
                             "or pass --provider sendgrid")
        return cls(workspace.outbox_dir, workspace.settings.send.sample)

    @contextmanager
    def open(self, campaign: Campaign) -> Iterator[OutboxSession]:
        target = self.folder / campaign.slug / self.now.strftime("%Y%m%dT%H%M%S%fZ")
        with replaced_whole(target) as staging:
            session = OutboxSession(staging, campaign, self.sample, self.now)
            try:
                yield session
                session.finish()
            except BaseException:
                session.payload.close()
                raise
        session.location = str(target)


class OutboxSession:
    def __init__(self, folder: Path, campaign: Campaign, sample: int, now: dt.datetime) -> None:
        self.folder = folder
        self.campaign = campaign
        self.sample = sample
        self.now = now
        self.body = SendGridBody(campaign, now)
        self.eml_files: list[str] = []
        self.recipients = 0
        self.requests = 0
        self.location: str | None = None
        self.payload = open(folder / "payload.json", "w", encoding="utf-8")
        self.payload.write("[")

    def send(self, batch: Batch) -> str:
        for recipient in batch.recipients[: self.sample - len(self.eml_files)]:
            name = f"{len(self.eml_files) + 1:03d}-{_safe_name(recipient.email)}.eml"
            (self.folder / name).write_bytes(bytes(build_message(self.campaign, recipient, self.now)))
            self.eml_files.append(name)
        request = self.body.request(batch.recipients, batch.id)
        self.payload.write(("\n" if not self.requests else ",\n") + _one_recipient_per_line(request))
        self.requests += 1
        self.recipients += len(batch.recipients)
        return f"written to payload.json as request {self.requests}"

    def finish(self) -> None:
        self.payload.write("\n]\n")
        self.payload.close()
        manifest = {
            "issue": self.campaign.slug,
            "subject": self.campaign.subject,
            "provider": "outbox",
            "dry_run": True,
            "created": self.now.isoformat(),
            "send_at": self.campaign.send_at.isoformat() if self.campaign.send_at else None,
            "recipients": self.recipients,
            "requests": self.requests,
            "eml_files": self.eml_files,
        }
        (self.folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")

    def details(self) -> dict:
        return {"files": self.eml_files + ["payload.json", "manifest.json"], "requests": self.requests,
                "location": self.location}


_JSON = json.JSONEncoder(ensure_ascii=False)  # one encoder: json.dumps with options builds one per call


def _one_recipient_per_line(request: dict) -> str:
    shared = {key: value for key, value in request.items() if key != "personalizations"}
    people = ",\n  ".join(map(_JSON.encode, request["personalizations"]))
    return f'{_JSON.encode(shared)[:-1]}, "personalizations": [\n  {people}\n]}}'


def _safe_name(email: str) -> str:
    return re.sub(r"[^A-Za-z0-9@._-]", "_", email)
