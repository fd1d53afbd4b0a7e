"""Render a composed Issue: Jinja2 -> MJML -> HTML (mjml-python) -> inlined CSS (premailer).

The plain-text part is rendered from the same Issue with its own template.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

from .compose import Issue
from .errors import InputError
from .workspace import Workspace

PACKAGE_THEMES = Path(__file__).parent / "themes"
SAFE_SCHEMES = {"http", "https", "mailto"}
DOCTYPE = "<!doctype html>"
_SPACES_BETWEEN_TAGS = re.compile(r">[ \t]+<")
_IMPORT_RULE = re.compile(r"@import\s+url\([^)]*\)\s*;?")


@dataclass(frozen=True)
class Rendered:
    html: str
    text: str
    mjml: str


class LinkNumbers:
    """Numbers for reference-style links in the plain-text part, in reading order."""

    def __init__(self, issue: Issue) -> None:
        self.urls: list[str] = []
        for entry in issue.entries:
            url = safe_url(entry.url)
            if url and url not in self.urls:
                self.urls.append(url)

    def number(self, url: str | None) -> int | None:
        url = safe_url(url)
        return self.urls.index(url) + 1 if url in self.urls else None


def safe_url(url: str | None) -> str:
    """Only web and mail links; anything else (javascript:, data:) is dropped."""
    if not url:
        return ""
    url = url.strip()
    return url if urlsplit(url).scheme.lower() in SAFE_SCHEMES else ""


def long_date(value: dt.date | None) -> str:
    return f"{value.day} {value:%B %Y}" if value else ""


def wrap(text: str, width: int = 72) -> str:
    paragraphs = re.split(r"\n\s*\n", str(text).strip())
    return "\n\n".join(textwrap.fill(" ".join(p.split()), width) for p in paragraphs)


@functools.lru_cache(maxsize=8)
def environment(templates_dir: Path) -> jinja2.Environment:
    """Workspace templates first, so a team can override any theme file or partial."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(templates_dir), str(PACKAGE_THEMES)]),
        autoescape=jinja2.select_autoescape(enabled_extensions=("mjml.j2", "html.j2"), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(safe_url=safe_url, longdate=long_date, wrap=wrap)
    return env


def render(issue: Issue, workspace: Workspace) -> Rendered:
    context = {
        "issue": issue,
        "settings": workspace.settings,
        "brand": workspace.settings.brand,
        "links": LinkNumbers(issue),
    }
    env = environment(workspace.templates_dir)
    mjml = _render_template(env, f"{issue.theme}/issue.mjml.j2", context)
    text = _render_template(env, f"{issue.theme}/issue.txt.j2", context)
    html = inline_css(compile_mjml(mjml, f"{issue.theme}/issue.mjml.j2"))
    return Rendered(html=html, text=re.sub(r"\n{3,}", "\n\n", text).strip() + "\n", mjml=mjml)


def _render_template(env: jinja2.Environment, name: str, context: dict) -> str:
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateNotFound as error:
        raise InputError(None, f"theme template not found: templates/{error.name} (themes: {', '.join(_themes(env))})") from None
    except jinja2.TemplateSyntaxError as error:
        raise InputError(error.filename or name, f"template error: {error.message}", error.lineno) from None
    except jinja2.UndefinedError as error:
        raise InputError(_template_path(env, name), f"template error: {error.message}") from None


def _template_path(env: jinja2.Environment, name: str) -> str:
    source = env.loader.get_source(env, name)  # type: ignore[union-attr]
    return source[1] or name


def _themes(env: jinja2.Environment) -> list[str]:
    return sorted({name.split("/")[0] for name in env.list_templates() if name.endswith("issue.mjml.j2")})


def compile_mjml(mjml: str, template_name: str) -> str:
    from mjml import mjml2html

    # MRML rejects spaces between two tags on one line (after </mj-title>, say);
    # a newline there means the same to HTML and keeps user templates compiling.
    mjml = _SPACES_BETWEEN_TAGS.sub(">\n<", mjml)
    try:
        return mjml2html(mjml, disable_comments=True, fonts={})
    except ValueError as error:
        line = _offset_line(mjml, str(error))
        raise InputError(template_name, f"MJML compile failed (generated MJML line {line}): {error}") from None


def _offset_line(text: str, message: str) -> int | None:
    match = re.search(r"(\d+)", message)
    if not match:
        return None
    return text.count("\n", 0, min(int(match.group(1)), len(text))) + 1


def inline_css(html: str) -> str:
    """Inline CSS for clients that ignore <style>, keeping @media rules in a <style> block."""
    from premailer import Premailer

    html = _IMPORT_RULE.sub("", html)
    inlined = Premailer(
        html,
        keep_style_tags=True,
        strip_important=False,
        allow_network=False,
        remove_classes=False,
        disable_validation=True,
        cssutils_logging_level=logging.CRITICAL,
    ).transform()
    if not inlined.lstrip().lower().startswith("<!doctype"):
        inlined = f"{DOCTYPE}\n{inlined}"
    return inlined
