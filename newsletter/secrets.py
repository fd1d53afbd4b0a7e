"""Secrets come from the environment or ``.env`` only, and are blanked out of anything shown.

A provider asks for its secret by name through ``secret``; every secret asked for is remembered,
so ``redact`` blanks it from messages whatever a server or library put in them.

``SECRETS`` lists every secret the tool reads. The ones it can make itself (the send-log key,
the unsubscribe signing secret) are added to ``.env`` by ``add_generated``. Two commands may
add one at once (two first sends, ``secrets`` beside a send): each takes the same lock, reads
the file again and adds only what is still missing, so both end up with one value. New lines
are appended to the file itself, so a ``.env`` that is a symlink is written through, never
replaced by a copy.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets as random_source
from dataclasses import dataclass
from pathlib import Path

from newsletter.errors import InputError

_READ: set[str] = set()


def secret(variable: str, needed_for: str) -> str:
    value = os.environ.get(variable, "")
    if not value:
        raise InputError(None, f"{variable} is not set: {needed_for} needs it in the environment or in .env "
                         "(see .env.example)")
    _READ.add(variable)
    return value


def redact(text: str) -> str:
    """``text`` with the value of every secret read so far blanked out, and every address
    replaced by its send-log id (what `status` shows), so a provider's error text that names a
    reader puts no address on stderr or into a CI log."""
    return ADDRESS.sub(_address_id, redact_secrets(text))


def redact_secrets(text: str) -> str:
    """``text`` with the value of every secret read so far blanked out."""
    for variable in _READ:
        value = os.environ.get(variable, "")
        if len(value) >= 4:
            text = text.replace(value, "[redacted]")
    return text


# Anything address-shaped in a provider's error text (a refusal may name the recipient).
ADDRESS = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+\.[^\s<>\"'(),;:]+")
LOG_KEY = "NEWSLETTER_LOG_KEY"  # the secret behind address_id (the send log's key)


def address_id(key: bytes, address: str) -> str:
    """An address as the send log knows it: keyed, so the log and error texts hold no address."""
    return hmac.digest(key, address.strip().lower().encode("utf-8"), "sha256").hex()[:32]


def _address_id(match: re.Match) -> str:
    key = os.environ.get(LOG_KEY, "")
    return f"<#{address_id(key.encode('utf-8'), match.group(0))[:8]}>" if key else "<an address>"



@dataclass(frozen=True)
class Secret:
    name: str
    purpose: str
    generated: bool = False  # the tool makes a random value; the others come from a provider


SECRETS = (
    Secret("SENDGRID_API_KEY", "the sendgrid provider's API key (a key with Mail Send access is enough)"),
    Secret("RESEND_API_KEY", "the resend provider's API key (sending access is enough)"),
    Secret("SMTP_PASSWORD", "the smtp provider's password for [send.smtp] user"),
    Secret("NEWSLETTER_LOG_KEY", "keys the send log's recipient ids; every machine that sends needs the same "
           "value", generated=True),
    Secret("NEWSLETTER_UNSUBSCRIBE_SECRET", "signs {{unsubscribe_token}} links; your unsubscribe page needs "
           "the same value", generated=True),
    Secret("AWS_ACCESS_KEY_ID", "[publish] bucket: the S3-compatible store's access key"),
    Secret("AWS_SECRET_ACCESS_KEY", "[publish] bucket: its secret key"),
    Secret("NEWSLETTER_LLM_API_KEY", "[summary] llm_url: the model server's key, if it asks for one"),
)
GENERATED = tuple(secret.name for secret in SECRETS if secret.generated)


def env_example() -> str:
    """``.env.example``: every secret the tool reads, each with what it is for."""
    lines = ["# Secrets only; copy to .env (never committed), or run `newsletter secrets`, which makes",
             "# the ones the tool can make. Settings live in newsletter.toml. CI reads the same names",
             "# from the repository's secrets (see .github/workflows/send-scheduled.yml)."]
    for secret in SECRETS:
        lines += [f"# {secret.purpose}", f"{secret.name}="]
    return "\n".join(lines) + "\n"


def read_env(path: Path) -> dict[str, str]:
    return _values(path.read_text(encoding="utf-8")) if path.is_file() else {}


def add_generated(path: Path, names: tuple[str, ...] = GENERATED) -> list[str]:
    """Add a random value for each of ``names`` that ``path`` lacks, under the file's lock and
    through a symlink (files.update_file); set them in this process too. Returns the names added
    (those already there keep their value)."""
    from newsletter.files import update_file

    added: list[str] = []

    def with_missing(old: str) -> str:
        present = _values(old)
        missing = [name for name in names if name not in present]
        added.extend(missing)
        lines = "" if not old or old.endswith("\n") else "\n"
        for name in missing:
            purpose = next(secret.purpose for secret in SECRETS if secret.name == name)
            lines += f"# {purpose}\n{name}={random_source.token_urlsafe(32)}\n"
        return old + lines

    values = _values(update_file(path, with_missing, mode=0o600))
    for name in names:
        os.environ[name] = values[name]
    return added


def _values(text: str) -> dict[str, str]:
    from io import StringIO

    from dotenv import dotenv_values

    return {name: value for name, value in dotenv_values(stream=StringIO(text)).items() if value}
