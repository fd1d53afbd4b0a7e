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

import functools
import math
import re
from collections import Counter
from dataclasses import dataclass

from newsletter.compose.issuefile import Budget
from newsletter.sources.article import Article
from newsletter.sources.monthnames import MONTH_NAMES
from newsletter.sources.stoplists import english_stopwords, language_stopwords

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
WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-])*")  # letters of any alphabet: "größte" is one word, not "gr", "te"
# A line break right after a sentence's final punctuation ends that sentence, whatever
# the segmenter makes of the token before it (it reads "$42.09bn." as an abbreviation).
BREAK_AFTER_SENTENCE_END = re.compile(r"(?<=[.!?])\s*\n\s*|(?<=[.!?][\"'’”)])\s*\n\s*")
# Openers that point back at a sentence the blurb may not include. A demonstrative, a logical connective or a
# pronoun ("This means ...", "However, ...", "They ...") hangs on the sentence before it, so it is quoted only
# after that one: a blurb stands alone, under a headline the reader may skip (a blind read of blurbs did not
# keep "They ..." quoted without the sentence naming them). A pronoun or a plain "But"/"Also" is also marked
# down (PRONOUN_START): BBC editors, whose extracts benchmarks/eval_summaries.py compares with, quote such
# sentences after their antecedent often, but less often than the sentences around them.
DANGLING_START = re.compile(
    r"^(?:this|that|these|those|such|however|thus|therefore|hence|moreover|furthermore|nevertheless|nonetheless"
    r"|otherwise|likewise|similarly|consequently|the\s+(?:same|latter|former)|as\s+a\s+result|in\s+addition"
    r"|for\s+(?:example|instance)|on\s+the\s+other\s+hand|even\s+so|despite\s+(?:this|that)"
    r"|the\s+(?:next|following|previous|same)\s+(?:day|week|month|year|season|morning|night|time)"
    r"|later|afterwards?|after\s+(?:that|all)|in\s+fact|indeed|of\s+course|at\s+the\s+same\s+time|in\s+(?:turn|response)|as\s+such|by\s+then"
    # German, French and Spanish: the articles most of the pages readers clip are written in
    r"|dies(?:e[mnrs]?)?|jedoch|allerdings|deshalb|daher|darum|dadurch|trotzdem|dennoch|außerdem|zudem|ebenso"
    r"|somit|folglich|demnach|deswegen|stattdessen|dafür|dabei|dazu|darüber\s+hinaus|zum\s+beispiel|danach|anschließend|später"
    r"|(?:am|im)\s+(?:nächsten|folgenden)\s+(?:tag|morgen|abend|jahr|monat)"
    r"|cependant|toutefois|pourtant|donc|ainsi|par\s+ailleurs|en\s+outre|de\s+plus|par\s+exemple|cette|ces"
    r"|sin\s+embargo|por\s+lo\s+tanto|por\s+eso|además|por\s+ejemplo|est[ea]s?)\b",
    re.IGNORECASE)
# Inside the sentence's first words, a contrast leans back just as much: "The council, however, said ...",
# "Je nach Situation muss die Finanzierung aber anders geschehen." (a comma before "aber" joins two clauses of
# the sentence itself: "klein, aber fein"); so do a demonstrative ("With this figure, ...", not "this year") and
# a person named by age ("The 27-year-old said ...").
LEANS_INSIDE = re.compile(r"^[^,;:.!?]{0,80}?(?:,\s+(?:however|cependant|toutefois|sin\s+embargo),"
                          r"|\s(?:aber|jedoch|allerdings|dennoch|trotzdem)\s)"
                          # "The 27-year-old said ...", "With this figure, ...": a person or a thing named before
                          r"|^(?:the|der|die)\s+\d{1,3}-(?:year-old|jährige)"
                          r"|^(?:\w+\s+){0,3}(?:diese[mnrs]?|solche[mnrs]?)\s"  # "Vor diesem Hintergrund ..."
                          r"|^(?:\w+\s+){0,3}(?:this|these|those|such)\s+(?!(?:year|week|month|morning|afternoon"
                          r"|evening|weekend|summer|winter|spring|autumn|season|time|way)\b)[a-z]", re.IGNORECASE)
PRONOUN_START = re.compile(r"^(?:it|its|they|their|them|he|his|she|her|but|and|so|yet|also|still|then|meanwhile"
                           r"|instead|another|und|aber|doch|denn|auch|dann|er|es|sein|seine|jetzt|nun|et|mais|pero|y"
                           # the first person: a speaker or the page's author the blurb does not name
                           r"|i|we|our|my|ich|wir|mein(?:e[mnrs]?)?|unser(?:e[mnrs]?)?|je|nous|notre|nos|nosotros"
                           r"|nuestr[oa]s?)\b",
                           re.IGNORECASE)
# An agency dateline or a byline opening a story: "LOS ANGELES (AP) — ", "SEOUL, South Korea — ", "By Jane Doe - ".
DATELINE = re.compile(
    r"^(?:[A-Z][A-Z.'’-]+(?:\s+[A-Z][A-Z.'’-]+){0,3}(?:,\s+[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,2})?"
    r"(?:\s*\((?:AP|AFP|Reuters|UPI|CNN|dpa|PA)\))?"
    r"|By\s+[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3}(?:,\s+[\w.'’ -]{2,40}?)?)\s*[—–-]{1,2}\s+(?=[A-Z\"“‘'])")
# A list item's label before its text: "Cultivating a positive environment - An environment where ...".
LABEL = re.compile(r"^(?P<label>[^.!?:;\n]{3,80}?)\s+[—–-]\s+(?=[A-Z\"“‘])")
MAX_LABEL_WORDS = 8
# An article is a list (deals, a roundup) when entries hold at least this share of its words ...
LIST_SHARE = 0.5
LIST_MIN_ENTRIES = 4  # ... and there are this many of them
DEALS = re.compile(r"[$£€]\s?\d|\d\s?%\s+off\b|\bwas\s+[$£€]", re.IGNORECASE)
# Calls to action the page's owner added ("Discover our ...", "Contact us today"): furniture, not content.
CALL_TO_ACTION = re.compile(
    r"^(?:please\s+)?(?:discover|explore|visit|contact|call|email|subscribe|sign\s+up|register|book|buy|shop|order|download"
    r"|follow|join|click|tap|browse|check\s+out|find\s+out|learn|read|get\s+in\s+touch)"
    r"\s+(?:(?:to|with|at|on|for)\s+)?(?:our|us|now|today|here|more|online|up)\b"
    # "Entdecken Sie unser …", "Jetzt anmelden", "Découvrez nos …", "Descubre nuestra …"
    r"|^(?:jetzt\s+)?(?:entdecken|besuchen|kontaktieren|bestellen|kaufen|abonnieren|registrieren|folgen|klicken"
    r"|erfahren|sichern|testen|melden)\s+sie\b|^jetzt\s+(?:\w+\s+)?(?:anmelden|abonnieren|bestellen|kaufen|sichern)\b"
    r"|^(?:découvrez|visitez|contactez|abonnez|inscrivez|commandez|suivez|cliquez)\b"
    r"|^(?:descubre|visita|contacta|suscríbete|regístrate|compra|síguenos|haz\s+clic)\b"
    r"|https?://|www\.|\S@\S",
    re.IGNORECASE,
)
# A publisher's boilerplate, pitch or teaser inside the text: "Sign up for the free daily newsletter.", "This
# podcast is produced weekly by ...", "Sponsored by ...", "Find out here which ...": an editor never quotes it.
PROMOTIONAL = re.compile(
    r"\b(?:sign\s+up|subscribe|newsletter|sponsored\s+by|in\s+partnership\s+with|produced\s+(?:weekly|daily|monthly|by)"
    r"|follow\s+us|download\s+(?:our|the)\s+app|all\s+rights\s+reserved|click\s+here|support\s+our\s+journalism"
    r"|this\s+(?:article|story|post)\s+(?:was|is|first|originally|contains)|affiliate\s+links?"
    r"|abonnieren|abonniere|gesponsert|in\s+zusammenarbeit\s+mit|folgen\s+sie\s+uns|folge\s+uns"
    r"|alle\s+rechte\s+vorbehalten|klicken\s+sie\s+hier|dieser\s+(?:artikel|beitrag)\s+(?:wurde|ist|enthält|erschien)"
    r"|(?:partner|provisions|affiliate)-?links?|s'abonner|abonnez-vous|inscrivez-vous|tous\s+droits\s+réservés"
    r"|suscríbete|todos\s+los\s+derechos\s+reservados|related\s+posts|copyright\s+©)\b|©\s*\d{4}"
    # A teaser that holds the finding back for the page to tell: "Find out here which ...", "Hier erfahren Sie, ..."
    r"|\bfind\s+out\s+(?:here|below|now|which|what|how|why|who)\b|\bread\s+on\s+to\b|\bhere['’]s\s+(?:what|how|why)\b"
    r"|\b(?:read|learn)\s+more\b|\bdownload\s+(?:it\s+)?here\b|\blesen\s+sie\s+(?:weiter|mehr)\b|\bweiterlesen\b"
    r"|\bmehr\s+(?:dazu\s+)?(?:erfahren|lesen)\s+sie\b|\bhier\s+(?:herunterladen|downloaden)\b"
    r"|\bhier\s+(?:erfahren|lesen|finden|sehen)\s+sie\b|\b(?:erfahren|lesen)\s+sie\s+(?:hier|jetzt|im\s+folgenden)\b"
    r"|\bwir\s+(?:verraten|zeigen|erklären)(?:\s+ihnen)?,?\s+(?:welche|was|wie|warum|wer|wo)\b"
    r"|\bdécouvrez\s+(?:ici|quels?|quelles?|comment|pourquoi)\b|\bdescubre\s+(?:aquí|qué|cómo|cuál)",
    re.IGNORECASE)
# A photo's caption or credit among the sentences: "(Photo: Jane Doe)", "Photograph: Getty Images".
CAPTION = re.compile(r"\b(?:photo(?:graph)?|foto(?:grafie)?|image|picture|bild|illustration|credit)s?\s*(?:by\s|:)"
                     r"|getty\s+images|"
                     r"\bAP\s+Photo\b|shutterstock|reuters/|\((?:left|right|center|centre|pictured|file)\)", re.IGNORECASE)
CAPTION_REPEAT = 0.7  # a sentence whose terms the next one mostly repeats is its picture's caption
QUOTABLE_END = ".’”\"'"
CUT_SHORT = re.compile(r"(?:\.\.\.|…)\W{0,2}$|\s\[?(?:\.\.\.|…)\]?$")  # "... and more...": a description cut off
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

    @functools.cached_property
    def words(self) -> int:
        return len(self.text.split())

    @functools.cached_property
    def norm(self) -> float:
        return _norm(self.terms)


def split_sentences(paragraph: str) -> list[str]:
    import syntok.segmenter as segmenter  # loaded only when an article is not in the cache yet

    return _with_ordinals_joined([
        "".join(token.spacing + token.value for token in sentence).strip()
        for piece in BREAK_AFTER_SENTENCE_END.split(paragraph)
        for section in segmenter.analyze(piece)
        for sentence in section
    ])


# A German ordinal ends in a full stop: "am 28. Februar", "des 400. Jahrestages", "im 17. und 18. Jahrhundert".
# The segmenter ends a sentence there; a blurb would quote half of one.
ORDINAL_END = re.compile(r"(?:^|\s)(?P<before>\S+)\s+\d{1,3}\.$")
ORDINAL_BEFORE = frozenset("am im vom zum zur beim ab bis seit des der dem den die das und ihr ihrem ihrer sein seinem "
                           "seiner jedem jeder".split())


def _with_ordinals_joined(sentences: list[str]) -> list[str]:
    joined: list[str] = []
    for sentence in sentences:
        if joined and _ends_in_ordinal(joined[-1], sentence):
            joined[-1] += " " + sentence
        else:
            joined.append(sentence)
    return joined


def _ends_in_ordinal(sentence: str, following: str) -> bool:
    match = ORDINAL_END.search(sentence)
    if not match:
        return False
    next_word = following.split(maxsplit=1)[0].strip(".,").lower() if following.strip() else ""
    return match["before"].lower() in ORDINAL_BEFORE or next_word in MONTH_NAMES and next_word not in ENGLISH_WORDS


ENGLISH_WORDS = frozenset("may mar set out gen ago mag".split())  # month names that also open English sentences


def terms(text: str, stopwords: frozenset[str] = STOPWORDS) -> Counter:
    return Counter(word.strip("'’-") for word in WORD.findall(text.lower()) if word not in stopwords and len(word) > 2)


def article_stopwords(article: Article) -> frozenset[str]:
    """The function words of the article's language, which say nothing of what a sentence is about: German's
    "der", "und", "nicht" weigh as much as "Kraftwerk" otherwise. English keeps the list tuned on the BBC set."""
    found = language_stopwords(Counter(WORD.findall(article.text.lower())))
    return found if found and found is not english_stopwords() else STOPWORDS


def limits(budget: Budget) -> tuple[float, float]:
    """The budget's most sentences and most words; 0 means no limit."""
    return budget.sentences or math.inf, budget.words or math.inf


def article_sentences(article: Article, blocks: list[str] | None = None,
                      stopwords: frozenset[str] | None = None) -> list[Sentence]:
    """Every sentence of the article's paragraphs and list items (or of ``blocks``), numbered in reading order.

    A block's first sentence loses an agency dateline, a byline or a list label in front of it: the rest is
    still the article's own words, and it reads on its own."""
    texts = (_without_lead_in(text) if index == 0 else text
             for block in (article.prose if blocks is None else blocks)
             for index, text in enumerate(s for s in split_sentences(block) if s))
    stopwords = article_stopwords(article) if stopwords is None else stopwords
    return [Sentence(text, position, terms(text, stopwords)) for position, text in enumerate(texts)]


def _without_lead_in(sentence: str) -> str:
    sentence = DATELINE.sub("", sentence, count=1)
    label = LABEL.match(sentence)
    if label and len(label.group("label").split()) <= MAX_LABEL_WORDS:
        sentence = sentence[label.end():]
    return sentence


def list_entries(article: Article) -> set[int]:
    """Indexes (among ``article.prose``) of the blocks that are entries of a list-shaped article: its list
    items, labelled paragraphs ("Product - $20 ...") and priced lines. Empty when the article is not a list."""
    prose = article.prose
    entries = {i for i, (block, text) in enumerate(zip(_prose_blocks(article), prose))
               if block.kind == "item" or LABEL.match(text) or DEALS.search(text) and len(text.split()) <= 40}
    words = sum(len(text.split()) for text in prose)
    listed = sum(len(prose[i].split()) for i in entries)
    return entries if len(entries) >= LIST_MIN_ENTRIES and listed >= LIST_SHARE * words else set()


def _prose_blocks(article: Article) -> list:
    return [block for block in article.blocks if block.kind != "heading"]


def quotable(sentence: Sentence) -> bool:
    """A sentence an editor would quote on its own: complete, a statement, not too short or long, not a sales pitch."""
    return (
        MIN_WORDS <= sentence.words <= MAX_WORDS
        and sentence.text[-1] in QUOTABLE_END
        and not CUT_SHORT.search(sentence.text)
        and sentence.text[0].isupper()
        and "!" not in sentence.text
        and not CALL_TO_ACTION.search(sentence.text)
        and not PROMOTIONAL.search(sentence.text)
        and not CAPTION.search(sentence.text)
        and quotes_balanced(sentence.text)
    )


def quotes_balanced(text: str) -> bool:
    """Every quotation the sentence opens it closes, and the other way round: a sentence that ends a quotation
    begun in the one before ("… können“, sagte der Minister.") is half of what someone said."""
    if text.count('"') % 2:
        return False
    if "„" in text or "“" in text and "”" not in text:  # German: „…“
        return text.count("„") == text.count("“")
    return text.count("“") == text.count("”")  # English: “…”


def summarize(article: Article, budget: Budget) -> str:
    """The blurb: the best whole sentences within the budget, or "" when not one fits."""
    stopwords = article_stopwords(article)
    sentences = _without_captions(article_sentences(article, stopwords=stopwords))
    entries = list_entries(article)
    if entries:  # a deals list or a roundup: its introduction and close say what it is, item by item does not
        framing = article_sentences(article, [t for i, t in enumerate(article.prose) if i not in entries], stopwords)
        if any(quotable(s) for s in framing):
            sentences = framing
    description = (article.description or "").strip()
    on_topic = bool(description) and _covered_by_body(description, article.text, stopwords)
    opening = _standfirst(description, budget, stopwords) if on_topic else []
    quoted = {s.text for s in opening}
    candidates = [s for s in sentences if quotable(s) and s.text not in quoted]
    if not opening and not candidates:  # only short or odd sentences: any complete one beats no blurb
        candidates = [s for s in sentences if s.text[-1] in ".?!" + QUOTABLE_END and not CALL_TO_ACTION.search(s.text)
                      and not CUT_SHORT.search(s.text) and not PROMOTIONAL.search(s.text)]
    topic = terms(article.title, stopwords) + (terms(description, stopwords) if on_topic else Counter())
    scores = _scores(candidates, terms(article.text, stopwords), topic, len(sentences))
    chosen = _pick(candidates, scores, budget, opening)
    return " ".join(s.text for s in opening + sorted(chosen, key=lambda s: s.position))


def _without_captions(sentences: list[Sentence]) -> list[Sentence]:
    """Sentences less a photo caption followed by the sentence it repeats: a shorter sentence whose terms the
    next one mostly has."""
    kept = []
    for sentence, after in zip(sentences, sentences[1:] + [None]):
        own = set(sentence.terms)
        if (after is not None and own and sentence.words < after.words
                and len(own & set(after.terms)) >= CAPTION_REPEAT * len(own)):
            continue
        kept.append(sentence)
    return kept


def _covered_by_body(description: str, body: str, stopwords: frozenset[str]) -> bool:
    """Most of the standfirst's content words recur in the rest of the article."""
    own = set(terms(description, stopwords))
    rest = set(terms(body.replace(description, " ", 1), stopwords))
    return len(own) >= STANDFIRST_MIN_TERMS and len(own & rest) >= STANDFIRST_COVERAGE * len(own)


def _standfirst(description: str, budget: Budget, stopwords: frozenset[str]) -> list[Sentence]:
    """The standfirst's sentences when all are quotable and together fit the budget, else none."""
    sentences = [Sentence(text, -1, terms(text, stopwords)) for text in split_sentences(description)]
    max_sentences, max_words = limits(budget)
    fits = len(sentences) <= max_sentences and sum(s.words for s in sentences) <= max_words
    return sentences if sentences and fits and all(quotable(s) for s in sentences) else []


def _scores(sentences: list[Sentence], document: Counter, topic: Counter, total: int) -> dict[int, float]:
    scores = {}
    document_norm, topic_norm = _norm(document), _norm(topic)  # once, not once per sentence
    for sentence in sentences:
        lead = 1.0 - sentence.position / max(total, 1)
        score = (_cosine(sentence.terms, document, document_norm, sentence.norm)
                 + TOPIC_WEIGHT * _cosine(sentence.terms, topic, topic_norm, sentence.norm)
                 + LEAD_WEIGHT * lead)
        if PRONOUN_START.match(sentence.text):
            score *= DANGLING_FACTOR
        scores[sentence.position] = score
    return scores


def _pick(sentences: list[Sentence], scores: dict[int, float], budget: Budget, opening: list[Sentence]) -> list[Sentence]:
    """Best first while the budget lasts; a sentence repeating an earlier pick loses what it repeats.

    "This means ..." is quoted only right after the sentence it points back to: when it is the best
    sentence left, that one is taken first if both fit, else it is passed over."""
    max_sentences, max_words = limits(budget)
    max_sentences -= len(opening)
    words_left = max_words - sum(s.words for s in opening)
    chosen: list[Sentence] = []
    remaining = list(sentences)
    while remaining and len(chosen) < max_sentences:
        fitting = [s for s in remaining if s.words <= words_left]
        if not fitting:
            break
        ranked = sorted(fitting, key=lambda s: scores[s.position] - _repetition(s, opening + chosen), reverse=True)
        best = next((s for s in ranked if not _leans_back(s, chosen)
                     or _antecedent(s, remaining, chosen, max_sentences, words_left)), None)
        if best is None:
            break
        if _leans_back(best, chosen):
            best = _antecedent(best, remaining, chosen, max_sentences, words_left)
        chosen.append(best)
        remaining.remove(best)
        words_left -= best.words
    return chosen


def _leans_back(sentence: Sentence, chosen: list[Sentence]) -> bool:
    return (sentence.position > 0 and bool(DANGLING_START.match(sentence.text) or LEANS_INSIDE.match(sentence.text)
                                           or PRONOUN_START.match(sentence.text))
            and sentence.position - 1 not in {s.position for s in chosen})


def _antecedent(sentence: Sentence, remaining: list[Sentence], chosen: list[Sentence], max_sentences: float,
                words_left: float) -> Sentence | None:
    """The sentence just before ``sentence``, when it is still free and both fit in what is left."""
    before = next((s for s in remaining if s.position == sentence.position - 1), None)
    fits = (before is not None and len(chosen) + 2 <= max_sentences
            and before.words + sentence.words <= words_left and not _leans_back(before, chosen))
    return before if fits else None


def _repetition(sentence: Sentence, chosen: list[Sentence]) -> float:
    similarity = max((_cosine(sentence.terms, other.terms, other.norm, sentence.norm) for other in chosen), default=0.0)
    return max(0.0, similarity - REPEAT_SIMILARITY)


def _cosine(a: Counter, b: Counter, b_norm: float | None = None, a_norm: float | None = None) -> float:
    if not a or not b:
        return 0.0
    dot = sum(count * b[term] for term, count in a.items() if term in b)
    norm = (_norm(a) if a_norm is None else a_norm) * (_norm(b) if b_norm is None else b_norm)
    return dot / norm if norm else 0.0


def _norm(counts: Counter) -> float:
    return math.sqrt(sum(c * c for c in counts.values()))
