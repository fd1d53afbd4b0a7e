"""Providers deliver a Campaign to recipients. Each is one module with one class.

The outbox provider (the dry run) sits beside the real ones, so "dry run" is a
choice of provider, not an ``if`` scattered through the sending code.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Protocol, Sequence

from ..audience import Recipient
from ..errors import InputError
from ..message import Campaign

PROVIDERS = {
    "outbox": "newsletter.providers.outbox:OutboxProvider",
}


@dataclass(frozen=True)
class SendResult:
    provider: str
    accepted: int
    dry_run: bool
    location: str | None = None
    details: dict = field(default_factory=dict)


class Provider(Protocol):
    name: str
    dry_run: bool

    def send(self, campaign: Campaign, recipients: Sequence[Recipient]) -> SendResult: ...


def get_provider(name: str, **options) -> Provider:
    if name not in PROVIDERS:
        raise InputError(None, f"unknown provider {name!r} (available: {', '.join(PROVIDERS)})")
    module_name, _, class_name = PROVIDERS[name].partition(":")
    provider_class = getattr(importlib.import_module(module_name), class_name)
    return provider_class(**options)


__all__ = ["PROVIDERS", "Provider", "SendResult", "get_provider"]
