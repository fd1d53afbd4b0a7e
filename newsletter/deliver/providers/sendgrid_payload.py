"""SendGrid v3 mail/send request bodies for a Campaign: rendered once, personalised by substitutions.

The sendgrid provider posts these; the outbox writes them so a dry run shows exactly what the
API would receive. Rules from the API (and anymail's SendGrid backend): ``content`` lists
text/plain before text/html; ``custom_args`` and header values are strings; at most 1,000
personalizations per request; display names holding ``,`` or ``;`` are quoted.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Sequence

from newsletter.deliver.audience import Recipient
from newsletter.deliver.message import MERGE_FIELD, Campaign, fill

MAX_PERSONALIZATIONS = 1000
MAX_SCHEDULE = dt.timedelta(hours=72)  # SendGrid holds scheduled mail at most this long


def _address(email: str, name: str = "") -> dict[str, str]:
    if not name:
        return {"email": email}
    if "," in name or ";" in name:
        name = '"{}"'.format(name.replace("\\", "\\\\").replace('"', '\\"'))
    return {"email": email, "name": name}


def _text_key(name: str) -> str:
    return f"{{{{{name}:text}}}}"


class SendGridBody:
    """Builds each batch's request from the parts every batch shares, computed once."""

    def __init__(self, campaign: Campaign, now: dt.datetime | None = None, sandbox: bool = False) -> None:
        self.campaign = campaign
        self.field_names = sorted(campaign.merge_field_names())
        self.keys = {name: f"{{{{{name}}}}}" for name in self.field_names}
        self.headers = {key: _Template(value) for key, value in campaign.headers.items()}
        name, address = campaign.sender_address
        self.base: dict = {"from": _address(address, name)}
        if campaign.reply_to:
            self.base["reply_to"] = _address(campaign.reply_to)
        self.base["categories"] = list(campaign.categories)
        now = now or dt.datetime.now(dt.timezone.utc)
        if campaign.send_at and campaign.send_at > now:
            self.base["send_at"] = int(campaign.send_at.timestamp())
        if sandbox:
            self.base["mail_settings"] = {"sandbox_mode": {"enable": True}}

    def request(self, recipients: Sequence[Recipient], batch_id: str | None = None) -> dict:
        if not 0 < len(recipients) <= MAX_PERSONALIZATIONS:
            raise ValueError(f"a request holds 1 to {MAX_PERSONALIZATIONS} recipients, not {len(recipients)}")
        # A value such as "Tom & Jerry" must be escaped in the HTML part but not in the text part
        # or the subject; those then use a second key for that field, in this request only.
        values = [recipient.merge_fields for recipient in recipients]
        text_keys = _changed_by_escaping(values, self.field_names)
        subject, text = self.campaign.subject, self.campaign.text
        if text_keys:
            subject, text = (_rename_fields(part, text_keys) for part in (subject, text))
        custom_args = {"issue": self.campaign.slug}
        if batch_id:
            custom_args["batch"] = batch_id
        return {
            "personalizations": [self.personalization(r, v, text_keys) for r, v in zip(recipients, values)],
            **self.base,
            "subject": subject,
            "content": [{"type": "text/plain", "value": text}, {"type": "text/html", "value": self.campaign.html}],
            "custom_args": custom_args,
        }

    def personalization(self, recipient: Recipient, values: dict[str, str], text_keys: set[str]) -> dict:
        entry: dict = {"to": [_address(recipient.email, recipient.name)]}
        substitutions = {}
        for name, key in self.keys.items():
            if name in values:
                value = str(values[name])
                substitutions[key] = html.escape(value) if name in text_keys else value
                if name in text_keys:
                    substitutions[_text_key(name)] = value
        if substitutions:
            entry["substitutions"] = substitutions
        # Per recipient: the unsubscribe link carries the address.
        headers = {key: template.fill(values) for key, template in self.headers.items()}
        if headers:
            entry["headers"] = headers
        return entry


class _Template:
    """A text with merge fields, compiled once to a format string: filling it for each of
    100,000 recipients is then one ``format_map`` instead of a regular-expression pass."""

    def __init__(self, text: str) -> None:
        self.text = text
        parts, end = [], 0
        for match in MERGE_FIELD.finditer(text):
            parts += [_brace_escaped(text[end:match.start()]), f"{{{match.group(1)}}}"]
            end = match.end()
        self.format = "".join(parts) + _brace_escaped(text[end:])

    def fill(self, values: dict[str, str]) -> str:
        try:
            return self.format.format_map(values)
        except KeyError:  # a field this recipient has no value for stays as written
            return fill(self.text, values)


def _brace_escaped(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


_HTML_SPECIAL = re.compile(r"[&<>\"']")


def _changed_by_escaping(values: list[dict[str, str]], names: Sequence[str]) -> set[str]:
    return {name for row in values for name in names if name in row and _HTML_SPECIAL.search(row[name])}


def _rename_fields(template: str, names: set[str]) -> str:
    return MERGE_FIELD.sub(lambda m: _text_key(m.group(1)) if m.group(1) in names else m.group(0), template)
