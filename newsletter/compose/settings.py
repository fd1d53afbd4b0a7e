"""The ``[summary]`` table: how long blurbs are, and the optional model that writes them."""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.workspace import SettingsTable


@dataclass(frozen=True)
class SummarySettings(SettingsTable):
    TABLE = "summary"
    LIMITS = {"sentences": (1, 100), "words": (1, 10_000), "llm_timeout": (1, 3600)}

    sentences: int = 3  # most sentences in a blurb
    words: int = 60  # most words in a blurb: what the digest card holds beside its picture at 375 px (docs/extraction.md)
    llm_url: str = ""  # OpenAI-compatible base URL (…/v1); empty: extractive summaries only
    llm_model: str = ""  # the model name the server knows
    llm_timeout: int = 30  # seconds per article; the key comes from $NEWSLETTER_LLM_API_KEY
