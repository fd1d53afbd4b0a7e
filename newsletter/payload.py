"""SendGrid v3 mail/send request bodies for a Campaign: rendered once, personalised by substitutions.

The outbox writes these so a dry run shows exactly what the API would receive.
"""

from __future__ import annotations

from typing import Iterator, Sequence

from .audience import Recipient
from .message import Campaign, fill

MAX_PERSONALIZATIONS = 1000


def _address(email: str, name: str = "") -> dict[str, str]:
    return {"email": email, "name": name} if name else {"email": email}


def personalization(campaign: Campaign, recipient: Recipient, field_names: set[str]) -> dict:
    values = recipient.merge_fields
    entry: dict = {"to": [_address(recipient.email, recipient.name)]}
    substitutions = {f"{{{{{name}}}}}": str(values[name]) for name in sorted(field_names) if name in values}
    if substitutions:
        entry["substitutions"] = substitutions
    # Header values must be strings and are per recipient (the unsubscribe link carries the address).
    headers = {key: fill(value, values) for key, value in campaign.headers.items()}
    if headers:
        entry["headers"] = headers
    return entry


def sendgrid_requests(campaign: Campaign, recipients: Sequence[Recipient],
                      batch_size: int = MAX_PERSONALIZATIONS) -> Iterator[dict]:
    name, address = campaign.sender_address
    field_names = campaign.merge_field_names()
    base = {
        "from": _address(address, name),
        "subject": campaign.subject,
        # SendGrid requires text/plain before text/html.
        "content": [{"type": "text/plain", "value": campaign.text}, {"type": "text/html", "value": campaign.html}],
        "categories": list(campaign.categories),
        "custom_args": {"issue": campaign.slug},
    }
    if campaign.reply_to:
        base["reply_to"] = _address(campaign.reply_to)
    for start in range(0, len(recipients), batch_size):
        batch = recipients[start:start + batch_size]
        yield {"personalizations": [personalization(campaign, r, field_names) for r in batch], **base}
