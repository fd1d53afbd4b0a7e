"""Extractive summaries: whole sentences from the article, within a length budget.

Sentences are scored by centrality (similarity to the whole article), position and
overlap with the topic (the title, and the standfirst when the body bears it out),
then picked greedily, best first, each discounted by how much it repeats a sentence
already picked, and printed in article order. A standfirst that is itself a faithful
summary opens the blurb and the budget left over is filled from the body.

Nothing is rewritten: a blurb is made of sentences exactly as the article has them,
so a standfirst without a final full stop is never quoted (that would mean inventing
punctuation); it still tells the scorer what the article is about.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import syntok.segmenter as segmenter

from newsletter.article import Article
from newsletter.compose.issuefile import Budget

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
# A line break right after a sentence's final punctuation ends that sentence, whatever
# the segmenter makes of the token before it (it reads "$42.09bn." as an abbreviation).
BREAK_AFTER_SENTENCE_END = re.compile(r"(?<=[.!?])\s*\n\s*|(?<=[.!?][\"'’”)])\s*\n\s*")
# Openers that point back at a sentence the blurb may not include.
DANGLING_START = re.compile(r"^(?:this|that|these|those|it|they|he|she|but|and|so|yet|however|also|such)\b", re.IGNORECASE)
# Calls to action the page's owner added ("Discover our ...", "Contact us today"): furniture, not content.
CALL_TO_ACTION = re.compile(
    r"^(?:please\s+)?(?:discover|explore|visit|contact|call|email|subscribe|sign\s+up|register|book|buy|shop|order|download"
    r"|follow|join|click|tap|browse|check\s+out|find\s+out|learn|read|get\s+in\s+touch)"
    r"\s+(?:(?:to|with|at|on|for)\s+)?(?:our|us|now|today|here|more|online|up)\b"
    r"|https?://|www\.|\S@\S",
    re.IGNORECASE,
)
QUOTABLE_END = ".’”\"'"
MIN_WORDS, MAX_WORDS = 6, 50

TOPIC_WEIGHT = 0.3  # similarity to the title and standfirst, beside centrality (weight 1)
LEAD_WEIGHT = 0.15  # the opening sentence gets this much more than the last one
DANGLING_FACTOR = 0.7
REPEAT_SIMILARITY = 0.4  # above this cosine a sentence mostly repeats one already picked
# A standfirst is faithful when the rest of the article uses most of its content words.
STANDFIRST_COVERAGE = 0.6
STANDFIRST_MIN_TERMS = 3


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
        for piece in BREAK_AFTER_SENTENCE_END.split(paragraph)
        for section in segmenter.analyze(piece)
        for sentence in section
    ]


def terms(text: str) -> Counter:
    return Counter(word.strip("'’-") for word in WORD.findall(text.lower()) if word not in STOPWORDS and len(word) > 2)


def limits(budget: Budget) -> tuple[float, float]:
    """The budget's most sentences and most words; 0 means no limit."""
    return budget.sentences or math.inf, budget.words or math.inf


def article_sentences(article: Article) -> list[Sentence]:
    """Every sentence of the article's paragraphs and list items, numbered in reading order."""
    texts = (s for block in article.prose for s in split_sentences(block) if s)
    return [Sentence(text, position, terms(text)) for position, text in enumerate(texts)]


def quotable(sentence: Sentence) -> bool:
    """A sentence an editor would quote on its own: complete, a statement, not too short or long, not a sales pitch."""
    return (
        MIN_WORDS <= sentence.words <= MAX_WORDS
        and sentence.text[-1] in QUOTABLE_END
        and sentence.text[0].isupper()
        and "!" not in sentence.text
        and not CALL_TO_ACTION.search(sentence.text)
    )


def summarize(article: Article, budget: Budget) -> str:
    """The blurb: the best whole sentences within the budget, or "" when not one fits."""
    sentences = article_sentences(article)
    description = (article.description or "").strip()
    on_topic = bool(description) and _covered_by_body(description, article.text)
    opening = _standfirst(description, budget) if on_topic else []
    quoted = {s.text for s in opening}
    candidates = [s for s in sentences if quotable(s) and s.text not in quoted]
    if not opening and not candidates:  # only short or odd sentences: any complete one beats no blurb
        candidates = [s for s in sentences if s.text[-1] in ".?!" + QUOTABLE_END and not CALL_TO_ACTION.search(s.text)]
    topic = terms(article.title) + (terms(description) if on_topic else Counter())
    scores = _scores(candidates, terms(article.text), topic, len(sentences))
    chosen = _pick(candidates, scores, budget, opening)
    return " ".join(s.text for s in opening + sorted(chosen, key=lambda s: s.position))


def _covered_by_body(description: str, body: str) -> bool:
    """Most of the standfirst's content words recur in the rest of the article."""
    own = set(terms(description))
    rest = set(terms(body.replace(description, " ", 1)))
    return len(own) >= STANDFIRST_MIN_TERMS and len(own & rest) >= STANDFIRST_COVERAGE * len(own)


def _standfirst(description: str, budget: Budget) -> list[Sentence]:
    """The standfirst's sentences when all are quotable and together fit the budget, else none."""
    sentences = [Sentence(text, -1, terms(text)) for text in split_sentences(description)]
    max_sentences, max_words = limits(budget)
    fits = len(sentences) <= max_sentences and sum(s.words for s in sentences) <= max_words
    return sentences if sentences and fits and all(quotable(s) for s in sentences) else []


def _scores(sentences: list[Sentence], document: Counter, topic: Counter, total: int) -> dict[int, float]:
    scores = {}
    for sentence in sentences:
        lead = 1.0 - sentence.position / max(total, 1)
        score = _cosine(sentence.terms, document) + TOPIC_WEIGHT * _cosine(sentence.terms, topic) + LEAD_WEIGHT * lead
        if DANGLING_START.match(sentence.text):
            score *= DANGLING_FACTOR
        scores[sentence.position] = score
    return scores


def _pick(sentences: list[Sentence], scores: dict[int, float], budget: Budget, opening: list[Sentence]) -> list[Sentence]:
    """Best first while the budget lasts; a sentence repeating an earlier pick loses what it repeats."""
    max_sentences, max_words = limits(budget)
    max_sentences -= len(opening)
    words_left = max_words - sum(s.words for s in opening)
    chosen: list[Sentence] = []
    remaining = list(sentences)
    while remaining and len(chosen) < max_sentences:
        fitting = [s for s in remaining if s.words <= words_left]
        if not fitting:
            break
        best = max(fitting, key=lambda s: scores[s.position] - _repetition(s, opening + chosen))
        chosen.append(best)
        remaining.remove(best)
        words_left -= best.words
    return chosen


def _repetition(sentence: Sentence, chosen: list[Sentence]) -> float:
    similarity = max((_cosine(sentence.terms, other.terms) for other in chosen), default=0.0)
    return max(0.0, similarity - REPEAT_SIMILARITY)


def _cosine(a: Counter, b: Counter) -> float:
    if not a or not b:
        return 0.0
    dot = sum(count * b[term] for term, count in a.items() if term in b)
    norm = math.sqrt(sum(c * c for c in a.values())) * math.sqrt(sum(c * c for c in b.values()))
    return dot / norm if norm else 0.0
