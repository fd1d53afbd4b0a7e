"""Bounded retries with exponential backoff and full jitter, honouring a server's requested wait.

Providers raise ``TemporaryFailure`` for what may succeed later (429, 5xx, refused connections,
and, marked ``maybe_delivered``, timeouts and dropped connections after the request went out)
and ``SendError`` for what will not; ``with_retries`` retries only what says nothing was done.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping, TypeVar

from newsletter import clock
from newsletter.errors import SendError

if TYPE_CHECKING:
    from newsletter.deliver.settings import SendSettings

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5
    base_delay: float = 0.5  # seconds before the first retry, doubled each time
    max_delay: float = 60.0  # the longest single wait, also the most a server may ask for

    @classmethod
    def from_settings(cls, settings: SendSettings) -> RetryPolicy:
        """[send] max_retries and max_backoff, for every request a provider makes."""
        return cls(max_retries=settings.max_retries, max_delay=settings.max_backoff)


class TemporaryFailure(Exception):
    """A failure worth retrying. ``maybe_delivered``: the provider may have acted on it (a timeout)."""

    def __init__(self, message: str, retry_after: float | None = None, maybe_delivered: bool = False,
                 delivered: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.maybe_delivered = maybe_delivered
        self.delivered = delivered or []  # got it before the failure (a provider sending one by one)


class RetriesExhausted(SendError):
    def __init__(self, message: str, last: TemporaryFailure, maybe_delivered: bool) -> None:
        super().__init__(message)
        self.delivered = last.delivered
        self.maybe_delivered = maybe_delivered


def backoff_delay(attempt: int, policy: RetryPolicy, retry_after: float | None,
                  rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based)."""
    if retry_after is not None:
        # At least what the server asked for; a little jitter so parallel senders spread out.
        return min(retry_after + rng() * policy.base_delay, policy.max_delay)
    ceiling = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
    return rng() * ceiling


class RateGate:
    """Shared by the workers of one send: when the server asks any of them to wait (a 429 with
    Retry-After or X-RateLimit-Reset), none starts another request before that time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.until = 0.0

    def hold(self, seconds: float) -> None:
        with self.lock:
            self.until = max(self.until, self.clock() + seconds)

    def wait(self, sleep: Callable[[float], None] = time.sleep) -> None:
        while (pause := self.until - self.clock()) > 0:
            sleep(pause)


def with_retries(action: Callable[[], T], policy: RetryPolicy,
                 on_retry: Callable[[TemporaryFailure, int, float], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep, gate: RateGate | None = None) -> T:
    """Run ``action``; on TemporaryFailure wait and run it again, at most ``max_retries`` times.
    With a ``gate``, every try first waits out any pause a server asked of the whole send. A
    failure that may have been acted on (a timeout after the request went out, a connection
    dropped before the answer) ends the tries at once: only the caller can settle its fate (a
    provider that can cancel what it took, or an idempotency key, tries again itself)."""
    for attempt in range(1, policy.max_retries + 2):
        try:
            if gate:
                gate.wait(sleep)
            return action()
        except TemporaryFailure as failure:
            if failure.maybe_delivered:  # a second try could be a second copy: never retried blindly
                raise RetriesExhausted(f"{failure.message}; it may have been delivered, so it is not tried again",
                                       failure, True) from None
            if failure.retry_after is not None and failure.retry_after > policy.max_delay:
                raise RetriesExhausted(f"{failure.message}; the server asks to wait {failure.retry_after:.0f} s, "
                                       f"more than max_backoff = {policy.max_delay:g} s: send again later",
                                       failure, False) from None
            if attempt > policy.max_retries:
                tries = f"{attempt} attempts" if attempt > 1 else "1 attempt"
                raise RetriesExhausted(f"{failure.message} (gave up after {tries})", failure, False) from None
            delay = backoff_delay(attempt, policy, failure.retry_after)
            if gate and failure.retry_after is not None:
                gate.hold(failure.retry_after)
            if on_retry:
                on_retry(failure, attempt, delay)
            sleep(delay)
    raise AssertionError("unreachable")


def requested_wait(headers: Mapping[str, str], now: dt.datetime | None = None) -> float | None:
    """Seconds a 429 asks us to wait: ``Retry-After`` (seconds or an HTTP date), else
    ``X-RateLimit-Reset`` (a Unix time, as SendGrid sends it)."""
    now = now or clock.now()
    retry_after = (headers.get("Retry-After") or "").strip()
    if retry_after:
        if retry_after.isdigit():
            return float(retry_after)
        try:
            when = email.utils.parsedate_to_datetime(retry_after)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            when = when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
            return max(0.0, (when - now).total_seconds())
    reset = (headers.get("X-RateLimit-Reset") or "").strip()
    if reset.isdigit():
        return max(0.0, int(reset) - now.timestamp())
    return None
