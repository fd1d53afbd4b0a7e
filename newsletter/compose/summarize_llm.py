"""Summaries picked by a language model behind an OpenAI-compatible chat endpoint.

The model sees the title and the article's quotable sentences, numbered, and answers
with the numbers of the ones to keep. The blurb is those sentences exactly as the
article has them, in article order and cut to the budget, so a model chooses but never
puts words in the article's mouth. On any failure (no answer in time, an HTTP error, a
reply without usable numbers) the article gets the extractive summary instead; after a
connection failure or a time-out the endpoint is not asked again in this run.

Off unless ``llm_url`` is set in ``[summary]`` of newsletter.toml. The API key, if the
server wants one, comes from the environment variable NEWSLETTER_LLM_API_KEY only.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Callable

from newsletter.compose.issuefile import Budget
from newsletter.compose.settings import SummarySettings
from newsletter.compose.summarize import Sentence, article_sentences, limits, quotable, summarize
from newsletter.sources.article import Article

API_KEY_VARIABLE = "NEWSLETTER_LLM_API_KEY"
MAX_SENTENCES_SHOWN = 150  # keeps the prompt small on very long pages
NUMBER = re.compile(r"\b\d+\b")

Summarizer = Callable[[Article, Budget], str]
log = logging.getLogger(__name__)


class ReplyError(Exception):
    """The model answered, but not with sentence numbers we can use."""


def summarizer_for(settings: SummarySettings) -> Summarizer:
    """The extractive summariser, or the model-backed one when ``llm_url`` is configured."""
    if not settings.llm_url:
        return summarize
    return ChatSummarizer(settings.llm_url, settings.llm_model, settings.llm_timeout, os.environ.get(API_KEY_VARIABLE))


def blurb(summarizer: Summarizer, article: Article, budget: Budget) -> tuple[str, str]:
    """A summary and how it was made ("model" or "extractive"), whichever summariser is configured."""
    if isinstance(summarizer, ChatSummarizer):
        return summarizer.blurb(article, budget)
    return summarizer(article, budget), "extractive"


class ChatSummarizer:
    def __init__(self, url: str, model: str = "", timeout: float = 30, api_key: str | None = None) -> None:
        base = url.rstrip("/")
        self.endpoint = base if base.endswith("/chat/completions") else f"{base}/chat/completions"
        self.model = model
        self.timeout = timeout
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.reachable = True

    def __call__(self, article: Article, budget: Budget) -> str:
        return self.blurb(article, budget)[0]

    def blurb(self, article: Article, budget: Budget) -> tuple[str, str]:
        """The summary and who chose its sentences: "model", or "extractive" after a fallback."""
        import httpx  # only when a model is configured

        if not self.reachable:
            return summarize(article, budget), "extractive"
        try:
            return self._pick(article, budget), "model"
        except httpx.TransportError as error:  # refused, reset, timed out: it will not get better this run
            self.reachable = False
            log.warning("newsletter: warning: summary model at %s unreachable (%s); extractive summaries from here on",
                        self.endpoint, type(error).__name__)
        except Exception as error:  # noqa: BLE001 (any failure falls back, as documented)
            log.warning("newsletter: warning: %s: summary model failed (%s); extractive summary used instead",
                        article.source, _describe(error))
        return summarize(article, budget), "extractive"

    def _pick(self, article: Article, budget: Budget) -> str:
        candidates = [s for s in article_sentences(article) if quotable(s)][:MAX_SENTENCES_SHOWN]
        if not candidates:
            raise ReplyError("no quotable sentences to choose from")
        import httpx

        response = httpx.post(self.endpoint, json=self._request(article, candidates, budget),
                              headers=self._headers, timeout=self.timeout)
        response.raise_for_status()
        reply = response.json()["choices"][0]["message"]["content"]
        chosen = _within_budget(_numbered_picks(reply, candidates), budget)
        if not chosen:
            raise ReplyError(f"no usable sentence numbers in the reply {reply[:80]!r}")
        return " ".join(s.text for s in sorted(chosen, key=lambda s: s.position))

    def _request(self, article: Article, candidates: list[Sentence], budget: Budget) -> dict:
        limits = [f"at most {n} {unit}" for n, unit in ((budget.sentences, "sentences"), (budget.words, "words in all")) if n]
        instructions = (
            "You choose the sentences of a newsletter blurb. Given an article's title and its sentences, numbered, "
            f"pick the sentences ({', '.join(limits) or 'a few'}) that together best say what the article is about, "
            "most important first. Answer with the sentence numbers only, separated by commas."
        )
        numbered = "\n".join(f"{number}. {s.text}" for number, s in enumerate(candidates, start=1))
        request = {
            "messages": [
                {"role": "system", "content": instructions},
                {"role": "user", "content": f"Title: {article.title}\n\n{numbered}"},
            ],
            "temperature": 0,
        }
        return {"model": self.model, **request} if self.model else request


def _numbered_picks(reply: str, candidates: list[Sentence]) -> list[Sentence]:
    """The sentences the reply names, in the reply's order, each once; numbers out of range are ignored."""
    numbers = dict.fromkeys(int(n) for n in NUMBER.findall(reply) if 1 <= int(n) <= len(candidates))
    return [candidates[n - 1] for n in numbers]


def _within_budget(picks: list[Sentence], budget: Budget) -> list[Sentence]:
    """The model's picks, most important first, while they fit; one too long is passed over."""
    max_sentences, words_left = limits(budget)
    chosen = []
    for sentence in picks:
        if len(chosen) == max_sentences:
            break
        if sentence.words <= words_left:
            chosen.append(sentence)
            words_left -= sentence.words
    return chosen


def _describe(error: Exception) -> str:
    """What went wrong, without request headers (the API key) or the server's whole reply."""
    import httpx

    if isinstance(error, httpx.HTTPStatusError):
        return f"HTTP {error.response.status_code}"
    if isinstance(error, ReplyError):
        return str(error)
    return f"{type(error).__name__}: {error}"
