"""Any SMTP server through smtplib: STARTTLS or implicit TLS, login, one message per recipient.

Settings: ``[send.smtp]`` (host, port, security, user, rate_limit). Secret: ``SMTP_PASSWORD``
when a user is set.

Each recipient gets a complete message with their merge fields filled (message.build_message).
A rate limit spaces messages out. The session remembers who in a batch already has the
message, so a retry after a dropped connection carries on where it stopped.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

from newsletter.compose.audience import Batch
from newsletter.deliver.providers import BatchFailed, Provider, SendResult, Session
from newsletter.deliver.retry import TemporaryFailure
from newsletter.deliver.settings import SendSettings
from newsletter.errors import InputError
from newsletter.render.message import Campaign, build_message
from newsletter.schema import check_choice
from newsletter.secrets import redact, secret

if TYPE_CHECKING:
    from newsletter.workspace import Workspace

SECURITY_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
PASSWORD = "SMTP_PASSWORD"


@dataclass(frozen=True)
class SmtpSettings:
    host: str = ""  # the SMTP server; required
    port: int = 0  # 0: 587 for starttls, 465 for ssl, 25 for none
    security: str = "starttls"  # starttls, ssl or none
    user: str = ""  # the password is SMTP_PASSWORD in the environment or .env
    rate_limit: float = 0.0  # messages per second; 0: no limit


class SmtpProvider(Provider):
    name = "smtp"
    Settings = SmtpSettings
    dry_run = False
    max_batch = 100  # one message per recipient: smaller batches keep an unknown batch small
    max_concurrency = 1  # one connection, and the session keeps per-batch progress and a journal
    max_schedule = dt.timedelta(0)  # SMTP cannot hold mail for later

    def __init__(self, host: str, port: int, security: str = "starttls", user: str = "", password: str = "",
                 timeout: float = 30.0, rate_limit: float = 0.0) -> None:
        self.host, self.port, self.security = host, port, security
        self.user, self.password = user, password
        self.timeout = timeout
        self.rate_limit = rate_limit

    @classmethod
    def from_workspace(cls, workspace: Workspace, sandbox: bool = False) -> SmtpProvider:
        own = workspace.provider_settings(cls.name, SmtpSettings)
        where = workspace.settings_path

        def line(key: str | None = None) -> int | None:
            return workspace.settings_line("send.smtp", key)

        if sandbox:
            raise InputError(None, "the smtp provider has no sandbox mode: send a test with --to ADDR")
        if not own.host:
            raise InputError(where, "[send.smtp] host is not set: name your SMTP server, e.g. host = "
                             "\"smtp.example.org\"", line())
        check_choice(own.security, SECURITY_PORTS, "[send.smtp] security", where, line("security"))
        if own.security == "none" and own.user:
            raise InputError(where, "[send.smtp] security = 'none' would send the SMTP password unencrypted: "
                             "use 'starttls' or 'ssl'", line("security"))
        password = secret(PASSWORD, "SMTP login") if own.user else ""
        port = own.port or SECURITY_PORTS[own.security]
        return cls(own.host, port, own.security, own.user, password, workspace.table(SendSettings).timeout, own.rate_limit)

    def summary(self, result: SendResult) -> str:
        return ""

    @contextmanager
    def open(self, campaign: Campaign) -> Iterator[SmtpSession]:
        session = SmtpSession(self, campaign)
        try:
            yield session
        finally:
            session.close()


def _row(line: int, batch: str, position: int) -> str:
    """Which reader, without the address: their audience line (else their place in the batch)."""
    return f"the reader on audience line {line}" if line else f"reader {position + 1} of batch {batch}"


class SmtpSession(Session):
    logs_each_message = True

    def __init__(self, provider: SmtpProvider, campaign: Campaign) -> None:
        self.provider = provider
        self.campaign = campaign
        self.connection: smtplib.SMTP | None = None
        self.delivered: dict[str, list[str]] = {}  # batch id -> addresses, in order
        self.next_send = 0.0
        self.messages = 0
        self.journal = None  # set by the sender: logs each message before and after it goes

    def send(self, batch: Batch) -> str:
        done = self.delivered.setdefault(batch.id, [])
        already = set(done)
        for recipient in batch.recipients:
            if recipient.email not in already:
                message = build_message(self.campaign, recipient)
                if self.journal:
                    self.journal.started(recipient.email)
                self._send_one(message, recipient.email, done, _row(recipient.line, batch.id, len(done)))
                done.append(recipient.email)
                if self.journal:
                    self.journal.sent(recipient.email)
        return f"{len(done)} messages accepted by {self.provider.host}:{self.provider.port}"

    def details(self) -> dict:
        return {"messages": self.messages}

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.connection = None

    def _send_one(self, message, address: str, done: list[str], row: str = "a reader") -> None:
        connection = self._connected(done)
        self._wait_for_rate_limit()
        try:
            connection.send_message(message, from_addr=self.campaign.sender_address[1], to_addrs=[address])
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = error.recipients.get(address, (550, b"refused"))
            raise self._answer(code, reply, address, done, row) from None
        except smtplib.SMTPResponseException as error:
            raise self._answer(error.smtp_code, error.smtp_error, address, done, row) from None
        except (smtplib.SMTPException, OSError) as error:
            self.connection = None
            # The connection died mid-message: the server may have taken it.
            raise TemporaryFailure(f"SMTP connection lost in the middle of the message to {row}: {error}",
                                   maybe_delivered=True, delivered=list(done)) from None
        self.messages += 1

    def _answer(self, code: int, reply: bytes | str, address: str, done: list[str], row: str) -> Exception:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        # The server's words may name the address: it is blanked, the position says which one.
        text = text.replace(address, "<recipient>")
        message = redact(f"SMTP server answered {code} {text} for {row}")
        if 400 <= code < 500:
            return TemporaryFailure(message, delivered=list(done))
        return BatchFailed(f"{message}; if the address is wrong, add it to the suppression list "
                           "and send again to reach the rest", delivered=done)

    def _connected(self, done: list[str]) -> smtplib.SMTP:
        if self.connection is None:
            try:
                self.connection = self._connect()
            except smtplib.SMTPAuthenticationError as error:
                raise BatchFailed(redact(f"SMTP login refused: {error.smtp_code} "
                                         f"{error.smtp_error.decode('utf-8', 'replace')}"), delivered=done) from None
            except (ssl.SSLCertVerificationError, smtplib.SMTPNotSupportedError) as error:
                raise BatchFailed(redact(f"SMTP {self.provider.security} failed: {error}"), delivered=done) from None
            except (smtplib.SMTPException, OSError) as error:
                raise TemporaryFailure(redact(f"cannot connect to {self.provider.host}:{self.provider.port}: {error}"),
                                       delivered=list(done)) from None
        return self.connection

    def _connect(self) -> smtplib.SMTP:
        provider = self.provider
        context = ssl.create_default_context()
        if provider.security == "ssl":
            connection = smtplib.SMTP_SSL(provider.host, provider.port, timeout=provider.timeout, context=context)
        else:
            connection = smtplib.SMTP(provider.host, provider.port, timeout=provider.timeout)
        try:
            if provider.security == "starttls":
                connection.starttls(context=context)
            if provider.user:
                connection.login(provider.user, provider.password)
        except BaseException:
            connection.close()
            raise
        return connection

    def _wait_for_rate_limit(self) -> None:
        if self.provider.rate_limit <= 0:
            return
        pause = self.next_send - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        self.next_send = max(self.next_send, time.monotonic()) + 1 / self.provider.rate_limit
