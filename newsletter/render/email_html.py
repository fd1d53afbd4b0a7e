"""Render a composed Issue: Jinja2 -> MJML -> HTML (mjml-python) -> inlined CSS (premailer).

The plain-text part is rendered from the same Issue with its own template.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import logging
import os
import re
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urljoin

import jinja2
from markupsafe import Markup

from newsletter.compose.issue import Entry, Issue, Section
from newsletter.errors import InputError
from newsletter.render.assets import DISPLAY_WIDTH, Assets, image_size
from newsletter.render.links import LinkNumbers, safe_url, tag_url, utm_params
from newsletter.render.settings import Brand, UtmSettings
from newsletter.workspace import Settings, Workspace

PACKAGE_THEMES = Path(__file__).parent / "themes"
NO_ASSETS = Assets({})
SHARED_THEME = "_shared"
DOCTYPE = "<!doctype html>"
# Zero-width and non-breaking spaces after the preheader stop clients from filling the
# preview line with the first words of the body.
TEMPLATE_CACHE = Path(".cache") / "templates"  # in the workspace, when the user cache cannot be written
PREHEADER_PADDING = Markup("&#847;&zwnj;&nbsp;" * 90)
_IMPORT_RULE = re.compile(r"@import\s+url\([^)]*\)\s*;?")
_SPACES_BETWEEN_TAGS = re.compile(r">[ \t]+<")
_IMG_TAG = re.compile(r"<img\b[^>]*>")
_IMG_SRC = re.compile(r'\ssrc="([^"]*)"')
_IMG_WIDTH = re.compile(r'\swidth="(\d+)"')


@dataclass(frozen=True)
class Rendered:
    html: str
    text: str
    mjml: str


def long_date(value: dt.date | None) -> str:
    return f"{value.day} {value:%B %Y}" if value else ""


@functools.lru_cache(maxsize=4096)  # the preview re-wraps the same blurbs on every save
def wrap(text: str, width: int = 72) -> str:
    paragraphs = re.split(r"\n\s*\n", str(text).strip())
    return "\n\n".join(textwrap.fill(" ".join(p.split()), width) for p in paragraphs)


def html_to_text(html_text: str) -> str:
    """The intro (already rendered from Markdown) for the plain-text part: links as "text (url)"."""
    html_text = str(html_text)
    html_text = re.sub(r'<a href="([^"]*)">(.*?)</a>', lambda m: f"{m.group(2)} ({html.unescape(m.group(1))})", html_text)
    html_text = re.sub(r"</p>|<br\s*/?>|</li>", "\n\n", html_text)
    return html.unescape(re.sub(r"<[^>]+>", "", html_text)).strip()


class IssueView:
    """What templates need beyond the Issue: tracked links, the web version, reference numbers."""

    def __init__(self, issue: Issue, workspace: Workspace, assets: Assets, asset_base: str | None) -> None:
        self.issue, self.settings, self.assets = issue, workspace.settings, assets
        self.brand, self.utm = workspace.table(Brand), workspace.table(UtmSettings)
        self.asset_base = self.web_url if asset_base is None else asset_base
        self.links = LinkNumbers([self.article_link(e, s) for s in issue.sections for e in s.entries])

    def image_url(self, entry: Entry) -> str:
        if not entry.image or entry.image in self.assets.dropped:
            return ""
        target = self.assets.target(entry.image)
        return urljoin(self.asset_base, target) if target else safe_url(entry.image)

    def logo_url(self) -> str:
        """The processed logo beside the issue's images, or the logo as set when it could not be."""
        logo = self.brand.logo
        target = self.assets.target(logo) if logo else None
        return urljoin(self.asset_base, target) if target else safe_url(logo)

    def image_width(self, entry: Entry) -> int:
        """The width the image is shown at: the theme's column, or less for a small image."""
        processed = image_size(self.assets, entry)
        return processed.display_width if processed else DISPLAY_WIDTH

    def image_shapes(self) -> dict[str, float]:
        """Image URL -> height/width, to give each <img> a pixel height for Outlook."""
        return {urljoin(self.asset_base, self.assets.target(name)): image.height / image.width
                for name, image in self.assets.images.items()}

    def article_link(self, entry: Entry, section: Section) -> str:
        url = safe_url(entry.url)
        return tag_url(url, utm_params(self.utm, self.issue.slug, section.title)) if url else ""

    @property
    def web_url(self) -> str:
        return web_address(self.settings, self.issue.slug)

    def context(self) -> dict:
        return {
            "issue": self.issue,
            "settings": self.settings,
            "brand": self.brand,
            "links": self.links,
            "article_link": self.article_link,
            "image_url": self.image_url,
            "image_width": self.image_width,
            "logo_url": self.logo_url(),
            "web_url": self.web_url,
            "preheader_padding": PREHEADER_PADDING,
        }


def web_address(settings: Settings, slug: str) -> str:
    """The issue's web page ("view in browser"), where its images are published too."""
    return safe_url(settings.archive_url.replace("{slug}", slug))


@functools.lru_cache(maxsize=8)
def environment(templates_dir: Path) -> jinja2.Environment:
    """Workspace templates first, so a team can override any theme file or partial."""
    env = jinja2.Environment(
        loader=_OverridableLoader([str(templates_dir), str(PACKAGE_THEMES)]),
        bytecode_cache=_bytecode_cache(templates_dir.parent / TEMPLATE_CACHE),
        autoescape=jinja2.select_autoescape(enabled_extensions=("mjml.j2", "html.j2"), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(safe_url=safe_url, longdate=long_date, wrap=wrap, plaintext=html_to_text)
    return env


class _OverridableLoader(jinja2.FileSystemLoader):
    """Earlier folders win. A template found in a later folder is out of date as soon as an earlier
    one gains a file of that name: the preview keeps running while a team adds an override."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        candidates = [os.path.normpath(os.path.join(folder, *template.split("/"))) for folder in self.searchpath]
        earlier = candidates[:candidates.index(filename)] if filename in candidates else []
        return source, filename, lambda: uptodate() and not any(os.path.exists(path) for path in earlier)


def _bytecode_cache(workspace_folder: Path) -> jinja2.BytecodeCache | None:
    """Compiled templates kept between runs, per user like Python's own .pyc files: compiling the
    themes is a tenth of a first build. Keyed by each template's path and checked against its source,
    so workspaces never share a wrong one and an edited template is compiled again."""
    for folder in (*_user_cache_folders(), workspace_folder):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue  # a read-only home or workspace: the next place, else compile every time
        return jinja2.FileSystemBytecodeCache(str(folder))
    return None


def _user_cache_folders() -> list[Path]:
    try:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    except RuntimeError:  # no home directory at all
        return []
    return [root / "newsletter" / "templates"]


def render(issue: Issue, workspace: Workspace, assets: Assets = NO_ASSETS, asset_base: str | None = None) -> Rendered:
    env = environment(workspace.templates_dir)
    view = IssueView(issue, workspace, assets, asset_base)
    context = view.context()
    html_template = f"{issue.theme}/issue.mjml.j2"
    mjml = _render_template(env, [html_template], context)
    text = _render_template(env, [f"{issue.theme}/issue.txt.j2", f"{SHARED_THEME}/issue.txt.j2"], context)
    try:
        compiled = compile_mjml(mjml, html_template)
    except InputError as error:
        raise _in_template(error, env, html_template) from None
    html_out = inline_css(size_images(compiled, view.image_shapes()), workspace.settings.inliner)
    return Rendered(html=html_out, text=re.sub(r"\n{3,}", "\n\n", text).strip() + "\n", mjml=mjml)


def size_images(html_text: str, shapes: dict[str, float]) -> str:
    """Pixel ``height`` beside MJML's pixel ``width`` (Outlook for Windows sizes by them) and
    ``max-width:100%`` (phones scale down); the CSS ``height:auto`` keeps the proportions."""
    def sized(match: re.Match) -> str:
        tag = match.group(0)
        src, width = _IMG_SRC.search(tag), _IMG_WIDTH.search(tag)
        shape = shapes.get(html.unescape(src.group(1))) if src else None
        if shape is None or not width:
            return tag
        tag = tag.replace('height="auto"', f'height="{round(int(width.group(1)) * shape)}"', 1)
        return tag.replace('style="', 'style="max-width:100%;', 1)

    return _IMG_TAG.sub(sized, html_text) if shapes else html_text


def themes(workspace: Workspace) -> list[str]:
    return _themes(environment(workspace.templates_dir))


def _render_template(env: jinja2.Environment, names: list[str], context: dict) -> str:
    name = names[0]
    try:
        return env.select_template(names).render(context)
    except jinja2.TemplateNotFound as error:
        missing = error.name if error.name not in names[1:] else name
        path, line = _template_frame(error) or (None, None)  # the template that includes the missing one
        raise InputError(path, f"theme template not found: templates/{missing} (themes: {', '.join(_themes(env))})",
                         line) from None
    except jinja2.TemplateSyntaxError as error:
        raise InputError(error.filename or name, f"template error: {error.message}", error.lineno) from None
    except jinja2.TemplateError as error:  # raised while rendering: undefined names, bad filters
        path, line = _template_frame(error) or (name, None)
        raise InputError(path, f"template error: {error.message}", line) from None


def _template_frame(error: BaseException) -> tuple[str, int] | None:
    """The template file and line of the innermost template frame (Jinja rewrites tracebacks so)."""
    found = None
    traceback = error.__traceback__
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            found = (filename, traceback.tb_lineno)
        traceback = traceback.tb_next
    return found


def _themes(env: jinja2.Environment) -> list[str]:
    return sorted({name.split("/")[0] for name in env.list_templates()
                   if name.endswith("/issue.mjml.j2") and not name.startswith(SHARED_THEME)})


def compile_mjml(mjml: str, template_name: str) -> str:
    from mjml import mjml2html

    # MRML rejects spaces between two tags on one line (after </mj-title>, say);
    # a newline there means the same to HTML and keeps user templates compiling.
    mjml = _SPACES_BETWEEN_TAGS.sub(">\n<", mjml)
    try:
        return mjml2html(mjml, disable_comments=True, fonts={})
    except ValueError as error:
        span = re.search(r"position (\d+):(\d+)", str(error))
        token = mjml.encode()[int(span.group(1)):int(span.group(2))].decode("utf-8", "replace") if span else ""
        error = ValueError(f"{error}{f' ({token})' if token.strip() else ''}")
        raise InputError(f"templates/{template_name}", f"MJML compile failed: {error}{_near(mjml, str(error))}") from None


def _in_template(error: InputError, env: jinja2.Environment, name: str) -> InputError:
    """An MJML error at a template line (MRML only knows offsets in the generated MJML): the first
    line of the theme's templates holding the quoted line's first tag, else the top of the template."""
    token = re.search(r"position \d+:\d+ \((.*?)\)", error.message)
    tag = re.match(r"\s*(</?[\w-]+)", token.group(1) if token else error.message.partition(", near: ")[2])
    theme = name.split("/")[0]
    names = [name, *sorted(n for n in env.list_templates() if n.startswith(f"{theme}/") and n != name)]
    for candidate in names if tag else []:
        source = env.loader.get_source(env, candidate)[0]
        line = next((n for n, text in enumerate(source.splitlines(), 1) if tag.group(1) in text), None)
        if line:
            return InputError(_shown_template(env, candidate), error.message, line)
    return InputError(_shown_template(env, name), error.message, 1)


def _shown_template(env: jinja2.Environment, name: str) -> str:
    """The workspace's copy when it has one, else ``templates/NAME`` (the packaged theme's place)."""
    filename = env.get_template(name).filename or ""
    return filename if not Path(filename).is_relative_to(PACKAGE_THEMES) else f"templates/{name}"


def _near(mjml: str, message: str) -> str:
    """MRML reports character offsets; quote the generated line so the template part can be found."""
    match = re.search(r"position (\d+)", message)
    if not match:
        return ""
    offset = min(int(match.group(1)), len(mjml))
    line = mjml[mjml.rfind("\n", 0, offset) + 1: (mjml.find("\n", offset) + 1 or len(mjml) + 1) - 1].strip()
    return f", near: {line[:100]}"


def inline_css(html: str, inliner: str = "premailer") -> str:
    """Inline CSS for clients that ignore <style>, keeping @media rules in a <style> block.

    Both inliners give the same styles on the packaged themes (a test compares them);
    css-inline (Rust) is about a hundred times faster and loads in a few milliseconds."""
    html = _IMPORT_RULE.sub("", html)
    inlined = trim_inline_styles(INLINERS[inliner](html))
    if not inlined.lstrip().lower().startswith("<!doctype"):
        inlined = f"{DOCTYPE}\n{inlined}"
    return inlined


_STYLE_ATTRIBUTE = re.compile(r'(<(\w+)\b[^>]*?\sstyle=")([^"]*)(")')
_DECLARATION_GAP = re.compile(r"(^|;)\s*([-a-zA-Z]+)\s*:\s*")
# MJML's `table, td { border-collapse; mso-table-*space }` inlined onto every cell: those apply to
# tables only, and the rule stays in <style> besides. A few hundred bytes an article.
_TABLE_ONLY = re.compile(r"(?:^|(?<=;))(?:border-collapse|mso-table-lspace|mso-table-rspace):[^;]*;?")


def trim_inline_styles(html: str) -> str:
    """Inline styles without the inliner's spaces, and cells without table-only declarations."""
    def trim(match: re.Match) -> str:
        opening, tag, style, closing = match.groups()
        return f"{opening}{_trimmed_style(style, tag.lower() == 'td')}{closing}"

    return _STYLE_ATTRIBUTE.sub(trim, html)


@functools.lru_cache(maxsize=2048)
def _trimmed_style(style: str, in_cell: bool) -> str:
    """A few dozen distinct styles repeat over hundreds of elements: each is trimmed once."""
    style = _DECLARATION_GAP.sub(r"\1\2:", style).strip().rstrip(";")
    return _TABLE_ONLY.sub("", style).rstrip(";") if in_cell else style


@functools.cache
def _premailer_class() -> type:
    from premailer import Premailer

    return Premailer


@functools.cache
def _no_css_profiles():
    """A cssutils profile registry with no profiles in it, made once from the real one.

    premailer validates every inline style attribute against cssutils' property profiles even
    with disable_validation; validation only logs, yet compiling the profiles' patterns is half
    of a cold premailer run. Without profiles the output is the same (a test compares)."""
    import copy

    import cssutils

    empty = copy.copy(cssutils.profile)
    for name in ("_profilesProperties", "_rawProfiles"):  # its own containers, not the shared ones
        setattr(empty, name, {})
    empty._profileNames = []
    empty.removeProfile(all=True)
    return empty


@contextmanager
def _css_unvalidated():
    """Only while premailer runs: cssutils' own registry is back for anyone else afterwards."""
    import cssutils

    kept, cssutils.profile = cssutils.profile, _no_css_profiles()
    try:
        yield
    finally:
        cssutils.profile = kept


def _premailer(html: str) -> str:
    inliner = _premailer_class()(
        html,
        keep_style_tags=True,
        strip_important=False,
        allow_network=False,
        remove_classes=False,
        disable_validation=True,
        # Outlook for Windows sizes images by their width attribute, in pixels: premailer
        # would copy MJML's CSS "width:100%" over MJML's pixel width.
        disable_basic_attributes=["width", "height"],
        cssutils_logging_level=logging.CRITICAL,
    )
    with _css_unvalidated():
        return inliner.transform()


def _css_inline(html: str) -> str:
    try:
        import css_inline
    except ImportError:
        raise InputError(None, 'inliner = "css-inline" needs the css-inline package: '
                         "pip install 'newsletter[fast]' (or set inliner = \"premailer\")") from None
    return css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False).inline(html)


INLINERS = {"premailer": _premailer, "css-inline": _css_inline}
