"""The dry run: writes what would be sent to ``outbox/<slug>/<time>/`` and sends nothing.

Per run: one ``.eml`` per sample recipient, ``payload.json`` (the SendGrid v3 requests a
real send would make, for every recipient) and ``manifest.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

from ..audience import Recipient
from ..message import Campaign, build_message
from ..payload import sendgrid_requests
from . import SendResult


class OutboxProvider:
    name = "outbox"
    dry_run = True

    def __init__(self, folder: Path, sample: int = 3, now: dt.datetime | None = None) -> None:
        self.folder = folder
        self.sample = sample
        self.now = now or dt.datetime.now(dt.timezone.utc)

    def send(self, campaign: Campaign, recipients: Sequence[Recipient]) -> SendResult:
        target = self.folder / campaign.slug / self.now.strftime("%Y%m%dT%H%M%S%fZ")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
        try:
            files = self._write(staging, campaign, recipients)
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return SendResult(self.name, len(recipients), True, str(target), {"files": files})

    def _write(self, folder: Path, campaign: Campaign, recipients: Sequence[Recipient]) -> list[str]:
        files = []
        for number, recipient in enumerate(recipients[: self.sample], start=1):
            name = f"{number:03d}-{_safe_name(recipient.email)}.eml"
            (folder / name).write_bytes(bytes(build_message(campaign, recipient, self.now)))
            files.append(name)
        requests = list(sendgrid_requests(campaign, recipients))
        (folder / "payload.json").write_text(json.dumps(requests, ensure_ascii=False, indent=1), encoding="utf-8")
        manifest = {
            "issue": campaign.slug,
            "subject": campaign.subject,
            "provider": self.name,
            "dry_run": True,
            "created": self.now.isoformat(),
            "recipients": len(recipients),
            "requests": len(requests),
            "eml_files": files,
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        return files + ["payload.json", "manifest.json"]


def _safe_name(email: str) -> str:
    return re.sub(r"[^A-Za-z0-9@._-]", "_", email)
