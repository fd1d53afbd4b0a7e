"""Extractive summaries: whole sentences from the article, within a length budget.

Sentences are scored by centrality (similarity to the whole article), position
and overlap with the title, then picked greedily with a redundancy penalty
(maximal marginal relevance) and printed in article order.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import syntok.segmenter as segmenter

from .article import Article
from .issuefile import Budget

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each even few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just may me might more most much must my myself no nor not now of off on once only or other our
ours ourselves out over own same shall she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were what
when where which while who whom why will with would you your yours yourself yourselves let lets
s t don it's that's we're they're you're can't won't isn't aren't
""".split())
WORD = re.compile(r"[a-z][a-z'’-]*")
DANGLING_START = re.compile(r"^(?:this|that|these|those|it|they|he|she|but|and|so|yet|however|also|such)\b", re.IGNORECASE)
MIN_WORDS, MAX_WORDS = 6, 50
REDUNDANCY = 0.7


@dataclass(frozen=True)
class Sentence:
    text: str
    position: int
    terms: Counter

    @property
    def words(self) -> int:
        return len(self.text.split())


def split_sentences(paragraph: str) -> list[str]:
    return [
        "".join(token.spacing + token.value for token in sentence).strip()
        for section in segmenter.analyze(paragraph)
        for sentence in section
    ]


def terms(text: str) -> Counter:
    return Counter(word.strip("'’-") for word in WORD.findall(text.lower()) if word not in STOPWORDS and len(word) > 2)


def summarize(article: Article, budget: Budget) -> str:
    sentences = [
        Sentence(text, position, terms(text))
        for position, text in enumerate(s for block in article.prose for s in split_sentences(block))
    ]
    candidates = [s for s in sentences if _quotable(s)] or sentences
    if not candidates:
        return ""
    scores = _scores(candidates, terms(article.text), terms(article.title), len(sentences))
    chosen = _pick(candidates, scores, budget)
    return " ".join(s.text for s in sorted(chosen, key=lambda s: s.position))


def _quotable(sentence: Sentence) -> bool:
    """A sentence an editor would quote on its own: complete, a statement, not too short or long."""
    return (
        MIN_WORDS <= sentence.words <= MAX_WORDS
        and sentence.text[-1] in ".’”\"'"
        and sentence.text[0].isupper()
        and "!" not in sentence.text
    )


def _scores(sentences: list[Sentence], document: Counter, title: Counter, total: int) -> dict[int, float]:
    scores = {}
    for sentence in sentences:
        centrality = _cosine(sentence.terms, document)
        title_overlap = _cosine(sentence.terms, title) if title else 0.0
        lead = 1.0 - min(sentence.position / max(total, 1), 1.0)
        score = centrality + 0.3 * title_overlap + 0.35 * lead
        if DANGLING_START.match(sentence.text):
            score *= 0.7
        scores[sentence.position] = score
    return scores


def _pick(sentences: list[Sentence], scores: dict[int, float], budget: Budget) -> list[Sentence]:
    max_sentences = budget.sentences or len(sentences)
    max_words = budget.words or 10**9
    chosen: list[Sentence] = []
    remaining = list(sentences)
    while remaining and len(chosen) < max_sentences:
        used = sum(s.words for s in chosen)
        fitting = [s for s in remaining if used + s.words <= max_words]
        if not fitting:
            break
        best = max(fitting, key=lambda s: scores[s.position] - REDUNDANCY * _max_similarity(s, chosen))
        chosen.append(best)
        remaining.remove(best)
    if not chosen:
        chosen = [min(sentences, key=lambda s: s.words)]
    return chosen


def _max_similarity(sentence: Sentence, chosen: list[Sentence]) -> float:
    return max((_cosine(sentence.terms, other.terms) for other in chosen), default=0.0)


def _cosine(a: Counter, b: Counter) -> float:
    if not a or not b:
        return 0.0
    dot = sum(count * b[term] for term, count in a.items() if term in b)
    norm = math.sqrt(sum(c * c for c in a.values())) * math.sqrt(sum(c * c for c in b.values()))
    return dot / norm if norm else 0.0
