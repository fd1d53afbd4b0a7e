"""The send log: ``issues/<slug>/send-log.jsonl``, one JSON event per line, append-only.

A real send writes ``batch-start`` (with its recipients) before it hands a batch to the
provider and ``batch-sent`` after the provider confirmed it, each line fsync'd. Replaying the
events says who has the issue, who does not yet, and which batches were started but never
confirmed: their fate is unknown (the process died, or the provider timed out) and they are
not sent again unless the user says so. The whole send holds an exclusive lock on the file.

    {"at": "2026-11-27T07:00:03Z", "event": "batch-start", "batch": "1.2", "count": 2, "first_line": 7, "to": ["5f0c…", "a91e…"]}
    {"at": "2026-11-27T07:00:04Z", "event": "batch-sent", "batch": "1.2", "count": 2, "receipt": "202 ..."}

CI commits this file, so it holds no address: a recipient is an HMAC-SHA256 of the lower-cased
address under ``NEWSLETTER_LOG_KEY`` (``LogKey``), and each ``run-start`` carries the key's
fingerprint, so a run with another key refuses instead of taking everyone for new. A log from
before hashing (plain addresses) is read as it is and rewritten hashed by the next real send.

Two refinements narrow what can be unknown. A provider that sends one message at a time
marks its batch ``per_message`` and logs ``message-start`` / ``message-sent`` (with one
``recipient``) around each message: only a started, unconfirmed message is in doubt. A batch
scheduled through a provider that holds mail is marked ``scheduled`` and logs each provider
reference (``batch-reserved``, ``ref``) before a request uses it and ``batch-cancelled`` once it is cancelled: a
batch whose ids are all cancelled delivered nothing, and one with an open id is settled by
cancelling it.

A batch sent through a provider that keeps idempotency keys carries its key on ``batch-start``
(``idempotency_key``), written before the request. A batch of unknown fate is settled by sending
it again, the same readers under the same key, while the provider still keeps the key: such a
resend logs ``batch-start`` again under the same batch id with ``key_since``, when the key was
first used (the provider's window runs from then).

A batch the provider holds until later (a scheduled or held send, or a reader's own local send
time) carries ``send_at`` on ``batch-start``: when it will be delivered, so ``status`` can say.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from newsletter import clock
from newsletter.compose.audience import Batch
from newsletter.errors import InputError, SendError
from newsletter.files import write_atomically
from newsletter.secrets import ADDRESS, LOG_KEY, address_id, redact_secrets, secret

LOG_NAME = "send-log.jsonl"
KEY_VARIABLE = LOG_KEY
# What logs written before references were provider-neutral call ``ref`` (read, never written).
LEGACY_REFERENCE = "sendgrid_batch"
_FINGERPRINT_TEXT = b"newsletter send-log key fingerprint"


@dataclass(frozen=True)
class LogKey:
    """The secret that turns addresses into the log's recipient ids."""

    secret: bytes

    def id(self, address: str) -> str:
        return address_id(self.secret, address)

    @property
    def fingerprint(self) -> str:
        """Names the key in the log without giving it away."""
        return hmac.new(self.secret, _FINGERPRINT_TEXT, hashlib.sha256).hexdigest()[:16]

    def scrub(self, text: str) -> str:
        return ADDRESS.sub(lambda match: f"<{self.id(match.group(0))[:12]}>", text)


def current_log_key() -> LogKey | None:
    """The key from the environment (or .env, already loaded); None when there is none yet."""
    if not os.environ.get(KEY_VARIABLE):
        return None
    return LogKey(secret(KEY_VARIABLE, "the send log").encode("utf-8"))


def create_log_key(env_file: Path) -> LogKey:
    """The send-log key, made once: under the .env's lock, so two first sends agree on one key.
    Refused where there is no .env to keep it in (a CI runner): a key made there would be lost
    with the runner, and the next run could not read the log."""
    from newsletter.secrets import add_generated

    if env_file.is_symlink() and not env_file.exists():
        raise InputError(env_file, f"is a symlink to {os.readlink(env_file)}, which does not exist: point it at your "
                         f"secrets file, or remove it; nothing was sent")
    if not env_file.is_file():
        raise InputError(env_file, f"{KEY_VARIABLE} is not set and there is no .env to keep a new one: run "
                         f"'newsletter secrets' where you send from, and give CI the same value as the secret "
                         f"{KEY_VARIABLE}; nothing was sent")
    add_generated(env_file, (KEY_VARIABLE,))
    return current_log_key()


def check_log_key(state: LogState, key: LogKey | None, path: Path) -> None:
    """Refuse a log written under another key: its ids would match no one, and everyone would get the issue again."""
    if not state.fingerprints or (key and key.fingerprint in state.fingerprints):
        return
    written = ", ".join(sorted(state.fingerprints))
    have = f"this {KEY_VARIABLE} has fingerprint {key.fingerprint}" if key else f"{KEY_VARIABLE} is not set"
    raise InputError(path, f"this send log was written under another {KEY_VARIABLE} (fingerprint {written}) and "
                     f"{have}: set the key it was written with (your CI secret or the .env that sent it); "
                     "nothing was sent")


@dataclass
class LoggedBatch:
    id: str
    started: str
    provider: str
    to: list[str]  # recipient ids (see LogKey)
    note: str = ""  # why its fate is unknown, when known
    first_line: int | None = None  # the first recipient's line in the audience file
    scheduled: bool = False  # sent under provider references, each logged before use
    reservations: list[str] = field(default_factory=list)  # those references
    cancelled: list[str] = field(default_factory=list)  # of them: cancelled, so delivering nothing
    key: str = ""  # the idempotency key its requests carried (a provider that keeps keys)
    key_since: str = ""  # when that key was first used
    size: int = 0  # recipients it started with (``to`` keeps those whose fate it still decides)
    send_at: str = ""  # when the provider delivers it, if it holds it until later

    @property
    def whole(self) -> bool:
        """Still the readers it was first sent to: sending it again reproduces that request."""
        return len(self.to) == self.size

    @property
    def open_reservations(self) -> list[str]:
        """Batch ids that may carry mail: cancelling them settles this batch's fate."""
        return [batch_id for batch_id in self.reservations if batch_id not in self.cancelled]

    @property
    def first(self) -> str:
        """Who the batch starts with, without an address."""
        short = f"#{self.to[0][:8]}" if self.to else "nobody"
        return f"{short}, audience line {self.first_line}" if self.first_line else short


@dataclass
class LogState:
    """What the log says about an issue."""

    sent: set[str] = field(default_factory=set)  # recipient ids confirmed sent
    unknown: list[LoggedBatch] = field(default_factory=list)  # started, never confirmed
    runs: int = 0
    batches_sent: int = 0
    complete: bool = False  # a run ended with everyone in its audience done
    last_sent: str | None = None
    first_run: str | None = None  # when the first real send started
    providers: list[str] = field(default_factory=list)
    key: LogKey | None = None  # what turns an address into an id here
    fingerprints: set[str] = field(default_factory=set)  # keys the log says it was written under
    plain: bool = False  # some recipients are written as addresses (a log from before hashing)
    scheduled: list[LoggedBatch] = field(default_factory=list)  # batches with provider batch ids still open
    cancelled_send_at: str | None = None  # `newsletter cancel` called back the issue scheduled for this time
    # Confirmed recipients per delivery time, of batches the provider holds until then (send_at logged).
    deliveries: dict[str, int] = field(default_factory=dict)

    @property
    def unknown_addresses(self) -> set[str]:
        """Recipient ids in batches of unknown fate."""
        return {recipient for batch in self.unknown for recipient in batch.to}

    def id(self, address: str) -> str:
        return self.key.id(address) if self.key else address.lower()


def log_path(issue_folder: Path) -> Path:
    return issue_folder / LOG_NAME


def read_log(path: Path, key: LogKey | None = None) -> LogState:
    """Replay the events; a missing file is an empty log. A torn last line (a crash while
    writing it) counts as never written. Plain addresses are read as their ids under ``key``."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return LogState(key=key)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(path, "not UTF-8 text: was the log edited? Restore it from git",
                         data.count(b"\n", 0, error.start) + 1) from None
    replay = _Replay(key)
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as error:
            if number == len(lines):  # no newline after it: it was being written
                break
            raise InputError(path, f"not a send-log event ({error.msg}); was the log edited?", number) from None
        problem = _malformed(event)
        if problem:
            raise InputError(path, f"not a send-log event ({problem}); was the log edited? Restore it from git", number)
        replay.apply(event, path, number)
    return replay.state()


_LISTS = ("to", "delivered")


def _malformed(event: object) -> str:
    """What makes ``event`` unreadable as a log event ("" when nothing): replaying a wrong shape
    could take a reader for unsent and mail them again."""
    if not isinstance(event, dict):
        return 'expected {"at": ..., "event": ...}'
    if not isinstance(event.get("event"), str):
        return "no event name"
    if "batch" in event and not isinstance(event["batch"], str):
        return "batch is not a string"
    for name in _LISTS:
        if name in event and not (isinstance(event[name], list) and all(isinstance(x, str) for x in event[name])):
            return f"{name} is not a list of recipients"
    if "recipient" in event and not isinstance(event["recipient"], str):
        return "recipient is not a string"
    return ""


class _Replay:
    def __init__(self, key: LogKey | None) -> None:
        self.result = LogState(key=key)
        self.batches: dict[str, LoggedBatch] = {}
        self.status: dict[str, tuple[str, str]] = {}  # recipient -> (queued | started | sent, batch id)

    def apply(self, event: dict, path: Path, line: int) -> None:
        kind, batch_id = event.get("event"), event.get("batch")
        if kind == "run-start":
            self.result.runs += 1
            self.result.first_run = self.result.first_run or event.get("at")
            if event.get("key"):
                self.result.fingerprints.add(event["key"])
            if event.get("provider") not in self.result.providers:
                self.result.providers.append(event.get("provider"))
        elif kind == "issue-cancelled":
            self.result.cancelled_send_at = event.get("send_at")
            self.result.complete = False
        elif kind == "run-end":
            self.result.complete = self.result.complete or event.get("outcome") == "complete"
        elif kind == "batch-start":
            batch = LoggedBatch(batch_id, event.get("at", ""), event.get("provider", ""),
                                self.ids(event.get("to", [])), first_line=event.get("first_line"),
                                scheduled=bool(event.get("scheduled")))
            key = event.get("idempotency_key")
            if isinstance(key, str) and key:
                batch.key = key
                batch.key_since = str(event.get("key_since") or batch.started)
            batch.size = len(batch.to)
            batch.send_at = str(event.get("send_at") or "")
            self.batches[batch_id] = batch
            # Logged message by message: a recipient is in doubt only once its message started.
            state = "queued" if event.get("per_message") else "started"
            for recipient in batch.to:
                self.status[recipient] = (state, batch_id)
        elif kind in ("batch-reserved", "batch-cancelled"):
            batch = self.started(kind, batch_id, path, line)
            reference = event.get("ref", event.get(LEGACY_REFERENCE))
            (batch.reservations if kind == "batch-reserved" else batch.cancelled).append(reference)
        elif kind in ("message-start", "message-sent"):
            self.started(kind, batch_id, path, line)
            self.message(kind, batch_id, self.ids([str(event.get("recipient", ""))])[0])
        elif kind in ("batch-sent", "batch-failed", "batch-unknown"):
            self.finish(kind, self.started(kind, batch_id, path, line), event)

    def started(self, kind: str, batch_id: str, path: Path, line: int) -> LoggedBatch:
        if batch_id not in self.batches:
            raise InputError(path, f"{kind} for batch {batch_id!r}, which never started", line)
        return self.batches[batch_id]

    def message(self, kind: str, batch_id: str, recipient: str) -> None:
        if self.status.get(recipient, ("", ""))[1] == batch_id:
            self.status[recipient] = ("started" if kind == "message-start" else "sent", batch_id)

    def finish(self, kind: str, batch: LoggedBatch, event: dict) -> None:
        if kind == "batch-unknown":
            batch.note = event.get("error", "")
            return
        delivered_keys = set(batch.to if kind == "batch-sent" else self.ids(event.get("delivered", [])))
        for key in batch.to:
            if self.status.get(key) not in (("started", batch.id), ("queued", batch.id)):
                continue  # a later batch has this recipient now, or its own message was confirmed
            if key in delivered_keys:
                self.status[key] = ("sent", batch.id)
            else:
                del self.status[key]  # refused: still to send
        if kind == "batch-sent":
            self.result.batches_sent += 1
            self.result.last_sent = event.get("at")

    def ids(self, recipients: list[str]) -> list[str]:
        """Recipient ids; a plain address (a log from before hashing) becomes its id."""
        if any("@" in recipient for recipient in recipients):
            self.result.plain = True
        return [self.result.id(r) if "@" in r else r for r in recipients]

    def settle_cancelled(self) -> None:
        """A scheduled batch whose every provider reference was cancelled delivered nothing: its
        recipients are simply still to send."""
        for key, (state, batch_id) in list(self.status.items()):
            batch = self.batches[batch_id]
            called_back = state == "started" or (state == "sent" and batch.reservations)
            if called_back and batch.scheduled and not batch.open_reservations:
                del self.status[key]

    def state(self) -> LogState:
        result = self.result
        self.settle_cancelled()
        result.sent = {address for address, (state, _) in self.status.items() if state == "sent"}
        for state, batch_id in self.status.values():
            when = self.batches[batch_id].send_at if state == "sent" and batch_id in self.batches else ""
            if when:
                result.deliveries[when] = result.deliveries.get(when, 0) + 1
        result.scheduled = [batch for batch in self.batches.values() if batch.scheduled and batch.open_reservations]
        open_ids = {batch_id for state, batch_id in self.status.values() if state == "started"}
        for batch_id in open_ids:
            batch = self.batches[batch_id]
            batch.to = [a for a in batch.to if self.status.get(a) == ("started", batch_id)]
        result.unknown = [self.batches[batch_id] for batch_id in self.batches if batch_id in open_ids]
        # Finished means finished: not while anyone's copy is in doubt.
        result.complete = result.complete and not result.unknown
        return result


class SendLog:
    """The open, locked log of one issue. Every event is on disk before the method returns;
    threads may share it.
    With a ``key`` recipients are written as ids; without one (tests of the log itself) as addresses."""

    def __init__(self, path: Path, fd: int, key: LogKey | None = None) -> None:
        self.path = path
        self.fd = fd
        self.key = key
        # Batches go out in parallel: each event must reach the file whole and in one piece.
        self.lock = threading.Lock()

    @classmethod
    @contextmanager
    def locked(cls, path: Path, key: LogKey | None = None) -> Iterator[SendLog]:
        """Open (creating) and lock the log; another send of the same issue is refused, not queued."""
        existed = path.exists()
        log = cls(path, _open_locked(path), key)
        try:
            if not existed:
                _fsync_folder(path.parent)
            log._drop_torn_line()
            if key and read_log(path).plain:
                log.fd = _migrate(path, log.fd, key)
            yield log
        finally:
            os.close(log.fd)  # closing releases the lock

    def state(self) -> LogState:
        return read_log(self.path, self.key)

    def run_started(self, run: int, provider: str, audience: str, recipients: int, batches: int) -> None:
        keyed = {"key": self.key.fingerprint} if self.key else {}
        self._append("run-start", run=run, provider=provider, audience=audience,
                     recipients=recipients, batches=batches, pid=os.getpid(), **keyed)

    def run_ended(self, run: int, outcome: str, sent: int) -> None:
        self._append("run-end", run=run, outcome=outcome, sent=sent)

    def batch_started(self, batch: Batch, provider: str, per_message: bool = False, scheduled: bool = False,
                      key_since: str = "", send_at: dt.datetime | None = None) -> None:
        """``batch.key``, if any, is logged with it; ``key_since``: a resend under a key first used then;
        ``send_at``: when the provider delivers it, if it holds it until later."""
        first = batch.recipients[0].line if batch.recipients else 0
        extra = {"first_line": first} if first else {}
        extra |= {"per_message": True} if per_message else {}
        extra |= {"scheduled": True} if scheduled else {}
        extra |= {"idempotency_key": batch.key} if batch.key else {}
        extra |= {"key_since": key_since} if key_since and batch.key else {}
        extra |= {"send_at": send_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")} if send_at else {}
        self._append("batch-start", batch=batch.id, provider=provider, count=len(batch.recipients),
                     **extra, to=self._ids(r.email for r in batch.recipients))

    def batch_reserved(self, batch_id: str, reference: str) -> None:
        self._append("batch-reserved", batch=batch_id, ref=reference)

    def batch_cancelled(self, batch_id: str, reference: str) -> None:
        self._append("batch-cancelled", batch=batch_id, ref=reference)

    def message_started(self, batch: Batch, address: str) -> None:
        self._append("message-start", batch=batch.id, recipient=self._ids([address])[0])

    def message_sent(self, batch: Batch, address: str) -> None:
        self._append("message-sent", batch=batch.id, recipient=self._ids([address])[0])

    def issue_cancelled(self, send_at: str, batches: int) -> None:
        self._append("issue-cancelled", send_at=send_at, batches=batches)

    def batch_sent(self, batch: Batch, receipt: str) -> None:
        self._append("batch-sent", batch=batch.id, count=len(batch.recipients), receipt=self._scrub(receipt))

    def batch_failed(self, batch: Batch, error: str, delivered: list[str]) -> None:
        self._append("batch-failed", batch=batch.id, error=self._scrub(error), delivered=self._ids(delivered))

    def batch_unknown(self, batch: Batch, error: str) -> None:
        self._append("batch-unknown", batch=batch.id, error=self._scrub(error))

    def _ids(self, addresses) -> list[str]:
        return [self.key.id(a) if self.key else a for a in addresses]

    def _scrub(self, text: str) -> str:
        return self.key.scrub(text) if self.key else text

    def _append(self, event: str, **values: object) -> None:
        record = {"at": _now(), "event": event, **values}
        # Recipients are ids already, and error texts were scrubbed with the key (_scrub).
        data = (redact_secrets(json.dumps(record, ensure_ascii=False)) + "\n").encode("utf-8")
        with self.lock:
            while data:
                written = os.write(self.fd, data)
                data = data[written:]
            os.fsync(self.fd)

    def _drop_torn_line(self) -> None:
        """A crash mid-write leaves a line without its newline and cut short; it confirmed nothing,
        so it goes. A whole event that only lacks its newline (an editor's save) is kept: it may be
        the batch-sent that says who has the issue."""
        content = self.path.read_bytes()
        if not content or content.endswith(b"\n"):
            return
        last = content[content.rfind(b"\n") + 1:]
        try:
            whole = isinstance(json.loads(last), dict)
        except ValueError:
            whole = False
        if whole:
            os.write(self.fd, b"\n")
        else:
            os.ftruncate(self.fd, content.rfind(b"\n") + 1)
        os.fsync(self.fd)


def _open_locked(path: Path) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise SendError(f"{path}: another 'newsletter send' is sending this issue; "
                        "wait for it to finish, then run again") from None
    return fd


def _migrate(path: Path, fd: int, key: LogKey) -> int:
    """Rewrite a log of plain addresses with ids, under the lock; returns the new file's locked fd.
    The swap is atomic: a crash leaves the old log or the new one, each complete."""
    lines = []
    for line in filter(str.strip, path.read_text(encoding="utf-8").splitlines()):
        event = json.loads(line)
        for name in ("to", "delivered"):
            if name in event:
                event[name] = [key.id(a) if "@" in a else a for a in event[name]]
        if "@" in str(event.get("recipient", "")):
            event["recipient"] = key.id(event["recipient"])
        if event.get("event") == "run-start":
            event.setdefault("key", key.fingerprint)
        for name in ("error", "receipt"):
            if isinstance(event.get(name), str):
                event[name] = key.scrub(event[name])
        lines.append(json.dumps(event, ensure_ascii=False) + "\n")
    write_atomically(path, "".join(lines))
    _fsync_folder(path.parent)
    migrated = _open_locked(path)  # the old file's lock guards a name that now points elsewhere
    os.close(fd)
    return migrated


def _now() -> str:
    return clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
