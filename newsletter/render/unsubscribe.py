"""How a reader unsubscribes: the modes, and signed tokens for a team's own unsubscribe page.

Three modes, chosen by the settings (``unsubscribe_mode`` names the active one for `check`):

- **Hosted by the provider**: e.g. ``[send] provider = "sendgrid"`` with ``[send.sendgrid]
  unsubscribe_group``. The provider says so (``hosted_unsubscribe``); the email is built with
  its placeholder as the unsubscribe link, a clearly fake address that preview and the dry run
  show as it is, and the provider swaps in its own per-recipient link (SendGrid: the tag
  ``<%asm_group_unsubscribe_raw_url%>`` in link and ``List-Unsubscribe``, plus
  ``asm.group_id``), so it hosts the page and keeps the list.
- **Own page**: ``unsubscribe_url`` in newsletter.toml, e.g.
  ``https://example.org/unsubscribe?token={{unsubscribe_token}}``. The token is
  ``make_token(address, list)``; the page calls ``verify_token`` (or runs
  ``newsletter unsubscribe verify TOKEN``) to learn whose it is, so nobody can unsubscribe
  somebody else by editing a link.
- **Mail only**: ``unsubscribe_mailto`` alone (no one-click: Gmail and Yahoo want one).

Token format: ``base64url(JSON [address, list]) "." base64url(HMAC-SHA256(secret, that JSON))``,
the secret being ``NEWSLETTER_UNSUBSCRIBE_SECRET`` (environment or .env).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from newsletter.compose.audience import Recipient
from newsletter.secrets import secret

if TYPE_CHECKING:
    from newsletter.workspace import Workspace

SECRET_VARIABLE = "NEWSLETTER_UNSUBSCRIBE_SECRET"
TOKEN_FIELD = "unsubscribe_token"
PREVIEW_TOKEN = "PREVIEW-not-a-real-token"


@dataclass(frozen=True)
class HostedUnsubscribe:
    """A provider that hosts the unsubscribe page itself: the email is built with ``placeholder``
    as its unsubscribe link (plainly fake, on the never-resolving .invalid domain, which preview
    and the dry run show as it is) and the provider swaps in its own per-recipient link."""

    placeholder: str
    mode: str  # a short name for `check`, e.g. "sendgrid-group"
    explanation: str  # one sentence for people


# Every hosted-unsubscribe placeholder contains this: a provider that hosts none refuses to send it.
HOSTED_PLACEHOLDER_MARK = "-replaces-this.invalid/"


class InvalidToken(ValueError):
    """Not a token this secret signed (tampered, truncated, or from another secret)."""


@dataclass(frozen=True)
class Subscription:
    email: str
    list: str


def _secret(value: str | None) -> bytes:
    return (value or secret(SECRET_VARIABLE, "{{unsubscribe_token}}")).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(email: str, list_id: str, key: str | None = None) -> str:
    """The token for ``email`` on ``list_id``; ``key`` defaults to $NEWSLETTER_UNSUBSCRIBE_SECRET."""
    payload = json.dumps([email, list_id], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return f"{_b64(payload)}.{_b64(hmac.new(_secret(key), payload, hashlib.sha256).digest())}"


def verify_token(token: str, key: str | None = None, list_name: str | None = None) -> Subscription:
    """Whose token this is, or ``InvalidToken``. With ``list_name``, a token is valid only when
    it names that list: lists that share a secret cannot unsubscribe readers from each other.
    For a team's own unsubscribe page::

        from newsletter.render.unsubscribe import InvalidToken, verify_token
        try:
            who = verify_token(request.args["token"], list_name="Northwind Notes")  # reads $NEWSLETTER_UNSUBSCRIBE_SECRET
        except InvalidToken:
            return "This link is not valid", 400
        unsubscribe(who.email, who.list)
    """
    body, dot, signature = token.strip().partition(".")
    try:
        payload, mac = _unb64(body), _unb64(signature)
    except (binascii.Error, ValueError):
        raise InvalidToken("not an unsubscribe token") from None
    if not dot or not hmac.compare_digest(mac, hmac.new(_secret(key), payload, hashlib.sha256).digest()):
        raise InvalidToken("the signature does not match: the token was changed or made with another secret")
    try:
        email, named = json.loads(payload.decode("utf-8"))
    except (ValueError, TypeError, RecursionError):  # signed, yet not [address, list]: not ours to trust
        raise InvalidToken("the token is signed but does not hold an address and a list") from None
    if not isinstance(email, str) or not isinstance(named, str) or not email.strip():
        raise InvalidToken("the token is signed but does not hold an address and a list")
    if list_name is not None and named != list_name:
        raise InvalidToken(f"the token is for the list {named!r}, not {list_name!r}")
    return Subscription(email, named)


def list_id(workspace: Workspace) -> str:
    return workspace.settings.name


def with_tokens(recipients: Iterable[Recipient], workspace: Workspace) -> list[Recipient]:
    """The recipients with ``unsubscribe_token`` among their merge fields."""
    key, name = _secret(None).decode("utf-8"), list_id(workspace)
    return [dataclasses.replace(r, fields={**r.fields, TOKEN_FIELD: make_token(r.email, name, key)})
            for r in recipients]


def preview_values(recipient: Recipient, workspace: Workspace) -> dict[str, str]:
    """Merge values for a preview: a real token when the secret is set, else a clearly fake one."""
    token = make_token(recipient.email, list_id(workspace)) if os.environ.get(SECRET_VARIABLE) else PREVIEW_TOKEN
    return {**recipient.merge_fields, TOKEN_FIELD: token}


# --- modes ---------------------------------------------------------------------------------

def sending_workspace(workspace: Workspace, hosted: HostedUnsubscribe | None) -> Workspace:
    """The workspace as the email should be built for the provider that sends it: when that
    provider hosts unsubscribes (``hosted``, from deliver's ``hosted_unsubscribe``), its
    unsubscribe link is the placeholder that the provider replaces per recipient."""
    if hosted is None:
        return workspace
    settings = dataclasses.replace(workspace.settings, unsubscribe_url=hosted.placeholder)
    return dataclasses.replace(workspace, settings=settings, hosted_unsubscribe=hosted)


def unsubscribe_mode(workspace: Workspace) -> tuple[str, str]:
    """(mode, one sentence for people) about how readers unsubscribe."""
    settings = workspace.settings
    hosted = workspace.hosted_unsubscribe
    if hosted:
        return hosted.mode, hosted.explanation
    url = settings.unsubscribe_url
    if url and "{{" + TOKEN_FIELD + "}}" in url.replace(" ", ""):
        return "own-page-token", (f"your own page at {url.split('?')[0]}, with a signed token it checks with "
                                  "'newsletter unsubscribe verify' (secret: NEWSLETTER_UNSUBSCRIBE_SECRET)")
    if url:
        return "own-page", (f"your own page at {url.split('?')[0]}; its link carries no signed token, so anyone "
                            "could unsubscribe someone else: use {{unsubscribe_token}}, or a SendGrid group")
    if settings.unsubscribe_mailto:
        return "mailto", f"by email to {settings.unsubscribe_mailto} only (no one-click link)"
    return "none", "no unsubscribe link or address is set"


__all__ = ["InvalidToken", "Subscription", "make_token", "sending_workspace",
           "unsubscribe_mode", "verify_token", "with_tokens"]
