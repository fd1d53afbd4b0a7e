"""The send log: ``issues/<slug>/send-log.jsonl``, one JSON event per line, append-only.

A real send writes ``batch-start`` (with the addresses) before it hands a batch to the
provider and ``batch-sent`` after the provider confirmed it, each line fsync'd. Replaying the
events says who has the issue, who does not yet, and which batches were started but never
confirmed: their fate is unknown (the process died, or the provider timed out) and they are
not sent again unless the user says so. The whole send holds an exclusive lock on the file.

    {"at": "2026-11-27T07:00:03Z", "event": "batch-start", "batch": "1.2", "count": 2, "to": ["a@x.org", "b@y.net"]}
    {"at": "2026-11-27T07:00:04Z", "event": "batch-sent", "batch": "1.2", "count": 2, "receipt": "202 ..."}
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from newsletter.deliver.audience import Batch
from newsletter.deliver.secrets import redact
from newsletter.errors import InputError, SendError

LOG_NAME = "send-log.jsonl"


@dataclass
class LoggedBatch:
    id: str
    started: str
    provider: str
    to: list[str]
    note: str = ""  # why its fate is unknown, when known


@dataclass
class LogState:
    """What the log says about an issue."""

    sent: set[str] = field(default_factory=set)  # lower-cased addresses confirmed sent
    unknown: list[LoggedBatch] = field(default_factory=list)  # started, never confirmed
    runs: int = 0
    batches_sent: int = 0
    complete: bool = False  # a run ended with everyone in its audience done
    last_sent: str | None = None
    providers: list[str] = field(default_factory=list)

    @property
    def unknown_addresses(self) -> set[str]:
        return {address.lower() for batch in self.unknown for address in batch.to}


def log_path(issue_folder: Path) -> Path:
    return issue_folder / LOG_NAME


def read_log(path: Path) -> LogState:
    """Replay the events; a missing file is an empty log. A torn last line (a crash while
    writing it) counts as never written."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return LogState()
    replay = _Replay()
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
        if not isinstance(event, dict):
            raise InputError(path, "not a send-log event (expected {\"at\": ..., \"event\": ...})", number)
        replay.apply(event, path, number)
    return replay.state()


class _Replay:
    def __init__(self) -> None:
        self.result = LogState()
        self.batches: dict[str, LoggedBatch] = {}
        self.status: dict[str, tuple[str, str]] = {}  # address -> (started | sent, batch id)

    def apply(self, event: dict, path: Path, line: int) -> None:
        kind, batch_id = event.get("event"), event.get("batch")
        if kind == "run-start":
            self.result.runs += 1
            if event.get("provider") not in self.result.providers:
                self.result.providers.append(event.get("provider"))
        elif kind == "run-end":
            self.result.complete = self.result.complete or event.get("outcome") == "complete"
        elif kind == "batch-start":
            batch = LoggedBatch(batch_id, event.get("at", ""), event.get("provider", ""), list(event.get("to", [])))
            self.batches[batch_id] = batch
            for address in batch.to:
                self.status[address.lower()] = ("started", batch_id)
        elif kind in ("batch-sent", "batch-failed", "batch-unknown"):
            if batch_id not in self.batches:
                raise InputError(path, f"{kind} for batch {batch_id!r}, which never started", line)
            self.finish(kind, self.batches[batch_id], event)

    def finish(self, kind: str, batch: LoggedBatch, event: dict) -> None:
        if kind == "batch-unknown":
            batch.note = event.get("error", "")
            return
        delivered = batch.to if kind == "batch-sent" else event.get("delivered", [])
        delivered_keys = {address.lower() for address in delivered}
        for address in batch.to:
            key = address.lower()
            if self.status.get(key) != ("started", batch.id):
                continue  # a later batch has this address now
            if key in delivered_keys:
                self.status[key] = ("sent", batch.id)
            else:
                del self.status[key]  # refused: still to send
        if kind == "batch-sent":
            self.result.batches_sent += 1
            self.result.last_sent = event.get("at")

    def state(self) -> LogState:
        result = self.result
        result.sent = {address for address, (state, _) in self.status.items() if state == "sent"}
        open_ids = {batch_id for state, batch_id in self.status.values() if state == "started"}
        for batch_id in open_ids:
            batch = self.batches[batch_id]
            batch.to = [a for a in batch.to if self.status.get(a.lower()) == ("started", batch_id)]
        result.unknown = [self.batches[batch_id] for batch_id in self.batches if batch_id in open_ids]
        return result


class SendLog:
    """The open, locked log of one issue. Every event is on disk before the method returns."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd

    @classmethod
    @contextmanager
    def locked(cls, path: Path) -> Iterator[SendLog]:
        """Open (creating) and lock the log; another send of the same issue is refused, not queued."""
        existed = path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SendError(f"{path}: another 'newsletter send' is sending this issue; "
                                "wait for it to finish, then run again") from None
            if not existed:
                _fsync_folder(path.parent)
            log = cls(path, fd)
            log._drop_torn_line()
            yield log
        finally:
            os.close(fd)  # closing releases the lock

    def state(self) -> LogState:
        return read_log(self.path)

    def run_started(self, run: int, provider: str, audience: str, recipients: int, batches: int) -> None:
        self._append("run-start", run=run, provider=provider, audience=audience,
                     recipients=recipients, batches=batches, pid=os.getpid())

    def run_ended(self, run: int, outcome: str, sent: int) -> None:
        self._append("run-end", run=run, outcome=outcome, sent=sent)

    def batch_started(self, batch: Batch, provider: str) -> None:
        self._append("batch-start", batch=batch.id, provider=provider, count=len(batch.recipients),
                     to=[r.email for r in batch.recipients])

    def batch_sent(self, batch: Batch, receipt: str) -> None:
        self._append("batch-sent", batch=batch.id, count=len(batch.recipients), receipt=receipt)

    def batch_failed(self, batch: Batch, error: str, delivered: list[str]) -> None:
        self._append("batch-failed", batch=batch.id, error=error, delivered=delivered)

    def batch_unknown(self, batch: Batch, error: str) -> None:
        self._append("batch-unknown", batch=batch.id, error=error)

    def _append(self, event: str, **values: object) -> None:
        record = {"at": _now(), "event": event, **values}
        data = (redact(json.dumps(record, ensure_ascii=False)) + "\n").encode("utf-8")
        while data:
            written = os.write(self.fd, data)
            data = data[written:]
        os.fsync(self.fd)

    def _drop_torn_line(self) -> None:
        """A crash mid-write leaves a line without its newline; it confirmed nothing, so cut it."""
        content = self.path.read_bytes()
        if content and not content.endswith(b"\n"):
            os.ftruncate(self.fd, content.rfind(b"\n") + 1)
            os.fsync(self.fd)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
