"""premailer and css-inline give every element of every theme the same inline styles."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import lxml.html
import pytest

from newsletter.render.build import build_issue
from newsletter.render.email_html import INLINERS, compile_mjml, inline_css
from newsletter.workspace import find_workspace
from tests.conftest import EXAMPLE_ISSUE
from tests.test_themes import THEMES


def _value(text: str) -> str:
    """cssutils (inside premailer) writes 0 for 0px and #666 for #666666; the meaning is the same."""
    text = re.sub(r"\s+", " ", text.strip().lower()).replace("'", '"').replace(", ", ",")
    text = re.sub(r"(?<![\d.])0(?:px|pt|em|rem|%)", "0", text)
    return re.sub(r"#([0-9a-f])\1([0-9a-f])\2([0-9a-f])\3\b", r"#\1\2\3", text).replace(" !important", "!important")


def styles(html: str) -> list[tuple]:
    found = []
    for element in lxml.html.fromstring(html.encode()).iter():
        if isinstance(element.tag, str):
            declarations = dict(part.split(":", 1) for part in (element.get("style") or "").split(";") if ":" in part)
            found.append((element.tag, element.get("width"), element.get("height"),
                          sorted((name.strip().lower(), _value(value)) for name, value in declarations.items())))
    return found


@pytest.mark.parametrize("theme", THEMES)
def test_both_inliners_give_the_same_styles(workspace: Path, theme: str) -> None:
    build = build_issue(find_workspace(workspace), EXAMPLE_ISSUE, theme=theme)
    compiled = compile_mjml(build.rendered.mjml, f"{theme}/issue.mjml.j2")
    by_premailer, by_css_inline = inline_css(compiled, "premailer"), inline_css(compiled, "css-inline")
    assert by_premailer != by_css_inline  # two different programs really ran
    ours, theirs = styles(by_premailer), styles(by_css_inline)
    assert len(ours) > 100 and sum(1 for *_, declared in ours if declared) > 50
    assert ours == theirs
    for html in (by_premailer, by_css_inline):
        assert html.lower().startswith("<!doctype html>") and "@media" in html
        assert "{{email}}" in html and "<!--[if mso" in html  # merge fields and Outlook's comments untouched


def test_the_inliner_is_chosen_in_newsletter_toml(workspace: Path, cli) -> None:
    settings = workspace / "newsletter.toml"
    settings.write_text(settings.read_text().replace("[newsletter]\n", '[newsletter]\ninliner = "css-inline"\n', 1))
    assert cli("build", EXAMPLE_ISSUE).code == 0
    html = (workspace / "build" / EXAMPLE_ISSUE / "index.html").read_text()
    assert 'style="' in html and "@media" in html
    settings.write_text(settings.read_text().replace('inliner = "css-inline"', 'inliner = "cssinline"'))
    result = cli("build", EXAMPLE_ISSUE)
    assert result.code == 2 and "inliner must be one of premailer, css-inline" in result.err


PREMAILER_AS_SHIPPED = """
import logging, sys
from premailer import Premailer
html = sys.stdin.read()
sys.stdout.write(Premailer(html, keep_style_tags=True, strip_important=False, allow_network=False,
                           remove_classes=False, disable_validation=True, disable_basic_attributes=["width", "height"],
                           cssutils_logging_level=logging.CRITICAL).transform())
"""


@pytest.mark.parametrize("theme", THEMES)
def test_premailer_without_cssutils_profiles_writes_the_same_email(workspace: Path, theme: str) -> None:
    """Dropping cssutils' validation profiles (half of a cold premailer run) changes no byte of the email."""
    build = build_issue(find_workspace(workspace), EXAMPLE_ISSUE, theme=theme)
    compiled = compile_mjml(build.rendered.mjml, f"{theme}/issue.mjml.j2")
    # A fresh interpreter: in this one the profiles may already be gone.
    shipped = subprocess.run([sys.executable, "-c", PREMAILER_AS_SHIPPED], input=compiled, capture_output=True,
                             text=True, check=True, timeout=120).stdout
    import cssutils

    from newsletter.render import email_html

    seen: list[int] = []
    real = email_html._premailer_class()
    transform = real.transform
    monkey = pytest.MonkeyPatch()
    monkey.setattr(real, "transform", lambda self: (seen.append(len(cssutils.profile.knownNames)), transform(self))[1])
    try:
        ours = INLINERS["premailer"](compiled)
    finally:
        monkey.undo()
    assert seen == [0], "the profiles really were dropped for our run"
    assert cssutils.profile.knownNames, "and are back for anyone else in the process"
    assert ours == shipped and 'style="' in ours
