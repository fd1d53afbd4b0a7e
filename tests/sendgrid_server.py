"""A loopback stand-in for SendGrid's v3 API, for the real ``sendgrid`` client: mail/send, and
the read side (suppression lists with limit/offset/start_time, an unsubscribe group's members,
category stats), whose calls take the same injected faults (e.g. 429 with X-RateLimit-Reset).

It also creates batch ids (``/v3/mail/batch``) and cancels scheduled batches
(``/v3/user/scheduled_sends``); mail sent under a cancelled batch id is never delivered. As
SendGrid, it refuses a cancel closer than 10 minutes to the batch's ``send_at``, and a second
cancel or pause of a batch id that already has one (GET ``/v3/user/scheduled_sends/{id}`` tells
which it has). Its clock
(``clock``, Unix seconds) can be set to the one a test gives the product.

It checks each request body the way the API does (limits, required fields, content order,
string custom args and headers, quoted display names) plus this product's own promise (every
personalization carries its recipient's unsubscribe headers), answers like SendGrid (202, or
400 with an ``errors`` list), and records who was delivered. Faults are injected on chosen
request numbers: a status (500, 429 with headers, 400), a hang past the client's timeout, or
a callback (the crash tests kill the sending process there), after which the request is taken
or not, and answered or not.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, quote, unquote, urlsplit

MAX_PERSONALIZATIONS = 1000
SCHEDULING_PATHS = ("/v3/mail/batch", "/v3/user/scheduled_sends")
MAX_SCHEDULE_SECONDS = 72 * 3600
CANCEL_DEADLINE_SECONDS = 10 * 60  # SendGrid takes no cancel closer than this to send_at
MAX_PAGE = 500
SUPPRESSION_LISTS = ("bounces", "blocks", "spam_reports", "invalid_emails", "unsubscribes")
ASM_TAG = "<%asm_group_unsubscribe_raw_url%>"


@dataclass
class Fault:
    status: int = 0  # answer with this status instead of accepting
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "injected failure"
    hang: float = 0.0  # seconds to wait before doing anything (longer than the client's timeout)
    delay: float | None = None  # seconds before answering this request, instead of FakeSendGrid.delay
    before: Callable[[], None] | None = None  # called first (the crash tests kill the sender here)
    deliver: bool = True  # (after ``before``) whether SendGrid still takes the request
    answer: bool = True  # (after ``before``) whether an answer goes back


@dataclass
class Attempt:
    number: int
    at: float
    body: dict
    headers: dict[str, str]
    status: int = 0
    raw: bytes = b""  # the request body's bytes as they arrived


def v3_problems(body: dict, now: float | None = None) -> list[tuple[str, str]]:
    """(field, message) for everything SendGrid (or this product's rules) would reject."""
    now = now or time.time()
    problems: list[tuple[str, str]] = []

    def problem(where: str, message: str) -> None:
        problems.append((where, message))

    people = body.get("personalizations")
    if not isinstance(people, list) or not 1 <= len(people) <= MAX_PERSONALIZATIONS:
        problem("personalizations", f"must hold 1 to {MAX_PERSONALIZATIONS} items")
        people = []
    if sum(len(p.get("to", [])) + len(p.get("cc", [])) + len(p.get("bcc", [])) for p in people) > 1000:
        problem("personalizations", "more than 1,000 recipients in one request")
    sender = body.get("from") or {}
    if not sender.get("email"):
        problem("from.email", "the from address is required")
    _check_name(sender, "from", problem)
    if not body.get("subject") and not all(p.get("subject") for p in people):
        problem("subject", "a subject is required")
    content = body.get("content") or []
    types = [part.get("type") for part in content]
    if not content or any(not part.get("value") for part in content):
        problem("content", "content with non-empty values is required")
    if "text/plain" in types and types[0] != "text/plain":
        problem("content", "text/plain must come first")
    for key, value in (body.get("custom_args") or {}).items():
        if not isinstance(value, str):
            problem(f"custom_args.{key}", "custom args must be strings")
    categories = body.get("categories") or []
    if len(categories) > 10 or len(set(categories)) != len(categories) or any(len(c) > 255 for c in categories):
        problem("categories", "at most 10 unique categories of up to 255 characters")
    if "send_at" in body and (not isinstance(body["send_at"], int) or body["send_at"] > now + MAX_SCHEDULE_SECONDS):
        problem("send_at", "must be a Unix time no more than 72 hours ahead")
    for index, person in enumerate(people):
        _check_personalization(person, f"personalizations.{index}", problem)
    return problems


def _check_personalization(person: dict, where: str, problem: Callable[[str, str], None]) -> None:
    to = person.get("to") or []
    if not to or not all(isinstance(a, dict) and "@" in a.get("email", "") for a in to):
        problem(f"{where}.to", "each personalization needs a to address")
        return
    for address in to:
        _check_name(address, f"{where}.to", problem)
    headers = person.get("headers") or {}
    if any(not isinstance(v, str) for v in headers.values()):
        problem(f"{where}.headers", "header values must be strings")
    unsubscribe = headers.get("List-Unsubscribe", "")
    own = (quote(to[0]["email"], safe="@") in unsubscribe or ASM_TAG in unsubscribe
           or _token_address(unsubscribe) == to[0]["email"])
    if not own or headers.get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click":
        problem(f"{where}.headers", "List-Unsubscribe with the recipient's own link and one-click Post are required")
    if any(not isinstance(v, str) for v in (person.get("substitutions") or {}).values()):
        problem(f"{where}.substitutions", "substitution values must be strings")


def _token_address(header: str) -> str | None:
    """The address inside a signed unsubscribe token in the link (its signature is not checked here)."""
    found = re.search(r"token=([^&>]+)", header)
    if not found:
        return None
    payload = unquote(found.group(1)).partition(".")[0]
    try:
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))[0]
    except (ValueError, IndexError, KeyError):
        return None


def _check_name(address: dict, where: str, problem: Callable[[str, str], None]) -> None:
    name = address.get("name", "")
    if any(mark in name for mark in ",;") and not (name.startswith('"') and name.endswith('"')):
        problem(f"{where}.name", "a name with , or ; must be quoted")


class JsonHandler(BaseHTTPRequestHandler):
    """What the stand-ins' handlers share: HTTP/1.1, quiet, and a JSON answer whose status is recorded
    on the request's ``attempt`` before the client can read it (a test may look right after the CLI exits)."""

    protocol_version = "HTTP/1.1"
    attempt = None  # the stand-in's record of the request being answered, if it keeps one

    def _reply(self, status: int, payload: object | None, headers: dict[str, str] | None = None) -> int:
        data = json.dumps(payload).encode() if payload is not None else b""
        if self.attempt is not None:
            self.attempt.status = status
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            if data:
                self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client is gone (killed, or timed out)
        return status

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Handler(JsonHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.loads(raw or b"{}")
        with fake.lock:
            fake.counter += 1
            attempt = Attempt(fake.counter, time.monotonic(), body if fake.keep_bodies else {}, dict(self.headers),
                              raw=raw if fake.keep_bodies else b"")
            fake.attempts.append(attempt)
            self.attempt = attempt
            fault = (fake.faults.get(attempt.number) or (fake.chaos(attempt.number) if fake.chaos else None)
                     or fake.every_request)
            fake.in_flight += 1
            fake.peak_in_flight = max(fake.peak_in_flight, fake.in_flight)
        try:
            attempt.status = self._answer(fake, attempt, body, fault)
        finally:
            with fake.lock:
                fake.in_flight -= 1

    def do_GET(self) -> None:  # noqa: N802
        fake = self.server.fake
        self.attempt = None
        with fake.lock:
            fake.counter += 1
            number = fake.counter
            fake.reads.append(self.path)
            fault = fake.faults.get(number)
        if fault and fault.before:
            fault.before()  # a kill armed for this request number lands on a read too
        if fault and not (fault.deliver and fault.answer):
            return  # the connection drops: no answer
        if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            self._reply(401, {"errors": [{"message": "authorization required", "field": None}]})
        elif fault and fault.status:
            self._reply(fault.status, {"errors": [{"message": fault.message, "field": None}]}, fault.headers)
        else:
            status, payload = fake.read(self.path)
            self._reply(status, payload)

    def _answer(self, fake: FakeSendGrid, attempt: Attempt, body: dict, fault: Fault | None) -> int:
        time.sleep(fault.delay if fault and fault.delay is not None else fake.delay)
        if fault and fault.hang:
            time.sleep(fault.hang)  # the client has given up by now; nothing is delivered
            return 0
        if self.path not in ("/v3/mail/send", *SCHEDULING_PATHS):
            return self._reply(404, {"errors": [{"message": "not found", "field": None}]})
        if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            return self._reply(401, {"errors": [{"message": "The provided authorization grant is invalid, "
                                                 f"expired, or revoked: {self.headers.get('Authorization')}",
                                                 "field": None}]})
        if fault and fault.before:
            fault.before()
        if fault and not fault.deliver:  # the connection drops before SendGrid takes the request
            return 0
        if fault and fault.status:
            return self._reply(fault.status, {"errors": [{"message": fault.message, "field": None}]}, fault.headers)
        if self.path in SCHEDULING_PATHS:
            status, payload = fake.scheduling(self.path, body)
            return self._reply(status, payload) if not (fault and not fault.answer) else 0
        problems = v3_problems(body, fake.clock()) + fake.batch_problems(body)
        if problems:
            fake.problems.extend(problems)
            return self._reply(400, {"errors": [{"field": f, "message": m, "help": None} for f, m in problems]})
        sandbox = body.get("mail_settings", {}).get("sandbox_mode", {}).get("enable")
        if not sandbox:
            with fake.lock:
                fake.deliveries.append((body.get("batch_id"),
                                        [a["email"] for p in body["personalizations"] for a in p["to"]]))
                if body.get("batch_id"):
                    fake.send_at[body["batch_id"]] = body["send_at"]
                if fake.keep_bodies:
                    fake.accepted.append(body)
        if fault and not fault.answer:
            return 0
        return self._reply(200 if sandbox else 202, None, {"X-Message-Id": f"msg-{attempt.number}"})

class _Server(ThreadingHTTPServer):
    """A stand-in's HTTP server on a free loopback port; its handler reaches the stand-in as ``fake``."""

    daemon_threads = True

    def __init__(self, fake: object, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.fake = fake

    def handle_error(self, request: object, client_address: object) -> None:
        pass


class LoopbackStandIn:
    """What every provider stand-in shares: serving in a thread, its URL, stopping."""

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = _Server(self, handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class FakeSendGrid(LoopbackStandIn):
    def __init__(self, api_key: str = "SG.test-key-not-real") -> None:
        self.api_key = api_key
        self.lock = threading.Lock()
        self.counter = 0
        self.attempts: list[Attempt] = []
        self.accepted: list[dict] = []  # request bodies that were delivered
        # (SendGrid batch id or None, addresses) per accepted request; see ``delivered``
        self.deliveries: list[tuple[str | None, list[str]]] = []
        self.batch_ids: list[str] = []  # created with POST /v3/mail/batch
        self.cancelled: set[str] = set()  # batch ids cancelled with POST /v3/user/scheduled_sends
        self.statuses: dict[str, str] = {}  # batch id -> "cancel" or "pause", as GET /v3/user/scheduled_sends/{id} says
        self.problems: list[tuple[str, str]] = []
        self.faults: dict[int, Fault] = {}  # by request number, from 1
        self.every_request: Fault | None = None
        self.chaos: Callable[[int], Fault | None] | None = None  # a fault (or none) for each request number
        self.clock: Callable[[], float] = time.time  # SendGrid's now, for send_at limits and cancel deadlines
        self.send_at: dict[str, int] = {}  # batch id -> the send_at of mail sent under it
        self.delay = 0.0  # seconds before handling each request (a real API's answer time)
        self.in_flight = self.peak_in_flight = 0  # POST requests being handled now, and the most at once
        self.keep_bodies = True  # False: only ``delivered`` is kept (a million recipients' bodies would not fit)
        # The read side: list name -> [{"created": unix, "email": ..., "reason": ...}], group id -> emails,
        # category -> [{"date": "YYYY-MM-DD", "stats": [{"metrics": {...}}]}]
        self.suppressions: dict[str, list[dict]] = {name: [] for name in SUPPRESSION_LISTS}
        self.groups: dict[int, list[str]] = {}
        self.stats: dict[str, list[dict]] = {}
        self.reads: list[str] = []  # GET paths with their queries, in order
        self._serve(_Handler)

    def read(self, target: str) -> tuple[int, object]:
        """What a GET answers: (status, JSON payload)."""
        url = urlsplit(target)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        listed = re.fullmatch(r"/v3/suppression/(\w+)", url.path)
        if listed and listed.group(1) in self.suppressions:
            limit, offset = int(query.get("limit", MAX_PAGE)), int(query.get("offset", 0))
            if limit > MAX_PAGE:
                return 400, {"errors": [{"field": "limit", "message": f"limit must be at most {MAX_PAGE}"}]}
            since = int(query.get("start_time", 0))
            rows = sorted((r for r in self.suppressions[listed.group(1)] if r["created"] >= since),
                          key=lambda r: -r["created"])  # newest first, as SendGrid lists them
            return 200, rows[offset:offset + limit]
        group = re.fullmatch(r"/v3/asm/groups/(\d+)/suppressions", url.path)
        if group:
            if int(group.group(1)) not in self.groups:
                return 404, {"errors": [{"field": None, "message": "Unsubscribe group not found"}]}
            return 200, self.groups[int(group.group(1))]
        scheduled = re.fullmatch(r"/v3/user/scheduled_sends/([\w-]+)", url.path)
        if scheduled:
            if scheduled.group(1) not in self.statuses:
                return 404, {"errors": [{"field": None, "message": "batch id has no cancel or pause status"}]}
            return 200, [{"batch_id": scheduled.group(1), "status": self.statuses[scheduled.group(1)]}]
        if url.path == "/v3/categories/stats":
            if "categories" not in query or "start_date" not in query:
                return 400, {"errors": [{"field": "start_date", "message": "categories and start_date are required"}]}
            start = dt.date.fromisoformat(query["start_date"])
            days = self.stats.get(query["categories"], [])
            return 200, [day for day in days if dt.date.fromisoformat(day["date"]) >= start]
        return 404, {"errors": [{"field": None, "message": "not found"}]}

    @property
    def delivered(self) -> list[str]:
        """Addresses, once per copy that reaches (or, scheduled, will reach) an inbox. A cancelled
        batch delivers nothing: SendGrid drops its scheduled mail at send time."""
        with self.lock:
            return [a for batch_id, addresses in self.deliveries if batch_id not in self.cancelled for a in addresses]

    def scheduling(self, path: str, body: dict) -> tuple[int, dict]:
        """POST /v3/mail/batch (a new batch id) and /v3/user/scheduled_sends (cancel or pause one)."""
        with self.lock:
            if path == "/v3/mail/batch":
                self.batch_ids.append(f"batch-{len(self.batch_ids) + 1}-{self.counter}")
                return 201, {"batch_id": self.batch_ids[-1]}
            batch_id, status = body.get("batch_id"), body.get("status")
            if batch_id not in self.batch_ids or status not in ("cancel", "pause"):
                return 400, {"errors": [{"field": "batch_id", "message": "unknown batch id or status"}]}
            due = self.send_at.get(batch_id)
            if due is not None and due - self.clock() < CANCEL_DEADLINE_SECONDS:
                return 400, {"errors": [{"field": "batch_id", "message": "cannot cancel or pause a batch within "
                                         "10 minutes of its send_at"}]}
            if batch_id in self.statuses:  # POST sets a status once; changing it is a PATCH
                return 400, {"errors": [{"field": "batch_id", "message": "batch id already has a cancel or pause "
                                         "status"}]}
            self.statuses[batch_id] = status
            if status == "cancel":
                self.cancelled.add(batch_id)
            return 201, {"batch_id": batch_id, "status": status}

    def batch_problems(self, body: dict) -> list[tuple[str, str]]:
        batch_id = body.get("batch_id")
        if batch_id is not None and batch_id not in self.batch_ids:
            return [("batch_id", "unknown batch id")]
        if batch_id is not None and "send_at" not in body:
            return [("send_at", "a batch id is for scheduled mail: send_at is required")]
        return []
