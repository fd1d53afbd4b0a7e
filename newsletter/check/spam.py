"""`newsletter check --spam`: SpamAssassin's verdict on the message as it would leave.

The message is the one the provider would send (``render.message.build_message`` on the
campaign `check` builds, unsubscribe mode included), for one sample recipient with their merge
values and unsubscribe token filled. Debian's ``spamassassin`` scores it with local rules only
(``-L``: no DNS blocklists, no network), each rule hit becoming a finding with its points and a
fix. Mail providers weigh their own filters differently, so the bar is low: a total above
``MAX_SCORE`` is an error, any rule with points a warning.

When SpamAssassin is not installed the check says how to install it and is skipped (a note).
``NEWSLETTER_SPAMASSASSIN`` names another executable.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Iterator

from newsletter.check.checks import CheckContext, Finding

MAX_SCORE = 2.0  # points; SpamAssassin's own spam threshold is 5.0
TIMEOUT = 120  # seconds: the first run after installing compiles the rules
EXECUTABLE_VARIABLE = "NEWSLETTER_SPAMASSASSIN"
INSTALL_HINT = "install it (Debian/Ubuntu: sudo apt-get install spamassassin; macOS: brew install spamassassin)"
SAMPLE = {"email": "reader@example.org", "first_name": "Alex", "last_name": "Reader", "name": "Alex Reader"}

# How to get rid of the hits a newsletter is likely to score; other rules get the generic advice.
FIXES = {
    "HTML_FONT_LOW_CONTRAST": "text coloured like its background reads as hidden spam text: hide the preheader "
                              "with display:none;max-height:0;overflow:hidden;mso-hide:all, not with a colour "
                              "(the packaged themes do), and keep text colours well apart from backgrounds",
    "GB_CUSTOM_HTM_URI": "a link carries the reader's address (?email=...): unsubscribe with a signed token "
                         "instead: unsubscribe_url = \"https://.../unsubscribe?token={{unsubscribe_token}}\"",
    "MIME_HTML_ONLY": "send a plain-text part beside the HTML (the build writes one: keep it)",
    "MPART_ALT_DIFF": "the plain-text and HTML parts differ a lot: keep the text template in step with the theme",
    "MPART_ALT_DIFF_COUNT": "the plain-text and HTML parts differ a lot: keep the text template in step with the theme",
    "HTML_IMAGE_ONLY_04": "add text: the email is mostly images",
    "HTML_IMAGE_ONLY_08": "add text: the email is mostly images",
    "HTML_IMAGE_ONLY_12": "add text: the email is mostly images",
    "HTML_IMAGE_ONLY_16": "add text: the email is mostly images",
    "HTML_IMAGE_ONLY_20": "add text: the email is mostly images",
    "HTML_IMAGE_ONLY_24": "add text: the email is mostly images",
    "HTML_IMAGE_ONLY_28": "add text: the email is mostly images",
    "HTML_IMAGE_RATIO_02": "more text per image: add a sentence to each article or drop an image",
    "HTML_IMAGE_RATIO_04": "more text per image: add a sentence to each article or drop an image",
    "HTML_IMAGE_RATIO_06": "more text per image: add a sentence to each article or drop an image",
    "HTML_IMAGE_RATIO_08": "more text per image: add a sentence to each article or drop an image",
    "HTML_SHORT_LINK_IMG_1": "an image that is the only content of a link: add text around it",
    "HTML_SHORT_LINK_IMG_2": "an image that is the only content of a link: add text around it",
    "HTML_SHORT_LINK_IMG_3": "an image that is the only content of a link: add text around it",
    "SUBJ_ALL_CAPS": "write the subject in sentence case",
    "UPPERCASE_50_75": "less text in capitals",
    "UPPERCASE_75_100": "less text in capitals",
    "EMPTY_MESSAGE": "the message has no text: check the theme",
    "MISSING_MID": "the message has no Message-ID header",
    "MISSING_DATE": "the message has no Date header",
    "FROM_EXCESS_BASE64": "use a plain ASCII sender name",
    "FREEMAIL_FROM": "send from your own domain, not a free mail address (Gmail and Yahoo reject bulk mail "
                     "from their domains sent elsewhere)",
    "T_REMOTE_IMAGE": "images load from the web: normal for a newsletter, give each one alt text",
    "HTML_MIME_NO_HTML_TAG": "the HTML part has no <html> tag: check the theme",
    "TVD_SPACE_RATIO": "too many spaces in the subject: tidy the subject",
}
GENERIC_FIX = "change the wording, links or markup the rule's description names, then run check --spam again"

_REPORT = re.compile(r"^Content analysis details:\s+\((-?[\d.]+) points", re.MULTILINE)
_RULE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s+(.*)$")


@dataclass(frozen=True)
class Hit:
    rule: str
    points: float
    description: str


@dataclass(frozen=True)
class SpamReport:
    score: float
    hits: tuple[Hit, ...]


def find_spamassassin() -> str | None:
    return os.environ.get(EXECUTABLE_VARIABLE) or shutil.which("spamassassin")


def score(message: bytes, executable: str | None = None) -> SpamReport:
    """SpamAssassin's report on one raw message, local rules only. ``FileNotFoundError`` when
    it is not installed, ``RuntimeError`` when it gives no report."""
    executable = executable or find_spamassassin()
    if not executable:
        raise FileNotFoundError("spamassassin")
    command = [executable, "-t", "-L", "-x", "--cf=use_bayes 0", "--cf=bayes_auto_learn 0"]
    done = subprocess.run(command, input=message, capture_output=True, timeout=TIMEOUT)
    return parse_report(done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace"))


def parse_report(output: str, errors: str = "") -> SpamReport:
    """The total and the rule table of ``spamassassin -t`` output (the report it appends)."""
    found = list(_REPORT.finditer(output))
    if not found:
        detail = " ".join(errors.split())[:200] or "no report in its output"
        raise RuntimeError(f"spamassassin gave no report: {detail}")
    last = found[-1]
    table = output[last.end():].split("\n---- ", 1)[-1].split("\n", 1)[-1]
    hits: list[Hit] = []
    for line in table.splitlines():
        if not line.strip():
            if hits:
                break
            continue
        match = _RULE.match(line)
        if match:
            hits.append(Hit(match.group(2), float(match.group(1)), match.group(3).strip()))
        elif hits and line.startswith(" "):  # a wrapped description
            previous = hits[-1]
            hits[-1] = Hit(previous.rule, previous.points, f"{previous.description} {line.strip()}")
        else:
            break
    return SpamReport(float(last.group(1)), tuple(hits))


def sample_message(ctx: CheckContext) -> bytes:
    """The raw message the provider would send to one recipient: the audience's first, or a stand-in."""
    from newsletter.check.checks import audience_of
    from newsletter.compose.audience import Recipient
    from newsletter.render.message import build_message
    from newsletter.render.unsubscribe import TOKEN_FIELD, preview_values

    recipient = None
    try:
        audience = audience_of(ctx.build, ctx.workspace)
        recipient = next(iter(audience), None) if audience is not None else None
    except Exception:  # an unreadable audience is another check's finding
        recipient = None
    recipient = recipient or Recipient(SAMPLE["email"], {k: v for k, v in SAMPLE.items() if k != "email"})
    values = preview_values(recipient, ctx.workspace)
    if not os.environ.get("NEWSLETTER_UNSUBSCRIBE_SECRET"):
        from newsletter.render.unsubscribe import list_id, make_token

        values[TOKEN_FIELD] = make_token(recipient.email, list_id(ctx.workspace), key="check-spam-sample")
    filled = Recipient(recipient.email, {k: v for k, v in values.items() if k != "email"})
    return bytes(build_message(ctx.campaign, filled))


def check_spam(ctx: CheckContext) -> Iterator[Finding]:
    place = "spamassassin"
    executable = find_spamassassin()
    if not executable:
        yield Finding("spam-check-skipped", "warning", f"SpamAssassin is not installed, so the spam score was not "
                      f"measured: {INSTALL_HINT}", place)
        return
    try:
        report = score(sample_message(ctx), executable)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as error:
        yield Finding("spam-check-failed", "error", f"SpamAssassin could not score the message: {error}", place)
        return
    for hit in report.hits:
        if hit.points <= 0:
            continue
        fix = FIXES.get(hit.rule, GENERIC_FIX)
        yield Finding(f"spam-{hit.rule}", "warning", f"{hit.points:+.1f} points: {hit.description}. Fix: {fix}",
                      place)
    total = report.score + 0.0  # SpamAssassin prints -0.0 for a clean message
    rules = ", ".join(f"{h.rule} {h.points:+.1f}" for h in report.hits if h.points) or "no rule with points"
    if report.score > MAX_SCORE:
        yield Finding("spam-score", "error", f"SpamAssassin scores the message {total:.1f} points "
                      f"(over {MAX_SCORE:.1f}): {rules}", place)
    else:
        yield Finding("spam-score", "info", f"SpamAssassin scores the message {total:.1f} points "
                      f"(at most {MAX_SCORE:.1f} passes): {rules}", place)
