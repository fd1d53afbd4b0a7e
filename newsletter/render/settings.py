"""The tables rendering reads: ``[brand]`` (how the email looks) and ``[utm]`` (link tagging)."""

from __future__ import annotations

from dataclasses import dataclass, field

from newsletter.workspace import SettingsTable


@dataclass(frozen=True)
class Brand(SettingsTable):
    TABLE = "brand"
    LIMITS = {"logo_width": (None, 600)}

    color: str = "#1f5f3a"  # links, buttons and the masthead rule
    text_color: str = "#222222"  # body text
    background: str = "#f4f1ea"  # around the cards
    card: str = "#ffffff"  # behind each article
    font: str = "Helvetica, Arial, sans-serif"  # a CSS font stack; web fonts are not loaded (most inboxes block them)
    heading_font: str = ""  # for headings; empty: font
    logo: str = ""  # an https image URL; the name is shown when empty
    logo_alt: str = ""  # the logo's alt text; empty: the name
    logo_width: int = 160  # pixels
    # The same four in a reader's dark mode:
    dark_background: str = "#121212"
    dark_card: str = "#1e1e1e"
    dark_text_color: str = "#e8e8e8"
    dark_color: str = "#8fd19e"
    dark_muted_color: str = "#a8a8a8"  # bylines and dates in dark mode: dimmer than the text, still AA on dark_card
    social: dict = field(default_factory=dict)  # label -> URL, shown in the footer


@dataclass(frozen=True)
class UtmSettings(SettingsTable):
    TABLE = "utm"

    enabled: bool = True  # add utm_source, utm_medium, utm_campaign and utm_content to article links
    source: str = "newsletter"  # utm_source
    medium: str = "email"  # utm_medium
    campaign: str = "{slug}"  # {slug} is the folder name
