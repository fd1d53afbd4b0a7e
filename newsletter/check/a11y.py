"""`newsletter check --a11y`: axe-core in headless chromium, on the email as it is sent.

The inlined HTML is loaded four times: light and dark colour schemes (the themes' dark-mode CSS
applies), at 375 px (a phone) and 600 px (a desktop client). axe-core runs its default rules
(WCAG 2 A/AA and best practices) each time; each violation is a finding naming the rule, its
impact, the element and where it showed. Critical and serious ones are errors, moderate and
minor ones warnings.

Two rules do not fit email, whose accepted pattern is one ``role="article"`` with
``aria-roledescription="email"`` rather than page landmarks (a mail client wraps the message in
its own ``main``): ``landmark-one-main`` and ``region`` are reported as notes with that reason.

The page makes no request: every image and font fetch is refused, so the check is the same
offline. Chromium: ``NEWSLETTER_CHROMIUM``, else ``/usr/bin/chromium`` or ``chromium`` on PATH;
Playwright drives it and never downloads a browser. axe-core comes with axe-playwright-python
(``pip install 'newsletter[a11y]'``). When either is missing the check says how to install it
and is skipped.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from newsletter.check.checks import CheckContext, Finding

SCHEMES = ("light", "dark")
WIDTHS = (375, 600)
CHROMIUM_VARIABLE = "NEWSLETTER_CHROMIUM"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]  # without them chromium stalls offline
NOT_FOR_EMAIL = {
    "landmark-one-main": "email has no main landmark of its own: the mail client's page holds the message, "
                         "which the themes mark role=\"article\" aria-roledescription=\"email\"",
    "region": "email content is not split into page landmarks: the whole message is one "
              "role=\"article\" aria-roledescription=\"email\" inside the mail client's page",
}
SEVERITY = {"critical": "error", "serious": "error", "moderate": "warning", "minor": "warning"}
PLACE = "axe-core"


@dataclass
class Violation:
    rule: str
    impact: str
    help: str
    target: str
    html: str
    summary: str
    seen: list[str] = field(default_factory=list)  # "light 375 px", ...


def find_chromium() -> str | None:
    configured = os.environ.get(CHROMIUM_VARIABLE)
    if configured:
        return configured
    for candidate in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(candidate)
        if found:
            return found
    return None


def axe_script() -> str:
    """axe-core as axe-playwright-python packages it; ImportError when it is not installed."""
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


def run_axe(html: str, chromium: str, schemes=SCHEMES, widths=WIDTHS) -> tuple[str, list[Violation]]:
    """axe-core's version and its violations on ``html``, merged over every scheme and width."""
    from playwright.sync_api import sync_playwright

    script = axe_script()
    found: dict[tuple[str, str], Violation] = {}
    version = ""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            # One page, axe loaded once; the scheme and width change under it (the media queries follow).
            page = browser.new_page(viewport={"width": widths[0], "height": 900}, color_scheme=schemes[0])
            page.route("**/*", lambda route: route.abort())  # no request leaves the machine
            page.set_content(html, wait_until="domcontentloaded")
            page.evaluate(script)
            for scheme in schemes:
                for width in widths:
                    page.emulate_media(color_scheme=scheme)
                    page.set_viewport_size({"width": width, "height": 900})
                    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
                    version = results.get("testEngine", {}).get("version", version)
                    for rule in results["violations"]:
                        for node in rule["nodes"]:
                            target = " ".join(str(part) for part in node.get("target", []))
                            key = (rule["id"], target)
                            if key not in found:
                                found[key] = Violation(rule["id"], rule.get("impact") or "minor", rule["help"],
                                                       target, " ".join(node.get("html", "").split())[:160],
                                                       " ".join((node.get("failureSummary") or "").split()))
                            found[key].seen.append(f"{scheme} {width} px")
        finally:
            browser.close()
    return version, list(found.values())


def check_a11y(ctx: CheckContext) -> Iterator[Finding]:
    place = ctx.html_place()
    chromium = find_chromium()
    try:
        import axe_playwright_python  # noqa: F401
        import playwright  # noqa: F401
    except ImportError:
        yield Finding("a11y-check-skipped", "warning", "axe-core is not installed, so accessibility was not "
                      "measured: pip install 'newsletter[a11y]' (Playwright and axe-core; no browser download)",
                      place)
        return
    if not chromium or not Path(chromium).is_file():
        yield Finding("a11y-check-skipped", "warning", "no chromium found, so accessibility was not measured: "
                      f"install it (Debian/Ubuntu: sudo apt-get install chromium) or set {CHROMIUM_VARIABLE}",
                      place)
        return
    try:
        version, violations = run_axe(ctx.html, chromium)
    except Exception as error:  # Playwright's errors: the browser did not start or the page did not load
        yield Finding("a11y-check-failed", "error", f"axe-core could not run in {chromium}: "
                      f"{(str(error).splitlines() or [type(error).__name__])[0]}", place)
        return
    counted = 0
    for v in violations:
        where = ", ".join(v.seen) if len(v.seen) < len(SCHEMES) * len(WIDTHS) else "every scheme and width"
        if v.rule in NOT_FOR_EMAIL:
            yield Finding(f"a11y-{v.rule}", "info", f"{v.help} ({v.impact}; not applied to email: "
                          f"{NOT_FOR_EMAIL[v.rule]})", place)
            continue
        counted += 1
        detail = f" {v.summary}" if v.summary else ""
        yield Finding(f"a11y-{v.rule}", SEVERITY.get(v.impact, "warning"),
                      f"{v.help} ({v.impact}, {where}): {v.target or 'the page'}: {v.html}.{detail}", place)
    yield Finding("a11y-score", "info", f"axe-core {version} in chromium, light and dark at "
                  f"{' and '.join(map(str, WIDTHS))} px: {counted} violation{'s' if counted != 1 else ''}", place)
