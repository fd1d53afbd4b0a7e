"""Local send times: ``send_at: 2027-01-05T07:00 local`` reaches each reader at 07:00 in their own
time zone (the audience's ``timezone`` column; a reader without one gets the zone the issue
names after ``local``).

Each reader's moment is worked out for the send date in their zone, so a daylight-saving change
between the day a send is handed over and the day it goes out is already in it. Readers whose
moments are the same (two zones with the same offset that day) share batches; each batch carries
its own ``send_at``. A provider that holds mail at most so long (SendGrid: 72 hours) takes only
the readers whose moment is within that reach; the rest wait for a later run.

"Due" keeps its one definition (``send.is_due``): a local-time issue is due once its earliest
reader's moment comes within the window, and stays due until every reader has it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from newsletter.compose.audience import ZONE_COLUMN, Recipient
from newsletter.compose.issuefile import LocalSendTime
from newsletter.errors import InputError


@dataclass(frozen=True)
class LocalSchedule:
    """When each reader of ``audience`` gets an issue sent at ``local``."""

    local: LocalSendTime
    audience: Path | None
    _moments: dict[str, dt.datetime] = field(default_factory=dict, compare=False, repr=False)

    def zone_of(self, zone: str) -> str:
        """The zone a reader gets it in: their own, else the issue's default ("" when there is none)."""
        return zone or self.local.zone

    def at(self, zone: str) -> dt.datetime | None:
        """The moment (UTC) for a reader in ``zone`` ("" : none given); None when neither they nor the issue name one."""
        zone = self.zone_of(zone)
        if not zone:
            return None
        moment = self._moments.get(zone)
        if moment is None:
            moment = self._moments[zone] = self.local.in_zone(zone)
        return moment

    def time_of(self, zone: str, line: int) -> dt.datetime:
        """``at``, or an error naming the reader's audience line when there is no zone to go by."""
        moment = self.at(zone)
        if moment is None:
            raise InputError(self.audience, f"this reader has no {ZONE_COLUMN!r} and send_at "
                             f"({self.local.text}) names no zone for such readers: fill in the column, or "
                             f"name a default zone, e.g. send_at: {self.local.text} Europe/Berlin", line)
        return moment

    def reader_time(self, recipient: Recipient) -> dt.datetime:
        return self.time_of(recipient.zone, recipient.line)

    def earliest(self, zones: Iterable[str]) -> dt.datetime | None:
        """The first moment among readers in ``zones`` (the issue's default zone's, with no readers)."""
        moments = [moment for moment in map(self.at, set(zones) or {""}) if moment is not None]
        return min(moments, default=None)


@dataclass
class ZoneCount:
    """What the log says of one zone's readers."""

    zone: str  # "" : readers with no zone and no default (they cannot be sent until one is given)
    send_at: dt.datetime | None
    default: bool = False  # readers without a zone of their own, who get the issue's
    recipients: int = 0
    sent: int = 0  # handed to the provider, confirmed
    unknown: int = 0  # in batches of unknown fate
    left: int = 0  # not handed over yet

    def to_dict(self) -> dict:
        local = self.send_at.astimezone(_zone(self.zone)) if self.send_at and self.zone else None
        return {"zone": self.zone or None, "default": self.default,
                "send_at": local.isoformat() if local else None,
                "send_at_utc": self.send_at.strftime("%Y-%m-%dT%H:%M:%SZ") if self.send_at else None,
                "recipients": self.recipients, "sent": self.sent, "unknown": self.unknown, "left": self.left}


def _zone(name: str) -> dt.tzinfo:
    from newsletter.compose.issuefile import time_zone

    return time_zone(name)


def zone_counts(schedule: LocalSchedule, readers: Iterable[tuple[int, str, str]], sent: set[str],
                unknown: set[str], recipient_id) -> list[ZoneCount]:
    """Per zone (readers without one under the default), in the order their moments come.
    ``readers``: (line, address, zone) as ScannedAudience.zoned gives them."""
    counts: dict[tuple[str, bool], ZoneCount] = {}
    for _, email, own in readers:
        zone = schedule.zone_of(own)
        key = (zone, not own)
        count = counts.get(key)
        if count is None:
            count = counts[key] = ZoneCount(zone, schedule.at(own), default=not own)
        count.recipients += 1
        reader = recipient_id(email)
        if reader in sent:
            count.sent += 1
        elif reader in unknown:
            count.unknown += 1
        else:
            count.left += 1
    never = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    return sorted(counts.values(), key=lambda c: (c.send_at or never, c.zone, c.default))
