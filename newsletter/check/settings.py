"""The ``[check]`` table: where `check` finds client support data and DNS."""

from __future__ import annotations

from dataclasses import dataclass, field

from newsletter.workspace import SettingsTable


@dataclass(frozen=True)
class CheckSettings(SettingsTable):
    TABLE = "check"

    caniemail: str = ""  # path to a caniemail data.json; the packaged table is used when empty
    dns: str = ""  # check --online: "HOST:PORT" of the DNS resolver for SPF, DKIM, DMARC; empty: the system's
    dkim_selectors: list = field(default_factory=list)  # check --online: DKIM selectors besides the provider's (SendGrid: s1, s2)
