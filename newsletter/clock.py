"""The one place the product reads the calendar clock.

Everything that asks "what time is it" (a send's ``Date`` header, whether an issue is due, the
month a starter issue is named after) asks here, so a test moves the whole product's clock with
libfaketime or time-machine and nothing else. Durations and timeouts use ``time.monotonic``,
which no calendar change should move.
"""

from __future__ import annotations

import datetime as dt


def now() -> dt.datetime:
    """The current time, aware, in UTC."""
    return dt.datetime.now(dt.timezone.utc)


def today() -> dt.date:
    """The local calendar date (what an editor means by "this month")."""
    return dt.date.today()
