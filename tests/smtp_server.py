"""A real SMTP server (aiosmtpd) on 127.0.0.1 with TLS (a throwaway certificate for 127.0.0.1),
login, and injected refusals: a 4xx for chosen message numbers, a 5xx for chosen addresses."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER = "news@northwind.example"
PASSWORD = "smtp-password-not-real-4711"


@dataclass
class Received:
    at: float
    sender: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes = b""  # the DATA bytes as they arrived


@dataclass
class Mailbox:
    """What the server received, and the faults to inject."""

    received: list[Received] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    temporary_failures: set[int] = field(default_factory=set)  # message numbers (from 1) answered 451
    refused: set[str] = field(default_factory=set)  # addresses answered 550
    dropped: set[int] = field(default_factory=set)  # message numbers stored, then the connection cut before the 250
    messages: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def addresses(self) -> list[str]:
        return [address for item in self.received for address in item.recipients]


class _Handler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's naming)
        if address in self.mailbox.refused:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.mailbox.lock:
            self.mailbox.messages += 1
            if self.mailbox.messages in self.mailbox.temporary_failures:
                return "451 4.3.0 Temporary local problem, try again"
            message = message_from_bytes(envelope.content, policy=policy.default)
            self.mailbox.received.append(Received(time.monotonic(), envelope.mail_from, list(envelope.rcpt_tos),
                                                  message, envelope.original_content or envelope.content))
            drop = self.mailbox.messages in self.mailbox.dropped
        if drop:  # the message is kept, the client never hears so: its fate is unclear to the sender
            server.transport.abort()
        return "250 2.0.0 Queued"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1; trust it with SSL_CERT_FILE."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(mailbox: Mailbox, cert: Path, key: Path, security: str) -> Controller:
    """``security``: "starttls" (STARTTLS required before login) or "ssl" (TLS from the first byte)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticate(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        mailbox.logins.append((login, password))
        return AuthResult(success=(login, password) == (USER, PASSWORD), handled=False)  # False: answer 535

    tls = {"tls_context": context, "require_starttls": True} if security == "starttls" else \
        {"ssl_context": context, "auth_require_tls": False}  # the whole connection is TLS already
    controller = Controller(_Handler(mailbox), hostname="127.0.0.1", port=free_port(), authenticator=authenticate,
                            auth_required=True, **tls)
    controller.start()
    return controller


@pytest.fixture
def certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    cert, key = make_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client's default context trusts only it
    return cert, key
