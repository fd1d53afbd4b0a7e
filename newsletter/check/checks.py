"""`newsletter check`: deliverability and accessibility findings for a built issue.

Each check is a small function over a CheckContext that yields Findings; CHECKS lists
them. A finding has a code, a severity and a place (``file:line`` where one exists).
"""

from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterable, Iterator, Literal, Sequence

import lxml.html

from newsletter.check.client_support import load_table
from newsletter.check.settings import CheckSettings
from newsletter.compose.issueedit import STARTER_INTRO, STARTER_PREHEADER, starter_subject
from newsletter.errors import display_path
from newsletter.render.build import Build
from newsletter.render.message import MERGE_FIELD, Campaign
from newsletter.render.unsubscribe import HostedUnsubscribe
from newsletter.workspace import Workspace

Severity = Literal["error", "warning", "info"]
GMAIL_CLIP_BYTES = 102 * 1024
CLIP_WARNING_BYTES = 90 * 1024  # room left for a longer intro or a big merge value
SUBJECT_MAX = 60  # Gmail's desktop inbox shows about 70 characters, phones 35-45
PREHEADER_MIN, PREHEADER_MAX = 30, 110
IMAGE_BUDGET = 200 * 1024  # one image; phones on mobile data wait for every one
IMAGES_BUDGET = 1024 * 1024  # all images of an issue together
# Features the themes use on purpose, with fallbacks for clients that lack them
# (MJML's responsive @media columns, dark-mode rules): worth knowing, not worth a warning.
PROGRESSIVE = {"css-at-media-prefers-color-scheme", "html-meta-color-scheme", "css-color-scheme"}
# The scaffold's stand-ins (`newsletter init`, `newsletter new`): sent as they are, they look like spam or a joke.
STARTER_POSTAL_ADDRESS = "Your organisation, street, town"
PLACEHOLDER_DOMAIN = re.compile(r"(?i)[@./]example\.(?:com|org|net)\b")  # RFC 2606's reserved names
CONTACT_SETTINGS = ("sender", "reply_to", "website", "unsubscribe_url", "unsubscribe_mailto")
CSS_DECLARATION = re.compile(r"(?<![\w-])([a-z-]+)\s*:\s*([^;{}]+)")
AT_RULE = re.compile(r"@([a-z-]+)")


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    message: str
    place: str

    def __str__(self) -> str:
        """How `check` prints it, and `send` before it refuses: ``place: severity code: message``."""
        return f"{self.place}: {self.severity} {self.code}: {self.message}"


@dataclass(frozen=True)
class CheckReport:
    issue: str
    theme: str
    findings: tuple[Finding, ...]

    def count(self, severity: Severity) -> int:
        return sum(1 for finding in self.findings if finding.severity == severity)

    def to_dict(self) -> dict:
        return {"issue": self.issue, "theme": self.theme, "errors": self.count("error"),
                "warnings": self.count("warning"), "findings": [asdict(f) for f in self.findings]}


@dataclass
class CheckContext:
    build: Build
    campaign: Campaign
    workspace: Workspace
    audience_fields: set[str] | None  # None: no audience to check merge fields against
    audience_size: int | None = None  # recipients in the audience; None: no audience

    @property
    def html(self) -> str:
        return self.build.rendered.html

    @cached_property
    def document(self) -> lxml.html.HtmlElement:
        return lxml.html.document_fromstring(self.html)

    def issue_place(self, key: str | None = None) -> str:
        spec = self.build.spec
        line = spec.lines.get(key) if key else None
        return f"{display_path(spec.path)}:{line}" if line else display_path(spec.path)

    def html_place(self, element: lxml.html.HtmlElement | None = None) -> str:
        """Lines of the HTML as `newsletter build` writes it."""
        path = display_path(self.workspace.build_dir / self.build.issue.slug / "index.html")
        line = getattr(element, "sourceline", None)
        return f"{path}:{line}" if line else path


def check_size(ctx: CheckContext) -> Iterator[Finding]:
    size = len(ctx.html.encode("utf-8"))
    share = size / GMAIL_CLIP_BYTES
    if share > 1:
        yield Finding("gmail-clip", "error", f"HTML is {size / 1024:.0f} KB: Gmail clips messages over 102 KB "
                      "and hides the rest, unsubscribe link included", ctx.html_place())
    elif size > CLIP_WARNING_BYTES:
        yield Finding("gmail-clip-near", "warning", f"HTML is {size / 1024:.0f} KB, {share:.0%} of Gmail's "
                      "102 KB clipping limit", ctx.html_place())


def check_unsubscribe(ctx: CheckContext) -> Iterator[Finding]:
    settings = ctx.workspace.settings
    if not (settings.unsubscribe_url or settings.unsubscribe_mailto):
        yield Finding("no-list-unsubscribe", "error", "no List-Unsubscribe header: set unsubscribe_url "
                      "(https) and/or unsubscribe_mailto in newsletter.toml", "newsletter.toml")
    elif not settings.unsubscribe_url.startswith("https:"):
        yield Finding("no-one-click-unsubscribe", "warning", "Gmail and Yahoo require one-click unsubscribe "
                      "(RFC 8058): set an https unsubscribe_url in newsletter.toml", "newsletter.toml")
    visible = [a for a in ctx.document.iter("a") if "unsubscribe" in (a.text_content() or "").lower()]
    if not visible:
        yield Finding("no-unsubscribe-link", "error", "no visible unsubscribe link in the email body",
                      ctx.html_place())


def check_unsubscribe_mode(ctx: CheckContext) -> Iterator[Finding]:
    """Says how readers unsubscribe, and whether a signed token can be made."""
    import os

    from newsletter.render.unsubscribe import SECRET_VARIABLE, TOKEN_FIELD, unsubscribe_mode

    mode, explanation = unsubscribe_mode(ctx.workspace)
    yield Finding(f"unsubscribe-mode-{mode}", "info",
                  f"unsubscribe: {explanation}", "newsletter.toml")
    if TOKEN_FIELD in ctx.campaign.merge_field_names() and not os.environ.get(SECRET_VARIABLE):
        yield Finding("no-unsubscribe-secret", "error", f"{{{{{TOKEN_FIELD}}}}} is used but {SECRET_VARIABLE} is "
                      "not set (environment or .env): no token can be signed", "newsletter.toml")


BARE_TOOL_REQUIREMENT = re.compile(r"(?i)^newsletter\s*(?:\[[^\]]*\]\s*)?(?:[=<>!~]=?.*)?(?:;.*)?$")


def check_tool_requirement(ctx: CheckContext) -> Iterator[Finding]:
    """CI installs the tool from requirements.txt: a bare ``newsletter`` there is the public
    index's project of that name, someone else's code run with the send secrets."""
    path = ctx.workspace.root / "requirements.txt"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return
    for number, line in enumerate(lines, start=1):
        requirement = line.split(" #", 1)[0].strip()
        if BARE_TOOL_REQUIREMENT.match(requirement):
            yield Finding("tool-requirement-by-name", "error", f"'{requirement}' installs the package index's "
                          "project called newsletter, which is not this tool: pin this tool by where it comes from "
                          "(newsletter @ git+https://...@<commit>, or a wheel's URL)",
                          f"{display_path(path)}:{number}")


def check_postal_address(ctx: CheckContext) -> Iterator[Finding]:
    address = ctx.workspace.settings.postal_address.strip()
    body_text = " ".join(ctx.document.text_content().split())
    if not address:
        yield Finding("no-postal-address", "error", "no postal address: set postal_address in newsletter.toml "
                      "(CAN-SPAM requires one in every commercial email)", "newsletter.toml")
    elif " ".join(address.split()) not in body_text:
        yield Finding("no-postal-address", "error", "the postal address is not shown in the email body "
                      "(the theme's footer leaves it out)", ctx.html_place())


def check_placeholders(ctx: CheckContext) -> Iterator[Finding]:
    """Scaffold text the editor has not replaced yet, in the settings and in the issue."""
    settings = ctx.workspace.settings

    def settings_place(key: str) -> str:
        line = ctx.workspace.settings_line("newsletter", key)
        return f"newsletter.toml:{line}" if line else "newsletter.toml"

    if settings.postal_address.startswith(STARTER_POSTAL_ADDRESS):
        yield Finding("placeholder", "error", "postal_address is still the starter's placeholder: give your "
                      "organisation's real postal address", settings_place("postal_address"))
    for key in CONTACT_SETTINGS:
        value = getattr(settings, key)
        if PLACEHOLDER_DOMAIN.search(value):
            yield Finding("placeholder", "error", f"{key} is still an example address ({value}): "
                          "set your own in newsletter.toml", settings_place(key))
    spec = ctx.build.spec
    starter = {"subject": (spec.subject, starter_subject(spec.slug)), "preheader": (spec.preheader, STARTER_PREHEADER)}
    for key, (value, placeholder) in starter.items():
        if value == placeholder:
            yield Finding("placeholder", "error", f"the {key} is still the starter's {value!r}: write your own",
                          ctx.issue_place(key))
    if spec.intro.strip() == STARTER_INTRO:
        yield Finding("placeholder", "error", "the intro is still the starter's: write a few lines of your own "
                      "below the front matter", ctx.issue_place())


def check_article_links(ctx: CheckContext) -> Iterator[Finding]:
    lines = {ref.source: ref.line for ref in ctx.build.spec.articles}
    for entry in ctx.build.issue.entries:
        if not entry.url:
            source = entry.article.source
            line = lines.get(source)
            place = f"{display_path(ctx.build.spec.path)}:{line}" if line else ctx.issue_place()
            yield Finding("article-no-link", "warning", f"article {entry.title!r} ({source}) has no link, so "
                          "readers cannot read on: add url: under it (newsletter add ISSUE SOURCE --url URL)", place)


def check_links(ctx: CheckContext) -> Iterator[Finding]:
    for anchor in ctx.document.iter("a"):
        href = (anchor.get("href") or "").strip()
        label = " ".join((anchor.text_content() or "").split())[:40] or anchor.get("title", "")
        if not href or href == "#":
            yield Finding("empty-link", "error", f"link {label!r} goes nowhere", ctx.html_place(anchor))
        elif href.lower().startswith("http:"):
            yield Finding("insecure-link", "warning", f"link {label!r} uses http: ({href}); use https:",
                          ctx.html_place(anchor))
        elif not re.match(r"(?i)(https|mailto):", href):
            yield Finding("bad-link", "error", f"link {label!r} is not a web or mail link: {href}",
                          ctx.html_place(anchor))


def check_images(ctx: CheckContext) -> Iterator[Finding]:
    for image in ctx.document.iter("img"):
        src = image.get("src", "")
        if image.get("alt") is None:
            yield Finding("image-no-alt", "error", f"image {src} has no alt text", ctx.html_place(image))
        elif not image.get("alt").strip() and not image.get("role") == "presentation":
            yield Finding("image-empty-alt", "warning", f"image {src} has empty alt text", ctx.html_place(image))
        if src and not re.match(r"(?i)https?://", src) and not src.startswith("data:"):
            yield Finding("relative-image-url", "error", f"image {src} has a relative address, which no inbox can "
                          "load: set archive_url (and [publish]) in newsletter.toml so images are linked where "
                          "they are published", ctx.html_place(image))
        if not image.get("width"):
            yield Finding("image-no-width", "warning", f"image {src} has no width attribute (Outlook shows it "
                          "at its natural size)", ctx.html_place(image))


def check_image_weight(ctx: CheckContext) -> Iterator[Finding]:
    assets = ctx.build.assets
    for name, image in assets.images.items():
        if image.size > IMAGE_BUDGET:
            yield Finding("image-heavy", "warning", f"image {name} is {image.size / 1024:.0f} KB after "
                          f"processing (budget {IMAGE_BUDGET // 1024} KB): crop it or use a simpler picture",
                          _article_place(ctx, name))
    if assets.total_bytes > IMAGES_BUDGET:
        yield Finding("images-heavy", "warning", f"the images weigh {assets.total_bytes / 1024:.0f} KB together "
                      f"(budget {IMAGES_BUDGET // 1024} KB): use fewer or smaller ones", ctx.issue_place())


def check_image_alt(ctx: CheckContext) -> Iterator[Finding]:
    for entry in ctx.build.issue.entries:
        if entry.image and entry.image in ctx.build.assets.images and not entry.image_alt.strip():
            yield Finding("image-alt-missing", "warning", f"the picture of {entry.title!r} has no image_alt; "
                          "screen readers and blocked images show the title instead of what it shows",
                          _article_place(ctx, entry.image))


def _article_place(ctx: CheckContext, image: str) -> str:
    """The issue file's line listing the article that shows ``image``."""
    spec = ctx.build.spec
    sources = {entry.article.source for entry in ctx.build.issue.entries if entry.image == image}
    line = next((ref.line for ref in spec.articles if ref.image == image or ref.source in sources), None)
    return f"{display_path(spec.path)}:{line}" if line else ctx.issue_place()


def check_subject_and_preheader(ctx: CheckContext) -> Iterator[Finding]:
    issue = ctx.build.issue
    if not issue.subject:
        yield Finding("no-subject", "error", "the subject is empty", ctx.issue_place("subject"))
    elif len(issue.subject) > SUBJECT_MAX:
        yield Finding("subject-length", "warning", f"the subject is {len(issue.subject)} characters; inboxes "
                      f"cut it after about {SUBJECT_MAX} (phones after about 40)", ctx.issue_place("subject"))
    if not issue.preheader:
        yield Finding("no-preheader", "warning", "no preheader: inboxes will show the first words of the body "
                      "next to the subject", ctx.issue_place())
    elif not PREHEADER_MIN <= len(issue.preheader) <= PREHEADER_MAX:
        yield Finding("preheader-length", "warning", f"the preheader is {len(issue.preheader)} characters; "
                      f"{PREHEADER_MIN}-{PREHEADER_MAX} fill the inbox preview", ctx.issue_place("preheader"))
    elif issue.preheader.strip().lower() == issue.subject.strip().lower():
        yield Finding("preheader-repeats-subject", "warning", "the preheader repeats the subject",
                      ctx.issue_place("preheader"))


def check_merge_fields(ctx: CheckContext) -> Iterator[Finding]:
    used = ctx.campaign.merge_field_names()
    if ctx.audience_fields is None:
        if used - {"email"}:
            yield Finding("merge-fields-unchecked", "info", f"no audience to check merge fields against: "
                          f"{', '.join(sorted(used))}", ctx.issue_place())
        return
    for name in sorted(used - ctx.audience_fields - {"email", "unsubscribe_token"}):
        yield Finding("unknown-merge-field", "error", f"{{{{{name}}}}} is not a column of the audience "
                      f"(columns: {', '.join(sorted(ctx.audience_fields | {'email'}))}); it would be sent as "
                      "written", _merge_field_place(ctx, name))


def _merge_field_place(ctx: CheckContext, name: str) -> str:
    """The first line of the issue file or the settings that uses the field, else the issue file."""
    for path in (ctx.build.spec.path, ctx.workspace.root / "newsletter.toml"):
        if path.is_file():
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if name in MERGE_FIELD.findall(line):
                    return f"{display_path(path)}:{number}"
    return ctx.issue_place()


# MJML's own output is engineered with fallbacks for each client; judge what a theme adds.
MJML_BASELINE = """<mjml><mj-head><mj-preview>p</mj-preview></mj-head><mj-body><mj-wrapper><mj-section>
<mj-column><mj-text>t</mj-text><mj-image src="https://example.com/a.png" alt="a" href="https://example.com" />
<mj-button href="https://example.com">b</mj-button><mj-divider /></mj-column></mj-section></mj-wrapper>
</mj-body></mjml>"""


@functools.lru_cache(maxsize=1)
def mjml_baseline_features() -> frozenset[str]:
    from newsletter.render.email_html import compile_mjml, inline_css

    html = inline_css(compile_mjml(MJML_BASELINE, "baseline"))
    return frozenset(used_features(lxml.html.document_fromstring(html)))


def check_client_support(ctx: CheckContext) -> Iterator[Finding]:
    table = load_table(ctx.workspace.table(CheckSettings).caniemail or None)["features"]
    baseline = mjml_baseline_features()
    for slug, element in sorted(used_features(ctx.document).items()):
        fact = table.get(slug)
        if slug in baseline or not fact or not (fact["unsupported"] or fact["partial"]):
            continue
        severity: Severity = "info" if slug in PROGRESSIVE or not fact["unsupported"] else "warning"
        support = [f"not supported in {', '.join(fact['unsupported'])}"] if fact["unsupported"] else []
        support += [f"partly supported in {', '.join(fact['partial'])}"] if fact["partial"] else []
        yield Finding(f"client-support:{slug}", severity, f"{fact['title']}: {'; '.join(support)}",
                      ctx.html_place(element))


def used_features(document: lxml.html.HtmlElement) -> dict[str, lxml.html.HtmlElement | None]:
    """caniemail feature slugs used by the HTML, each with the first element using it."""
    found: dict[str, lxml.html.HtmlElement | None] = {}
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue
        found.setdefault(f"html-{element.tag}", element)
        css = element.text if element.tag == "style" else element.get("style", "")
        for slug in _css_features(css or ""):
            found.setdefault(slug, element)
        if element.tag == "img":
            src = element.get("src", "").lower()
            kind = "base64" if src.startswith("data:") else src.rsplit(".", 1)[-1].split("?")[0]
            found.setdefault(f"image-{kind}", element)
    return found


def _css_features(css: str) -> Iterator[str]:
    for rule in AT_RULE.findall(css):
        yield f"css-at-{rule}"
    if "prefers-color-scheme" in css:
        yield "css-at-media-prefers-color-scheme"
    for prop, value in CSS_DECLARATION.findall(css):
        yield f"css-{prop}"
        if prop == "display":
            yield f"css-display-{value.strip().split()[0]}"


CHECKS: list[Callable[[CheckContext], Iterator[Finding]]] = [
    check_size, check_unsubscribe, check_postal_address, check_placeholders, check_links, check_article_links,
    check_images, check_image_weight, check_image_alt,
    check_subject_and_preheader, check_merge_fields, check_client_support, check_unsubscribe_mode,
    check_tool_requirement,
]


Check = Callable[[CheckContext], Iterable[Finding]]


def check(ctx: CheckContext, extra: Sequence[Check] = ()) -> CheckReport:
    """Every offline check, then the ``extra`` ones (check.online.check_online requests every link)."""
    findings = [finding for run in [*CHECKS, *extra] for finding in run(ctx)]
    order = {"error": 0, "warning": 1, "info": 2}
    findings.sort(key=lambda f: order[f.severity])
    return CheckReport(ctx.build.issue.slug, ctx.build.issue.theme, tuple(findings))


def check_issue(workspace: Workspace, issue: str | Path, theme: str | None = None,
                audience: Path | None = None, extra: Sequence[Check] = (),
                hosted: HostedUnsubscribe | None = None) -> CheckReport:
    """Build the issue (optionally with another theme) and run every check on it, with the
    unsubscribe link of the provider that will send it (``hosted``, when it hosts one)."""
    from newsletter.render.build import build_issue
    from newsletter.render.unsubscribe import sending_workspace

    workspace = sending_workspace(workspace, hosted)  # the links as they will be sent
    return check_build(build_issue(workspace, issue, theme=theme), workspace, audience, extra)


def check_build(build: Build, workspace: Workspace, audience: Path | None = None,
                extra: Sequence[Check] = ()) -> CheckReport:
    from newsletter.render.message import campaign_for

    recipients = audience_of(build, workspace, audience)
    size = len(recipients) if recipients is not None else None
    return check(CheckContext(build, campaign_for(build, workspace), workspace,
                              audience_fields(recipients), size), extra)


def audience_fields(recipients: Iterable | None) -> set[str] | None:
    """The merge fields an audience offers; None when there is no audience to check against.
    A scanned audience knows its columns: no need to read a million rows back for them."""
    if recipients is None:
        return None
    columns = getattr(recipients, "names", None)
    return set(columns) if columns is not None else {name for r in recipients for name in r.fields}


def audience_of(build: Build, workspace: Workspace, audience: Path | None = None) -> list | None:
    """The issue's recipients, or None when no audience is configured."""
    from newsletter.compose.audience import audience_file, read_audience

    path = audience_file(workspace, build.spec, audience)
    return read_audience(path) if path else None
