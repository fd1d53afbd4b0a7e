"""What the editor approved: a fingerprint of the email as it leaves, kept with the issue.

CI rebuilds an issue from its sources, and a URL source is fetched again there: a page that
changed or vanished since the editor looked would change the email nobody looked at. ``approve``
writes ``approved.json`` beside ``issue.md`` (committed with it); a scheduled send builds the
email again and sends it only if it is the same, byte for byte, naming the article that differs
when it is not.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from newsletter import __version__, clock
from newsletter.errors import InputError, display_path
from newsletter.files import write_atomically
from newsletter.render.build import Build
from newsletter.render.message import Campaign

APPROVAL_FILE = "approved.json"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def email_fingerprint(campaign: Campaign) -> str:
    return _digest(campaign.subject, campaign.html, campaign.text)


def article_fingerprints(build: Build) -> dict[str, str]:
    """Each article's own part, by its source: what names the page that changed."""
    return {str(entry.article.source): _digest(entry.title, entry.summary, entry.url or "", entry.image or "")
            for section in build.issue.sections for entry in section.entries}


@dataclass(frozen=True)
class Approval:
    path: Path
    sha256: str
    approved_at: str

    def to_dict(self) -> dict:
        return {"file": str(self.path), "sha256": self.sha256, "approved_at": self.approved_at}


def approve(build: Build, campaign: Campaign) -> Approval:
    path = build.spec.folder / APPROVAL_FILE
    record = {"issue": build.issue.slug, "approved_at": clock.now().isoformat(timespec="seconds"),
              "tool": __version__, "sha256": email_fingerprint(campaign), "articles": article_fingerprints(build)}
    write_atomically(path, json.dumps(record, indent=2) + "\n")
    return Approval(path, record["sha256"], record["approved_at"])


def verify_approved(build: Build, campaign: Campaign, required: bool) -> None:
    """Refuse (one line, nothing sent) an email that is not the one approved."""
    path = build.spec.folder / APPROVAL_FILE
    slug = build.issue.slug
    if not path.is_file():
        if required:
            raise InputError(build.spec.path, f"not approved: run 'newsletter approve {slug}' after checking it, and "
                             f"commit {display_path(path)}; a scheduled send only sends what an editor approved")
        return
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        approved, articles, when = str(record["sha256"]), dict(record.get("articles", {})), str(record["approved_at"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InputError(path, f"not an approval record: run 'newsletter approve {slug}' again") from None
    if email_fingerprint(campaign) == approved:
        return
    now = article_fingerprints(build)
    changed = [source for source, digest in now.items() if articles.get(source) != digest]
    changed += [source for source in articles if source not in now]
    what = f"{changed[0]} changed" if changed else "the email changed (settings, templates or the tool)"
    raise InputError(path, f"the email built now is not the one approved at {when}: {what}; nothing was sent. "
                     f"Build and check it again, then 'newsletter approve {slug}' and commit {APPROVAL_FILE}")
