"""A loopback stand-in for Resend's ``POST /emails/batch``, behaving as Resend documents it.

Idempotency (``Idempotency-Key``, 1 to 256 characters, kept ``key_ttl`` seconds):
- the same key with the same body replays the first answer and delivers nothing new;
- the same key with another body: 409 ``invalid_idempotent_request``;
- the same key while the first request is still being handled: 409 ``concurrent_idempotent_requests``;
- a request Resend refused (4xx) keeps no key: Resend keeps the key of an email it sent.

It checks each body the way the API does (a list of 1 to 100 messages, each with from, to,
subject, html or text; header values and tags as strings; this product's own promise: each
message carries its reader's own List-Unsubscribe link and one-click Post), answers 200 with an
id per email, or 4xx with Resend's ``{"statusCode", "name", "message"}``, and records who was
delivered (once per copy).

Faults are injected by request number (``faults``), for every request (``every_request``) or by a
function of the request number (``chaos``): a status (429 with retry-after, 500), a delay before
the answer (the key counts as running meanwhile), a hang, a callback (the crash tests kill the
sender there), after which the request is taken or not (``deliver``) and answered or the
connection dropped (``answer``).
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import quote

from tests.sendgrid_server import JsonHandler, LoopbackStandIn, _Server, _token_address

MAX_BATCH = 100
MAX_KEY = 256
TAG = re.compile(r"[A-Za-z0-9_-]{1,256}\Z")


@dataclass
class Fault:
    status: int = 0  # answer with this status instead of accepting
    name: str = "application_error"  # Resend's error name for that status
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "injected failure"
    delay: float | None = None  # seconds taken handling the request (the key is "running" meanwhile)
    hang: float = 0.0  # seconds before doing anything, then nothing: neither taken nor answered
    before: Callable[[], None] | None = None  # called first (the crash tests kill the sender here)
    deliver: bool = True  # whether Resend takes (sends) the batch
    answer: bool = True  # whether an answer goes back; False drops the connection instead


@dataclass
class Attempt:
    number: int
    at: float
    key: str | None
    body: object
    headers: dict[str, str]
    status: int = 0
    replayed: bool = False


@dataclass
class _Kept:
    digest: str
    at: float
    running: bool = True
    answer: tuple[int, object] | None = None


def message_problems(index: int, message: object) -> list[str]:
    """What Resend (or this product's rules) would reject in one message of a batch."""
    where = f"[{index}]"
    if not isinstance(message, dict):
        return [f"{where}: each email is an object"]
    problems = []
    to = message.get("to")
    to = [to] if isinstance(to, str) else to
    if not isinstance(to, list) or not 1 <= len(to) <= 50 or not all(isinstance(a, str) and "@" in a for a in to):
        problems.append(f"{where}.to: 1 to 50 addresses")
        to = []
    for name in ("from", "subject"):
        if not isinstance(message.get(name), str) or not message.get(name):
            problems.append(f"{where}.{name} is required")
    if not any(isinstance(message.get(part), str) and message[part] for part in ("html", "text")):
        problems.append(f"{where}: html or text is required")
    for name in ("attachments", "scheduled_at"):
        if name in message:
            problems.append(f"{where}.{name}: not supported in a batch")
    headers = message.get("headers") or {}
    if not isinstance(headers, dict) or any(not isinstance(v, str) for v in headers.values()):
        problems.append(f"{where}.headers: values must be strings")
        headers = {}
    tags = message.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, dict) and TAG.match(str(t.get("name", "")))
                                             and TAG.match(str(t.get("value", ""))) for t in tags):
        problems.append(f"{where}.tags: names and values of ASCII letters, digits, _ and -")
    if to:
        address = _address(to[0])
        unsubscribe = headers.get("List-Unsubscribe", "")
        own = quote(address, safe="@") in unsubscribe or _token_address(unsubscribe) == address
        if not own or headers.get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click":
            problems.append(f"{where}.headers: List-Unsubscribe with the reader's own link and one-click Post")
    return problems


def _address(mailbox: str) -> str:
    found = re.search(r"<([^<>]+)>\s*\Z", mailbox)
    return found.group(1) if found else mailbox.strip()


class _Handler(JsonHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        fake = self.server.fake
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length)
        if len(raw) < length:  # the client died while sending the body: a cut request is never processed
            self._drop()
            return
        key = self.headers.get("Idempotency-Key")
        with fake.lock:
            fake.counter += 1
            number = fake.counter
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                body = None
            attempt = Attempt(number, time.monotonic(), key, body if fake.keep_bodies else None, dict(self.headers))
            fake.attempts.append(attempt)
            self.attempt = attempt
            fault = fake.faults.get(number) or fake.every_request or (fake.chaos(number) if fake.chaos else None)
        attempt.status = self._handle(fake, attempt, raw, body, fault)

    def _handle(self, fake: FakeResend, attempt: Attempt, raw: bytes, body: object, fault: Fault | None) -> int:
        if fault and fault.hang:
            time.sleep(fault.hang)
            return self._drop()
        if self.path != "/emails/batch":
            return self._error(404, "not_found", "The requested endpoint does not exist.")
        if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            return self._error(401, "missing_api_key" if not self.headers.get("Authorization") else "invalid_api_key",
                               f"API key is invalid: {self.headers.get('Authorization')}")
        key = attempt.key
        if key is not None and not 1 <= len(key) <= MAX_KEY:
            return self._error(400, "invalid_idempotency_key", "The key must be between 1-256 chars.")
        if fault and fault.before:
            fault.before()
        if fault and fault.status:  # rate limits and outages come before the key is looked at
            return self._reply(fault.status, {"statusCode": fault.status, "name": fault.name,
                                              "message": fault.message}, fault.headers)
        digest = hashlib.sha256(raw).hexdigest()
        if key is not None:
            with fake.lock:
                fake.expire()
                kept = fake.keys.get(key)
                if kept is None:
                    fake.keys[key] = _Kept(digest, time.monotonic())
            if kept is not None:
                if fault and not fault.answer:
                    return self._drop()
                if kept.running:
                    return self._error(409, "concurrent_idempotent_requests",
                                       "Same idempotency key used while original request is still in progress.")
                if kept.digest != digest:
                    return self._error(409, "invalid_idempotent_request",
                                       "Same idempotency key used with a different request payload.")
                attempt.replayed = True
                status, payload = kept.answer
                return self._reply(status, payload)
        try:
            status, payload, headers = self._process(fake, attempt, body, fault)
        except BaseException:
            self._release(fake, key, None)
            raise
        if status == 0:  # no answer: taken or not, the connection is dropped
            return self._drop()
        return self._reply(status, payload, headers)

    def _process(self, fake: FakeResend, attempt: Attempt, body: object,
                 fault: Fault | None) -> tuple[int, object, dict[str, str]]:
        """(status, payload, headers) of the answer; status 0: none, the connection is dropped."""
        key = attempt.key
        problems = _batch_problems(body)
        if problems:
            fake.problems.extend(problems)
            self._release(fake, key, None)
            return 422, {"statusCode": 422, "name": "validation_error", "message": "; ".join(problems[:5])}, {}
        taken = not fault or fault.deliver
        answer = (200, {"data": [{"id": str(uuid.uuid4())} for _ in body]})
        if taken:
            with fake.lock:
                fake.deliveries.append([_address(m["to"] if isinstance(m["to"], str) else m["to"][0]) for m in body])
                if fake.keep_bodies:
                    fake.accepted.append(body)
        time.sleep(fault.delay if fault and fault.delay is not None else fake.delay)
        self._release(fake, key, answer if taken else None)
        if not taken or (fault and not fault.answer):
            return 0, None, {}
        return *answer, {}

    def _release(self, fake: FakeResend, key: str | None, answer: tuple[int, object] | None) -> None:
        """The key keeps the answer of a batch that was sent; otherwise it is forgotten."""
        if key is None:
            return
        with fake.lock:
            kept = fake.keys.get(key)
            if kept is None or not kept.running:
                return
            if answer is None:
                del fake.keys[key]
            else:
                kept.running, kept.answer = False, answer

    def _drop(self) -> int:
        """Close the connection without an answer (the client sees it cut off)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        return 0

    def _error(self, status: int, name: str, message: str) -> int:
        return self._reply(status, {"statusCode": status, "name": name, "message": message})


def _batch_problems(body: object) -> list[str]:
    if not isinstance(body, list) or not 1 <= len(body) <= MAX_BATCH:
        return [f"the body must be a list of 1 to {MAX_BATCH} emails"]
    return [problem for index, message in enumerate(body) for problem in message_problems(index, message)]


class FakeResend(LoopbackStandIn):
    def __init__(self, api_key: str = "re_test_key_not_real") -> None:
        self.api_key = api_key
        self.lock = threading.Lock()
        self.counter = 0
        self.attempts: list[Attempt] = []
        self.accepted: list[list[dict]] = []  # bodies that were sent
        self.deliveries: list[list[str]] = []  # addresses per batch sent; see ``delivered``
        self.keys: dict[str, _Kept] = {}
        self.key_ttl = 24 * 3600.0  # seconds Resend keeps a key
        self.problems: list[str] = []
        self.faults: dict[int, Fault] = {}  # by request number, from 1
        self.every_request: Fault | None = None
        self.chaos: Callable[[int], Fault | None] | None = None
        self.delay = 0.0  # seconds handling each request (a real API's answer time)
        self.keep_bodies = True
        self._serve(_Handler)

    def expire(self) -> None:
        """Forget keys older than ``key_ttl`` (called under the lock)."""
        now = time.monotonic()
        for key in [k for k, kept in self.keys.items() if not kept.running and now - kept.at > self.key_ttl]:
            del self.keys[key]

    def forget_keys(self) -> None:
        """As Resend after 24 hours: every finished key is gone."""
        with self.lock:
            self.keys = {k: kept for k, kept in self.keys.items() if kept.running}

    @property
    def delivered(self) -> list[str]:
        """Addresses, once per copy sent."""
        with self.lock:
            return [address for batch in self.deliveries for address in batch]

    @property
    def running(self) -> int:
        with self.lock:
            return sum(kept.running for kept in self.keys.values())
