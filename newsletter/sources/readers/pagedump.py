"""Find the article in a plain-text page dump: title, byline, dates and body.

A dump is what select-all, copy and paste gives: one block per line, the article somewhere
among menus, banners, cookie notes, share bars, "related" lists, comment threads and footers.

Each line first gets a kind from what it looks like on its own: prose (long, with the
language's function words), a list item, code or figures, a short label, navigation,
boilerplate, or the start of a page section that never belongs to an article (comments,
"Related", "About us"). The body is then the densest stretch of prose: the contiguous run of
lines whose weights add up to the most, prose counting for it by its length and everything
else against it. A stretch is cut where a comment thread starts, where a "related"/"about"
section starts and little prose follows it, and where the rest of it (a news ticker, a gallery
of captions) is mostly lines against it. The headline is the short line above the body that
shares its topic; the byline and dates sit next to it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate, chain

from newsletter.sources.article import Block
from newsletter.sources.dates import (
    DATE_PATTERN,
    MAX_DATELINE_WORDS,
    captured_date,
    dateline,
    labelled_date,
    leading_date,
    opening_date,
    relative_date,
    updated_date,
)
from newsletter.sources.shortlines import GuardedPattern, ShortLinePattern, holds_any
from newsletter.sources.stoplists import language_stopwords

WORD = re.compile(r"\w+")
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")  # kana and the common ideographs
CJK_PAIR = re.compile(r"\w{1,2}")
LETTER_WORD = re.compile(r"[^\W\d_]{2,}")
CODE_LIKE = re.compile(r"\w\(|[_;={}<>]")  # "AVG(entries)", "mean_entries"

MAX_FURNITURE_CHARS = 500  # a line of page furniture is at most a dozen words: never longer than this
# Whole short lines that are page furniture wherever they stand. The basket branch commits to the line's first
# "basket"/"cart"/"bag" (atomic group): an "empty" after any of them is after the first, and without the commit
# "cart cart cart …" made it try every pair, quadratic (40 KB took 7 s).
BOILERPLATE = ShortLinePattern(re.compile(
    r"""^(?:
        (?>.*?\b(?:shopping\s+)?(?:basket|cart|bag)\b).*\b(?:empty|no\s+items)\b.* | you\s+have\s+no\s+items\b.*
      | .*\bcookies?\b.* | .*\ball\s+rights\s+reserved\b.* | ©.* | copyright\b.*
      | (?:skip|jump)\s+to\b.* | (?:main\s+|site\s+)?(?:menu|navigation|search|home|close|print|e-?mail|tweet|pin|undo|reply)
      | toggle\s+navigation | back\s+to\s+top | loading\W* | advertisement | advertising | anzeige | publicité
      | publicidad | (?:sponsored|promoted)\b.* | permalink\b.*
      | (?:image|photo|picture|illustration)(?:\s+credit)?\s*(?:by|:)\s.{0,80}
      | .{0,80}\bvia\s+(?:envato(?:\s+elements)?|unsplash|shutterstock|getty\s+images|pexels|istock)
      | share\b.{0,60} | .{0,40}\bshare\s+(?:on|via|this)\b.* | click\s+to\s+(?:share|email|print)\b.*
      | (?:follow\s+us|sign\s+(?:up|in)|log\s*in|register|subscribe)\b.{0,80} | newsletters?
      | click\s+here\b.* | (?:read|view|see|show)\s+(?:more|all)\b.{0,40} | continue\s+reading\b.*
      | (?:fill\s+in|complete)\s+the\s+form\b.* | (?:privacy|cookie)(?:\s+policy|\s+notice|\s+settings)?
      | terms\b.{0,40} | (?:previous|next)\s+(?:post|article|story)\b.*
      | tags?\s*:.* | categor(?:y|ies)\s*:.* | filed\s+under\b.*
      # the same furniture in German, French, Spanish and Italian, the other languages of the evaluation sets
      | (?::+\s*)?(?:über\s+uns|impressum|datenschutz(?:erklärung|hinweise)?|kontakt(?:formular)?|suche|drucken
          |(?:beitrag\s+|artikel\s+|seite\s+|jetzt\s+)?teilen|anmelden|abmelden|registrieren
          |(?:newsletter\s+)?(?:abonnieren|bestellen)|zum\s+newsletter\b.{0,40}|weiterlesen\s*:?
          |mehr\s+(?:lesen|erfahren|anzeigen)
          |nach\s+oben|zurück\s+nach\s+oben|werbung|artikel\s+von\s*:.{0,40}|schlagwörter\s*:.* | kategorien?\s*:.*
          |à\s+propos|mentions\s+légales|partager|imprimer|connexion|s'abonner|lire\s+la\s+suite|publicité
          |quiénes\s+somos|sobre\s+nosotros|aviso\s+legal|compartir|imprimir|leer\s+más|suscríbete
          |chi\s+siamo|condividi|stampa|leggi\s+(?:anche|di\s+più)|iscriviti)
    )$""",
    re.IGNORECASE | re.VERBOSE,
), MAX_FURNITURE_CHARS)
# A picture's credit in German ("Bild: Tesla", "Foto: Jane Doe/Getty Images"): furniture, but light, as it stands
# between the headline's date and the text and between paragraphs. (English credits were boilerplate before the
# learned headline model was fitted, and are read so still.)
CREDIT = re.compile(r"^(?:bild|foto|fotos|titelbild|grafik)\s*:\s.{0,80}$", re.IGNORECASE)
# "Read also", as the sets' languages say it: alone, it heads a box of other articles; before a colon, it labels a
# link to one.
READ_ALSO = (r"also\s+read|see\s+also|lesen\s+sie\s+(?:auch|mehr)|mehr\s+zum\s+thema|auch\s+interessant|siehe\s+auch"
             r"|(?:à\s+)?lire\s+(?:aussi|également)|voir\s+aussi|(?:lea|lee|mirá|mira|ver|vea)\s+también|leia\s+também"
             r"|veja\s+também|leggi\s+anche|lees\s+ook|(?:czytaj|zobacz)\s+(?:też|także|również)")
# A link to another article set in the text under a label: "Read more: Headline", "Lesen Sie auch: Headline",
# "Lea también: Titular". Never the article's, whatever its length.
RELATED_LINK = re.compile(rf"^(?:{READ_ALSO}|read\s+(?:more|also)|related(?:\s+\w+)?|more\s+on\s+this|weiterlesen|lea"
                          r"|leia\s+mais)\s*:\s*\S", re.IGNORECASE)
# Words that fill cookie banners, sign-up forms and footers, whatever their length. Few lines hold any of them.
BOILERPLATE_WORDS = GuardedPattern(re.compile(
    r"\b(?:cookies?|privacy|policy|terms|rights\s+reserved|copyright|trademark|subscri\w+|newsletters?"
    r"|sign\s+(?:in|up)|log\s+in|account|register\w*|advertis\w+|sponsored|unsubscribe|inbox)\b",
    re.IGNORECASE,
), needs=holds_any(("cookie", "privacy", "policy", "terms", "rights", "copyright", "trademark", "subscri", "newsletter",
                    "sign", "log", "account", "register", "advertis", "sponsored", "inbox")))
# A cookie or consent notice, however long: legal text, never the article.
# In the languages of the evaluation sets: "Wir verwenden Cookies", "... Cookies ... Einwilligung", "nous utilisons des
# cookies", "utilizamos cookies", "utilizziamo i cookie". Every form names cookies: most lines do not, and are passed over.
_CONSENT = (r"(?:consent|accept|browsing\s+experience|personali[sz]e|einwillig|zustimm|akzeptier|consentement|accepter"
            r"|consentimiento|aceptar|consenso|accett)")
LEGAL = GuardedPattern(re.compile(
    r"\b(?:(?:we|this\s+(?:site|website))\s+uses?|wir\s+(?:verwenden|nutzen|setzen)|nous\s+utilisons"
    r"|utilizamos|usamos|utilizziamo|usiamo)\b.{0,40}\bcookies?\b"
    rf"|\bcookies?\b.{{0,200}}\b{_CONSENT}|\b{_CONSENT}\w*\b.{{0,200}}\bcookies?\b", re.IGNORECASE),
    needs=holds_any(("cookie",)))
# Where a comment thread starts: its count, or the button or form that opens it.
COMMENT_WORDS = r"(?:comments?|responses?|replies|kommentare?|commentaires?|comentarios?|coment[aá]rios?)"  # counted
COMMENTS = re.compile(
    rf"""^(?:
        .{{0,40}}\b\d+\s+{COMMENT_WORDS}\b.*
      | (?:comments?|kommentare|commentaires|comentarios)\s*\(\d+\)
      | (?:view|show|read|load|see|post|leave|add|write|join)\s+(?:all\s+|the\s+)?(?:a\s+)?(?:comments?|reply
         |response|discussion|conversation)\b.*
      | kommentare\s+lesen\b.* | (?:laisser|ajouter)\s+un\s+commentaire | deja\s+un\s+comentario
      | kommentar\s+(?:verfassen|schreiben|hinterlassen|abgeben)\b.{{0,20}}
      | (?:hinterlasse|schreibe)\s+(?:einen\s+kommentar|eine\s+antwort)\b.{{0,20}}
      | (?:laisser|laissez)\s+une\s+réponse | deja\s+una\s+respuesta | deixe\s+(?:um\s+comentário|uma\s+resposta)
      | lascia\s+un\s+commento | laat\s+een\s+reactie\s+achter
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# A count of the article's comments, as its header links to them ("* 5 Kommentare"): no section begins there.
COMMENT_COUNT = re.compile(rf"^\W*\d+\s+{COMMENT_WORDS}\W*$", re.IGNORECASE)
# Headings of page sections that follow an article but are not part of it.
SECTION = re.compile(
    r"^(?:" + READ_ALSO + r"""
      | comments? | kommentare | commentaires | comentarios | comentários | commenti | reacties
      | related(?:\s+\w+){0,3} | you\s+(?:may|might)\s+(?:also\s+)?(?:like|enjoy|be\s+interested).*
      | (?:more|other)\s+(?:from|on|in|stories|articles|news|posts)\b.{0,40}
      | (?:more\s+)?(?:recommended|popular|trending|similar|latest|top|most\s+\w+)(?:\s+\w+){0,2}
      | read\s+next | what\s+to\s+read\s+next | further\s+reading | recent\s+(?:posts|articles|stories)
      | about\s+the\s+authors? | about\s+(?:us|(?-i:[A-Z])[\w&'.-]*(?:\s+[\w&'.-]+){0,5})
      | contact(?:\s+us)? | get\s+in\s+touch
      | explore\s+further | keep\s+reading | editor'?s\s+picks?
      | more\s+like\s+this | author | (?:the\s+)?authors?\s+(?:bio|profile)
      # the same headings in the other languages of the evaluation sets
      | (?:das|dies)\s+könnte\s+(?:dich|dir|sie|ihnen|euch)\s+(?:auch\s+)?(?:interessieren|gefallen)\b.{0,40}
      | (?:diese\s+)?(?:beiträge|artikel)\s+(?:solltest\s+du|sollten\s+sie)\s+nicht\s+verpassen
      | (?:ähnliche|verwandte|weitere|neueste|aktuelle|beliebte)\s+(?:beiträge|artikel|themen|nachrichten|meldungen
          |posts|news)\b.{0,40}
      | mehr\s+(?:zum\s+thema|themen|artikel|beiträge|nachrichten|news)\b.{0,40} | (?:die\s+)?meist(?:gelesen|kommentiert)\w*.{0,40}
      | zum\s+weiterlesen | weiterführende\s+(?:links|artikel|informationen|literatur)
      | über\s+(?:den|die)\s+autor\w*.{0,30} | zum\s+autor\w* | autor(?:\*?in|in)?
      | sur\s+le\s+même\s+(?:sujet|thème) | les\s+plus\s+(?:lus|partagés)
      | (?:articles?|contenus?)\s+(?:liés|similaires|associés|recommandés) | vous\s+aimerez\s+(?:aussi|également)\b.{0,40}
      | (?:nos\s+)?derniers\s+articles | autres\s+articles\b.{0,40} | dans\s+la\s+même\s+rubrique | auteur
      | (?:también\s+)?te\s+puede\s+interesar\b.{0,40} | lo\s+más\s+(?:leído|visto)
      | (?:otras|más|últimas)\s+noticias\b.{0,40} | (?:noticias|artículos|notas)\s+relacionad[oa]s | relacionad[oa]s
      | saiba\s+mais | mais\s+(?:lidas|notícias)
      | (?:notícias|matérias|artigos)\s+relacionad[oa]s
      | (?:articoli|notizie)\s+correlat[ie] | (?:ti\s+)?potrebbe\s+(?:anche\s+)?interessar(?:ti|e)\b.{0,40}
      | gerelateerde\s+(?:artikelen|berichten) | meer\s+(?:nieuws|artikelen)\b.{0,40}
      | powiązane\s+artykuły | najczęściej\s+czytane
    )\s*:?$""",
    re.IGNORECASE | re.VERBOSE,
)
# Menus pasted onto one line keep their separators: "News | Sport | Weather", "Home › World". Most lines have
# neither a separator's mark nor a gap of two spaces, and are passed over.
SEPARATOR_MARK = re.compile(r"[|▪•·›»/]")
NAVIGATION_SEPARATOR = GuardedPattern(re.compile(r"\S(?: {2,}|\s[|▪•·›»/]\s)\S|^[›»]\s|\s[|›»]$"),
                                      needs=lambda text: "  " in text or SEPARATOR_MARK.search(text))
TEX_COMMAND = re.compile(r"\\\s*(?:begin|end)\s*\{[^}]*\}|\\\s*[A-Za-z]+")  # "\\begin{bmatrix}": no letters shown
NON_SPACE = re.compile(r"\S+")
ASCII_ALNUM = re.compile(r"[A-Za-z0-9]")
TEX_START = re.compile(r"\{\\\s*displaystyle")  # w3m may wrap the line after "{\\"
# A publisher's pitch at the foot of a post: an imperative to the reader about "our" offer or "your" gain.
PROMO = re.compile(
    r"""^(?:discover|explore|visit|contact|call|subscribe|sign\s+up|register|book|buy|shop|order|download|join
         |enhance|boost|champion|transform|unlock|empower|elevate|get|try|start|request|claim|grab|learn\s+more
         |find\s+out|don['’]t\s+miss)\b[^.!?]{0,120}\b(?:our|your|us|today|now)\b""",
    re.IGNORECASE | re.VERBOSE)
# w3m shows <ins> and <del> as "[INS:word:INS]"; lynx shows unnamed buttons as "(BUTTON)" and MathML's
# markup as "[MATH: <semantics> ... :MATH]" (its TeX annotation follows as text).
# A terminal browser prints an image without alt text as its file name in brackets ("[49530028.jpg?t=1]",
# w3m: "[gif]"), a form field or button as brackets ("[ ]", "[Sign Up]") and a frame as its address: lines
# of nothing else say nothing. An editor's bracketed aside ("[Read: Why ...]") is a sentence, and stays.
PLACEHOLDER = re.compile(r"^(?:[-*•+]\s+)?(?:\[[^\]]*\]\s*)+(?:\+\d+)?$|^IFRAME:\s*\S+$")  # "+10": more photos
TEASER_MIN_WORDS = 4  # a headline this long, twice running and nearly word for word, is a teaser ...
TEASER_MAX_WORDS = 20  # ... up to a headline's length (two paragraphs alike are the article's)
TEASER_OVERLAP = 0.6  # ... sharing this much of its words
CREDIT_WORDS = 6  # "- Jane Doe/Getty Images" after a caption
ALT_MAX_WORDS = 80  # a caption is seldom longer
ALT_MIN_WORDS = 4  # a line this long that the next one starts with is a photo's alt text above its caption ...
LEDE_LINES = 2  # an article may open with this many sentences too short to weigh ...
LEDE_MIN_WORDS = 3  # ... of this many words at least
OPENED_SHARE = 3  # ... unless that one is this many times as long: a paragraph that opens with its headline
PLACEHOLDER_WORDS = 3  # bracketed text with this many plain words is an aside


PLAIN_WORD = re.compile(r"(?:^|\s)[^\W\d_]+[,.:]?(?=\s|\])")
TERMINAL_MARKS = re.compile(r"\[(?:INS|DEL):|:(?:INS|DEL)\]|\(BUTTON\)")
MATH_OPEN, MATH_CLOSE = "[MATH:", ":MATH]"  # found with str.find: a lazy regex over them was quadratic
TEX_OPEN, TEX_CLOSE = 'x-tex">', "</annotation>"  # the TeX annotation within a MATH mark
CODE_SYMBOL = re.compile(r"[{}();=<>\[\]│_\\$#@]")
# A listing's comment line ("-- totals", "// set up"); anchored, so that even a search is linear on a run of spaces.
LINE_COMMENT = re.compile(r"^\s*+(?:--|//)")
NUMBER_MARK = r"\d{1,2}[.)]"  # "3." or "3)": a numbered list's mark
NUMBERED = re.compile(rf"^\s*{NUMBER_MARK}\s+[^\W\d_]")
NUMBERED_ITEM = re.compile(rf"^\s*{NUMBER_MARK}\s+")
BULLET = re.compile(rf"^\s*(?:[-*•–+·▪►□◦■‣]|{NUMBER_MARK})\s+")
TRUNCATED = re.compile(r"(?:…|\.\.\.)\W{0,3}$")
SENTENCE_END = re.compile(r"[.!?…:।。！？]['\"’”)]?$")  # Hindi and Bengali end one with "।", Chinese with "。"

BY_LINE = re.compile(r"(?:by|par|von|por|door)\b\W", re.IGNORECASE)  # "by: Jane Doe" under a headline
BY = re.compile(r"(?:^|[\s/|•·,(-])(?:by|par|von|por|door)\s+(?P<name>.+)$", re.IGNORECASE)
SIGN_SEPARATORS = "/|•·,(-"
SIGNED_WORDS_BEFORE = 3  # "Words and pictures by Jane Doe"
NAME_PARTICLES = {"van", "von", "de", "da", "del", "der", "den", "du", "bin", "al", "le", "la", "di"}
NAME_JOINERS = {"and", "&", "und", "et", "y", "e"}
MONTHS = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "january",
          "february", "march", "april", "june", "july", "august", "september", "october", "november", "december"}
MAX_NAME_WORDS = 6
NOT_AUTHOR = ShortLinePattern(re.compile(
    r"\b(?:reviewed|edited|photos?|photographs?|images?|illustrations?|videos?|produced|translated|checked|powered"
    r"|supported|sponsored|presented|designed|built|provided|distributed|syndicated)\s+\S*$", re.IGNORECASE),
    MAX_FURNITURE_CHARS)  # what stands before "by" in a byline: a few words
NOT_NAMES = MONTHS | {"mon", "monday", "tue", "tuesday", "wed", "wednesday", "thu", "thursday", "fri", "friday",
                      "sat", "saturday", "sun", "sunday", "published", "posted", "updated", "date", "last", "on"}
HONORIFIC = r"(?:Dr|Prof|Professor|Mr|Mrs|Ms|Mx|Miss|Sir|Dame|Rev)\.?"
NAME = re.compile(rf"^(?:{HONORIFIC}\s+)?[A-Z][\w'’.-]*"
                  rf"(?:\s+(?:[A-Z][\w'’.-]*|van|von|de|da|del|der|bin|al)){{1,3}}$")

PROSE_WORDS = 10  # a line this long, in sentences, is prose
PROSE_STOP_SHARE = 0.25  # ... when at least this share of its words are the language's function words
UNKNOWN_LANGUAGE_SHARE = 0.15  # a page whose words are this seldom any stoplist's is in a language none knows
PROSE_OFFSET = 8  # a prose line counts for its words less this, so a one-line teaser barely counts
WEIGHTS = {"line": -3, "short": -4, "data": -1, "picture": -1, "gallery": 0, "code": 0, "navigation": -6, "boilerplate": -10,
           "section": -30, "comments": -30}
ITEM_WEIGHT = 0.5  # per word of a list item
LINK_ITEM_WEIGHT = 0.25  # ... that does not end like a sentence
# Possessive repeats, and numbers matched from their first digit only: linear in the line's length.
COUNTED = re.compile(r"\(\d[\d,.]*+\)\W*+$|(?<![\w,.])\d[\d,.]*+\s*+(?:comments?|replies|responses)\b|\bago\W*+$",
                     re.IGNORECASE)
FURNITURE = {"navigation", "boilerplate", "section", "comments", "picture", "gallery"}
# A slideshow's counter ("3/50 Headline", "• 3 / 50"): its slides and their captions stand within the article
# in the page but are not its text. It weighs nothing, so the article is read across it.
SLIDE = re.compile(r"^(?:[-*•+]\s+)?(\d{1,3})\s*/\s*(\d{1,3})(?!\S)")
MIN_SLIDES = 3
SECTION_MIN_BEFORE = 50  # prose words before a section heading for it to end the article ...
SECTION_AFTER_SHARE = 0.5  # ... unless at least this share of that much prose follows it
EARLIER_SHARE = 0.5  # a run of prose above the heaviest one and apart from it, this heavy as it, is the article
CORE_SHARE = 0.8  # an article's own stretch is nearly all prose ...
TAIL_SHARE = 0.6  # ... and a tail whose weight is this little prose is not part of it
REJOIN_WEIGHT = 80  # a run of prose this heavy above the body, split from it by a widget, ...
REJOIN_TOPIC = 0.15  # ... with this share of its words in the body's opening, is the article's start
WRAP_MAX_WIDTH = 100  # hard-wrapped text (mail, terminals) is at most this wide ...
WRAPPED_SHARE = 0.75  # ... and at least this share of its lines come this close to the width
WRAPPED_MIN_SHARE = 0.15
WRAPPED_MIN_LINES = 4  # a headline and two wrapped paragraphs are enough to tell (ten left short pages wrapped)
TERMINAL_MIN_WIDTH = 60  # fewer lines say a dump was wrapped when two of them are this long at least ...
FULL_LINE_SHARE = 0.9  # ... and this close to the longest
WRAP_EVIDENCE_WORDS = 4  # a line this long says whether a dump was wrapped; a menu's one-word lines do not
HYPHEN_END = re.compile(r"[^\W\d_]-$")  # a word broken at its hyphen ...
HYPHEN_JOINERS = NAME_JOINERS | {"oder", "or", "bis", "sowie", "ou", "o", "to"}  # ... or cut short before "and"
BROKEN_MIN_WORDS = 4  # a line this long that stops mid-sentence may go on in the next
BLANK_SHARE = 0.2  # a dump with this many blank lines per line of text parts its paragraphs with them
CAPTURE_LINES = 5  # a print header or footer saying when the dump was made is this near its top or foot
FOOTER_LINES = 8  # how far under the body a page without a dateline above it may date it
LABELLED_LINES = 40  # ... and how far, when the line says "Published"
LEADING_DATE_PARAGRAPHS = 3  # a date opening one of the first paragraphs dates the page ("29.11.2022 – ...")
HEADER_LINES = 20  # how far above the body to look for the byline and date ...
TITLE_LINES = 60  # ... and for the title
RELATED_MAX_LINES = 8
STANDFIRST_WORDS = 60  # a first paragraph this short may be a standfirst with the date and byline under it ...
STANDFIRST_GAP = 4  # ... in the few lines before the text goes on
MAX_TITLE_WORDS = 30
MAX_TITLE_CHARS = 500  # thirty long words: a longer line is no headline
TOPIC_WORDS = 400  # the opening of the body whose words a headline shares
HEADLINE_WORDS = (4, 20)  # a headline's length, fewest and most words
ECHO_MIN_WORDS = 3  # a headline this long that another line ends with is said again there, not by chance
ECHO_TRAILING = "”\"'»«“.!?) "  # what may close a line after the headline it repeats ("thoughts on “Headline”")
DECK_GAP = 2  # how many lines a deck may stand under its headline (a photo's credit between them)
ON_TOPIC = 0.25  # share of its words in the body's opening that lets a line gain from where it stands
NOT_TITLE = ShortLinePattern(re.compile(
    r"""\S@\S | https?:// | www\. | \b\d+\s+(?:sec|second|min|minute|hour|day|week|month|year)s?\s+ago\b
      | ^(?:media\s+)?caption\b | \b(?:photo|foto|image|picture|illustration|source|credit|fuente|quelle)s?\s*:\s*\S
      | \b(?:getty\s+images|ap\s+photo|reuters|afp|shutterstock|supplied)\W*$ | © | \(c\)\s*\w
      | \b(?:dpa|apa|epa|afp|imago|keystone|picture[-\s]alliance)\b\s*/
      | ^\# | __ | \*$ | \[\s*\] | ^[□■▪►▶◦‣|›»] | ^\[[^\]]*\]$ | \.(?:png|jpe?g|gif|svg|webp)\b | ^go\s+to\b | \(\d{3}\)\s*\d{3}-\d{4}
      | \((?:left|right|cent(?:er|re)|ao\s+centro|à\s+(?:gauche|droite)|links|rechts)\)""",
    re.IGNORECASE | re.VERBOSE), MAX_TITLE_CHARS)
# From a chain's first letter, possessive: "\b(?:[A-Z]\.){2,}$" took time quadratic in a line's length ("A.A.A. ... x.").
ABBREVIATION_END = re.compile(r"(?<![\w.])(?:[A-Z]\.){2,}+$")
YOU_ARE_HERE = re.compile(r"^\W*(?:you\s+are\s+here|sie\s+sind\s+hier|vous\s+êtes\s+ici|usted\s+está\s+aquí|estás\s+aquí"
                          r"|jesteś\s+tutaj|u\s+bent\s+hier)\s*:\s*", re.IGNORECASE)
CRUMB_SEPARATOR = re.compile(r"\s[>»›\"/|]\s|^[>»›]\s")
THREAD_ON = re.compile(r"^(?:\d+|one|a)\s+(?:comments?|thoughts?|responses?|repl(?:y|ies)|kommentare?|gedanken)\s+"
                       r"(?:on|to|zu|zum|zur|sur|en)\s+", re.IGNORECASE)
TRAILING_COUNT = re.compile(r"(?<!\s)\s++\d{1,4}$")
TICKER = re.compile(r"^(?:[-*•+]\s+)?\d{1,2}[:h.]\d{2}\s+\S")
# A live ticker's entry: a time and a headline ("14:44 Minister resigns"), not a time of day ("6:32 PM ET").
TICKER_ENTRY = re.compile(r"^(?:[-*•+]\s+)?\d{1,2}[:h.]\d{2}\s+(?!(?:[ap]\.?m\b|et|gmt|utc|[a-z]st|cet)\b)\w",
                          re.IGNORECASE)
TICKER_ENTRIES = 3  # this many entries ...
TICKER_WINDOW = 12  # ... within this many lines make a ticker
EMBEDDED_POST = re.compile(r"\(@\w{1,30}\)")  # "— Jane Doe (@jane) November 3, 2023": a quoted tweet's signature
CLOCK_TIME = re.compile(r"\b\d{1,2}[:.]\d{2}\b")


@dataclass(frozen=True)
class DumpParts:
    """What the cleaner found in a dump."""

    title: str | None
    byline: str | None
    published: dt.date | None
    updated: dt.date | None
    description: str | None
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Line:
    text: str
    words: int
    kind: str
    tokens: tuple[str, ...] = field(default=(), repr=False)
    stopwords: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    repeated: bool = False
    stops: int = 0  # how many of its words are the language's function words

    @cached_property
    def topic(self) -> frozenset[str]:
        """Its words that carry meaning: not function words, not numbers. Only lines near the body need them."""
        return frozenset(w for w in self.tokens if len(w) > 2 and w not in self.stopwords and not w.isdigit())

    @cached_property
    def weight(self) -> float:
        if self.kind == "prose":
            return self.words - PROSE_OFFSET
        if self.kind == "item":
            # A list of headline links (no full stop) weighs less than one of sentences; a counted
            # category ("Books (53)") or a link with its comment count or age is furniture.
            if COUNTED.search(self.text):
                return WEIGHTS["line"]
            if SENTENCE_END.search(self.text):
                return self.words * ITEM_WEIGHT
            return self.words * LINK_ITEM_WEIGHT - 0.75  # a menu's one-word links add up to nothing
        return WEIGHTS[self.kind]

    @cached_property
    def signs_comment(self) -> bool:
        """Whether it is a comment's "Reply" button or its "Jane says:" signature."""
        return self.words <= THREAD_MARK_WORDS and bool(THREAD_MARK.match(self.text))

    @cached_property
    def marks(self) -> tuple[int, int, bool]:
        """What the run model counts of a line, once however many candidate runs hold it: its clock times, its
        boilerplate words, and whether it is a comment's signature, "Reply" button or date stamp."""
        stamped = self.words <= THREAD_MARK_WORDS and bool(DATE_PATTERN.search(self.text))
        return (len(CLOCK_TIME.findall(self.text)), len(BOILERPLATE_WORDS.findall(self.text[:2000])),
                self.signs_comment or stamped)


@dataclass(frozen=True)
class Analysis:
    """What the rules make of a dump, line by line: the model of linemodel.py reads it to choose the body."""

    lines: list[Line]
    start: int  # the densest run of prose, as the rules cut it
    end: int
    header: Header
    rule_rows: list[int]  # the rules' body: lines of the run that are not furniture, metadata or revision dates
    updated: dt.date | None


def analyse(text: str, day_first: bool = True, seen: dt.datetime | None = None,
            headings: list[str] | None = None, title_candidates: list | None = None) -> Analysis:
    """The dump's lines, what each is, and the rules' body and header. ``title_candidates``, when given, collects
    each headline candidate's row and features (for training the model)."""
    lines, (start, end), run, seen = _classified(text, day_first, seen)
    header = read_header(lines, start, end, day_first, seen, set(headings or ()), title_candidates)
    if run != (start, end):  # the run model carried the rules' run on: the header stays the one read above it
        if not any(run[0] <= row < start for row in header.rows):
            header.body_start = min(run[0], header.body_start)
        end = run[1]
    header.body_start = _with_lede(lines, header.body_start, header.rows)
    end = promo_tail_cut(lines, header.body_start, end)
    revisions = _revisions(lines, day_first)
    updated = _last_update(header, revisions)
    header.rows = header.rows.union(revisions)
    rule_rows = [index for index in range(header.body_start, end)
                 if lines[index].kind not in FURNITURE and index not in header.rows]
    return Analysis(lines, start, end, header, rule_rows, updated)


def _classified(text: str, day_first: bool, seen: dt.datetime | None
                ) -> tuple[list[Line], tuple[int, int], tuple[int, int], dt.datetime | None]:
    """The dump's lines, what each is, the run whose header is read (``body_span``'s, or the rules' when the run
    model only carried theirs on), the article's run, and when the page was seen."""
    # TeX goes after unwrapping: its width on the wrapped line tells where the line ran on.
    marked = TERMINAL_MARKS.sub("", _math_as_tex(text))
    unwrapped = _without_tex("\n".join(unwrap(marked.splitlines()))).splitlines()
    lines = classify(_without_alt_text([_once(" ".join(line.split())) for line in unwrapped
                                        if line.strip() and not placeholder(line)]))
    ruled, run = body_span(lines)
    anchor = ruled if run[0] <= ruled[0] and run[1] >= ruled[1] else run
    return lines, anchor, run, captured_date(_end_lines(text), day_first) or seen


def _end_lines(text: str) -> list[str]:
    """The dump's first and last CAPTURE_LINES lines that are not blank (without splitting all of a long dump)."""
    reach = 10 * CAPTURE_LINES
    head = [line for line in "\n".join(text.split("\n", reach)[:reach]).splitlines() if line.strip()]
    tail = [line for line in "\n".join(text.rsplit("\n", reach)[-reach:]).splitlines() if line.strip()]
    if len(head) < CAPTURE_LINES or len(tail) < CAPTURE_LINES or text.count("\n") < 2 * reach:
        head = tail = [line for line in text.splitlines() if line.strip()]
    return head[:CAPTURE_LINES] + tail[-CAPTURE_LINES:]


def _with_lede(lines: list[Line], start: int, header_rows: frozenset[int] | set[int]) -> int:
    """Where the article starts when it opens with a sentence too short to weigh ("It was a quiet Tuesday."):
    right above the body, a line or two that end like sentences in the language's words."""
    for _ in range(LEDE_LINES):
        above = start - 1
        if above < 0 or above in header_rows or not _lede_like(lines[above]):
            break
        start = above
    return start


def _lede_like(line: Line) -> bool:
    return (line.kind in ("line", "short") and line.words >= LEDE_MIN_WORDS and line.stops > 0
            and ends_sentence(line.text) and not line.text.endswith(":"))


def _revisions(lines: list[Line], day_first: bool) -> dict[int, dt.date]:
    """ "Last updated on ..." dates this page wherever it stands, often under the body or above the title: the
    date of each row that says so."""
    return {index: date for index, line in enumerate(lines) if (date := updated_date(line.text, day_first))}


def _last_update(header: Header, revisions: dict[int, dt.date]) -> dt.date | None:
    return max(filter(None, (header.updated, *revisions.values())), default=None)


def split_dump(text: str, day_first: bool = True, seen: dt.datetime | None = None,
               headings: list[str] | None = None) -> DumpParts:
    """The parts of a dump. ``seen`` is when the page was copied, if known, for its relative dates ("2 days ago");
    a date printed at the dump's top or foot ("Retrieved 3 March 2025") takes its place. ``headings`` are the
    level-one headings a format layer marked (a markdown clip's ``#`` lines)."""
    from newsletter.sources.readers.linemodel import body_rows

    analysis = analyse(text, day_first, seen, headings)
    header = analysis.header
    published, updated = _dates_of(header.published, analysis.updated)
    blocks = _short_page_text(tuple(to_block(analysis.lines[index].text)
                                    for index in body_rows(analysis, body_features)), header.title)
    first_prose = next((b.text for b in blocks if b.kind == "paragraph"), None)
    return DumpParts(
        title=header.title or fallback_title(blocks),
        byline=header.byline,
        published=published,
        updated=updated,
        description=first_prose,
        blocks=blocks,
    )


def shown_dates(text: str, day_first: bool = True) -> tuple[dt.date | None, dt.date | None]:
    """(published, updated) as a dump's reader finds them: for a page's visible text, what its reader sees. Only
    the dates are read: no headline, byline or body is looked for."""
    lines, (start, end), _, seen = _classified(text, day_first, None)
    header = read_header(lines, start, end, day_first, seen, dates_only=True)
    return _dates_of(header.published, _last_update(header, _revisions(lines, day_first)))


def _dates_of(published: dt.date | None, updated: dt.date | None) -> tuple[dt.date | None, dt.date | None]:
    if not published:  # a page that says only when it was last revised ("Aktualisiert am 17.01.2021") is dated by it
        return updated, None
    return published, updated if updated and updated >= published else None


def _short_page_text(blocks: tuple[Block, ...], title: str | None) -> tuple[Block, ...]:
    """A short page is still an article: when no line of its body reads as a paragraph ("Hello world", a note
    without a full stop, a list of names), its lines other than the headline are its text, not headings that
    leave nothing to read. Only the headline, or nothing at all, is still no article."""
    if any(block.kind != "heading" for block in blocks):
        return blocks
    headline = title if title is not None else (blocks[0].text if blocks else None)
    return tuple(block if block.text == headline else Block("paragraph", block.text) for block in blocks)


def body_features(analysis: Analysis) -> list[list[float]]:
    """Each line's features for the line model, in linemodel.BODY_FEATURES order."""
    from newsletter.sources.readers.linemodel import DIGIT, KINDS, WINDOW

    lines, start, end = analysis.lines, analysis.start, analysis.end
    count = len(lines)
    ruled = [0.0] * count
    for index in analysis.rule_rows:
        ruled[index] = 1.0
    prose = [1.0 if line.kind == "prose" else 0.0 for line in lines]
    ruled_sums, prose_sums = _prefix(ruled), _prefix(prose)
    topic = _body_topic(lines, analysis.header.body_start, end)
    header_rows = analysis.header.rows
    walls = 0
    rows = []
    for index, line in enumerate(lines):
        low, high = max(0, index - WINDOW), min(count, index + WINDOW + 1)
        around = high - low - 1 or 1
        if start <= index < end and line.kind in ("section", "comments"):
            walls += 1
        words = line.words or 1
        in_body = ruled[index]
        kind = [1.0 if line.kind == name else 0.0 for name in KINDS]
        digits = len(DIGIT.findall(line.text))
        rows.append([
            *kind,
            math.log1p(line.words),
            line.stops / words,
            1.0 if SENTENCE_END.search(line.text) else 0.0,
            1.0 if BULLET.match(line.text) else 0.0,
            1.0 if line.repeated else 0.0,
            in_body,
            1.0 if start <= index < end else 0.0,
            1.0 if index in header_rows else 0.0,
            index / count,
            math.log1p(start - index) if index < start else 0.0,
            math.log1p(index - end + 1) if index >= end else 0.0,
            (ruled_sums[high] - ruled_sums[low] - in_body) / around,
            (prose_sums[high] - prose_sums[low] - prose[index]) / around,
            ruled[index - 1] if index else 0.0,
            ruled[index + 1] if index + 1 < count else 0.0,
            prose[index - 1] if index else 0.0,
            prose[index + 1] if index + 1 < count else 0.0,
            len(line.topic & topic) / (len(line.topic) + 1),
            1.0 if walls and index >= start else 0.0,
            min(len(BOILERPLATE_WORDS.findall(line.text[:2000])), 3),
            max(-3.0, min(3.0, line.weight / 10)),
            1.0 if line.words <= 14 and not SENTENCE_END.search(line.text) else 0.0,
            1.0 if TRUNCATED.search(line.text) else 0.0,
            digits / (len(line.text) or 1),
            in_body * kind[0], in_body * kind[2], in_body * kind[1], in_body * kind[3],
            math.log1p(count),
        ])
    return rows


def _prefix(values: list[float]) -> list[float]:
    sums = [0.0]
    for value in values:
        sums.append(sums[-1] + value)
    return sums


# --- what each line is ---

def _math_as_tex(text: str) -> str:
    """The text with each of lynx's "[MATH: <semantics> ... :MATH]" as the TeX it carries, on one line, to go with
    the formula's text. One pass over the text: an opening mark without its close is left as it is."""
    pieces, position = [], 0
    while (start := text.find(MATH_OPEN, position)) >= 0:
        stop = text.find(MATH_CLOSE, start + len(MATH_OPEN))
        if stop < 0:
            break
        tex = text.find(TEX_OPEN, start, stop)
        tex_end = text.find(TEX_CLOSE, tex, stop) if tex >= 0 else -1
        pieces += [text[position:start], " ".join(text[tex + len(TEX_OPEN):tex_end].split()) if tex_end >= 0 else ""]
        position = stop + len(MATH_CLOSE)
    return "".join(pieces) + text[position:] if pieces else text


def placeholder(line: str) -> bool:
    return bool(PLACEHOLDER.match(line)) and len(PLAIN_WORD.findall(line)) < PLACEHOLDER_WORDS


def _once(text: str) -> str:
    """A caption run into its picture's alt text ("Caption Caption - Credit") said once; a teaser link the same
    way is left to be weighed as one."""
    if BULLET.match(text) or len(text.split()) < 2 * TEASER_MIN_WORDS:
        return text
    return _said_twice(text) or text


def _without_alt_text(texts: list[str]) -> list[str]:
    """Lines less a photo's alt text printed just above its caption, which starts the same way, or says nearly
    the same in other words (when the caption is a list item, or the alt text no sentence or
    the very same words) (a terminal browser shows both; the alt text is often cut
    short: "... so-called ‘metadat"). A bulleted link over its picture's alt text is a teaser, left to be
    weighed as one; two paragraphs alike are the article's."""
    lines = texts + [""]
    words: dict[int, set[str] | None] = {}

    def words_of_line(index: int) -> set[str] | None:  # read once, though a line is weighed against both neighbours
        if index not in words:
            words[index] = _restatable_words(lines[index])
        return words[index]

    return [_without_glued_alt(text, after) for index, (text, after) in enumerate(zip(texts, lines[1:]))
            if not (len(text.split()) >= ALT_MIN_WORDS and after != text
                    and (after.startswith(text) and not _opens_paragraph(text, after) or not BULLET.match(text)
                         and _restates(words_of_line(index), words_of_line(index + 1))
                         and (BULLET.match(after) or not ends_sentence(text) or _same_words(text, after))))]


def _opens_paragraph(text: str, after: str) -> bool:
    """Whether a line is a headline that the paragraph under it opens with ("Lorem ipsum dolor sit amet" over
    "Lorem ipsum dolor sit amet, consectetur ..."): a caption adds a credit or the few words its alt text lost."""
    words, more = len(text.split()), len(after.split())
    return words <= HEADLINE_WORDS[1] and more >= OPENED_SHARE * words and more >= 2 * PROSE_WORDS


def _without_glued_alt(text: str, caption: str) -> str:
    """A paragraph less the photo's alt text that a terminal browser printed at its end, run into its last
    sentence's line ("... of eastern Northland. Hori Parata at his farm." over "• Hori Parata at his farm")."""
    if ". " not in text:  # most lines: no sentence ends inside them (checked first, as it costs least)
        return text
    words = BULLET.sub("", caption).split()
    if len(words) < ALT_MIN_WORDS:
        return text
    at = text.find(". " + " ".join(words[:ALT_MIN_WORDS]))
    return text[:at + 1] if at > 0 and _same_words(text[at + 2:], " ".join(words)) else text


def _same_words(text: str, other: str) -> bool:
    """ "Was “burning up”" and 'was "burning up"': a standfirst shown twice, in the page's two quote styles."""
    return LETTER_WORD.findall(text.lower()) == LETTER_WORD.findall(other.lower())


def _restatable_words(text: str) -> set[str] | None:
    """The line's words, lower-cased, for telling whether another line says the same; None for a line of code,
    whose identifiers say nothing of that."""
    return None if CODE_LIKE.search(text) else set(LETTER_WORD.findall(text.lower()))


def _restates(words: set[str] | None, others: set[str] | None) -> bool:
    """Whether two lines (their ``_restatable_words``) say nearly the same in words (a table's rows share their
    figures, not words; a listing's lines their identifiers)."""
    if words is None or others is None:
        return False
    return (TEASER_MIN_WORDS <= min(len(words), len(others)) and max(len(words), len(others)) <= ALT_MAX_WORDS
            and len(words & others) >= TEASER_OVERLAP * len(words | others))


def _without_tex(text: str) -> str:
    """Text without the TeX that terminal browsers print for a formula ("{\\displaystyle A^{H}}"), braces
    balanced across lines, nor the formula's text that they print beside it (its MathML before, its picture's
    alt text after: "a matrix A {\\displaystyle A} A is"); a browser's copy shows the formula alone, once. A
    formula that lynx set on a line of its own no longer parts the sentence around it."""
    pieces, formulas, position = [], [], 0
    while match := TEX_START.search(text, position):
        start = match.start()
        depth, index = 0, start
        while index < len(text):
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            index += 1
            if depth == 0:
                break
        pieces.append(text[position:start])
        formulas.append(_formula_letters(text[start:index]))
        position = index
    if not formulas:
        return text
    pieces.append(text[position:])
    runs_on = False  # whether the text before the formula goes on after it, in the same sentence
    for number, letters in enumerate(formulas):
        left, right = pieces[number], pieces[number + 1]
        if left.strip():
            runs_on = not SENTENCE_END.search(left.rstrip())
        if runs_on:
            left, right = (left.rstrip() + " " if left.strip() else ""), right.lstrip()
        pieces[number] = _strip_rendering(left, letters, before=True)
        pieces[number + 1] = _strip_rendering(right, letters, before=False)
    return "".join(pieces)


def _formula_letters(tex: str) -> str:
    """The letters and digits a formula shows: its TeX less the commands ("\\overline", "\\ quad" as w3m wraps it)."""
    return "".join(ASCII_ALNUM.findall(TEX_COMMAND.sub(" ", tex)))


def _strip_rendering(piece: str, letters: str, before: bool) -> str:
    """The piece of text beside a formula less the words next to it, on its line, that spell the formula
    ("a i j = a j i", "v,w"): the formula printed as text. Nothing goes unless the words spell all of it."""
    if not letters:
        return piece
    words = list(NON_SPACE.finditer(piece))
    spelled = ""
    for word in reversed(words) if before else words:
        found = _formula_letters(word.group())  # the alt text may be TeX again ("\\lambda _{j}")
        spelled = found + spelled if before else spelled + found
        if spelled == letters:
            return piece[:word.start()] if before else piece[word.end():]
        if not (letters.endswith(spelled) if before else letters.startswith(spelled)):
            break
        if _at_line_edge(piece, word, before):
            break
    return piece


def _at_line_edge(piece: str, word: re.Match, before: bool) -> bool:
    """Whether the word is the first (before) or last (after) on its line within the piece."""
    if before:
        edge = piece.rfind("\n", 0, word.start())
        return edge >= 0 and not piece[edge + 1:word.start()].strip()
    edge = piece.find("\n", word.end())
    return edge >= 0 and not piece[word.end():edge].strip()


COLUMN_GAP = re.compile(r"\S( {3,})(?=\S)")
COLUMN_MIN_LINES = 8  # lines split at one column, by one wide gap each, for the dump to be laid out in two
TABLE_MARKS = re.compile(r"[│|\[\]]")


def split_columns(raw: list[str]) -> list[str]:
    """The lines of a two-column layout that a terminal browser printed side by side ("+ Added Slime Block
    Minecraft Realms"), the left column first and the right one at the end.

    The columns part where many lines have their only wide gap, before the same character; a table's rows
    have several gaps or rules, and stay as they are."""
    starts = Counter(gaps[0] for line in raw if "   " in line and not TABLE_MARKS.search(line)  # no gap without it
                     and len(gaps := [m.end(1) for m in COLUMN_GAP.finditer(line)]) == 1)
    column, count = starts.most_common(1)[0] if starts else (0, 0)
    if count < COLUMN_MIN_LINES:
        return raw
    rows = [i for i, line in enumerate(raw) if len(line) > column and not line[column - 2:column].strip()
            and line[column:column + 1].strip()]
    left, right = list(raw), []
    for i in range(rows[0], rows[-1] + 1):
        if len(raw[i]) > column and not raw[i][column - 2:column].strip():
            left[i], text = raw[i][:column].rstrip(), raw[i][column:].strip()
            right += [text] if text else []
    return left + [""] + right


def unwrap(raw: list[str]) -> list[str]:
    """Non-empty lines, with paragraphs that a mail client or terminal browser wrapped at a fixed width
    joined again.

    A browser's copy never wraps, so this only acts when many lines stop just short of one narrow width.
    A line continues the one before when that one had no room left for the line's first word.
    """
    raw = split_columns([line.rstrip() for line in raw])
    lines = [" ".join(line.split()) for line in raw]
    texts = [line for line in lines if line]
    lengths = sorted(len(line) for line in raw if line)
    if len(lengths) < WRAPPED_MIN_LINES and not _few_lines_wrapped(lengths):
        return texts
    width = lengths[int(len(lengths) * 0.95)]
    if width > WRAP_MAX_WIDTH or not _wrapped_at(width, lengths, raw):
        return _join_broken_sentences(lines)
    # Terminal browsers (lynx, w3m) part paragraphs with blank lines, so a capital after a full line
    # continues the sentence ("... easy to use" / "JavaScript code coverage"); without them it may start
    # anew, unless the full line stopped mid-sentence.
    spaced = len(lines) - len(texts) >= BLANK_SHARE * len(texts)
    joined: list[list[str]] = []  # each paragraph's pieces, joined once at the end: a long one grows in linear time
    previous = 0  # the raw length of the line before, 0 after a blank line
    hang = None  # where the text of the list item above starts: its wrapped lines are indented to it
    for line, text in zip(raw, lines):
        room_left = width - previous - 1
        continues = spaced or not text[:1].isupper() or not SENTENCE_END.search(joined[-1][-1] if joined else ".")
        bullet = BULLET.match(text)
        wrapped = (previous and len(text.split(maxsplit=1)[0] if text else "") > room_left and continues
                   and not _own_dateline(joined[-1][-1], text))
        if text and not bullet and any(ch.isalnum() for ch in text) and (
                wrapped or hang == len(line) - len(line.lstrip()) and not text[0].isupper()):
            joined[-1] += ["" if _split_at_hyphen(joined[-1][-1], text) else " ", text]
        elif text:
            joined.append([text])
            hang = len(line) - len(line.lstrip()) + bullet.end() if bullet else None
        hang = hang if text else None
        previous = len(line) if any(ch.isalnum() for ch in text) else 0  # a rule ("____") ends a paragraph
    return ["".join(pieces) for pieces in joined]


def _few_lines_wrapped(lengths: list[int]) -> bool:
    """Whether a dump of a line or three was wrapped: two of them fill a terminal's width (a one-paragraph page as
    w3m wraps it), which a headline over its byline does not."""
    return len(lengths) >= 2 and TERMINAL_MIN_WIDTH <= lengths[-1] <= WRAP_MAX_WIDTH and sum(
        n >= FULL_LINE_SHARE * lengths[-1] for n in lengths) >= 2


def _own_dateline(before: str, text: str) -> bool:
    """Whether a short line is the page's date on a line of its own, however little room the line above left: it
    labels the date ("Pubblicato il 19 Febbraio 2020 ..."), or opens with one after a finished sentence
    ("... als Organisatorin." / "19.10.2019 12.09")."""
    if text[:1].islower() or len(text.split()) > MAX_DATELINE_WORDS:
        return False
    finished = SENTENCE_END.search(before) and not before.endswith(":")  # "Published:" labels the date under it
    return bool(labelled_date(text) or finished and opening_date(text))


def _wrapped_at(width: int, lengths: list[int], raw: list[str]) -> bool:
    """Whether many lines come close to ``width``: of all lines, or, when no line is any wider than wrapped text
    can be, of the lines with a few words (a page of menus whose few paragraphs lynx wrapped: the menus' one-word
    lines say nothing of wrapping). A browser's copy has some line wider than that."""
    def many_near(sizes: list[int]) -> bool:
        return sum(n >= WRAPPED_SHARE * width for n in sizes) >= WRAPPED_MIN_SHARE * len(sizes)

    if many_near(lengths):
        return True
    return lengths[-1] <= WRAP_MAX_WIDTH and many_near(
        [len(line) for line in raw if len(line.split()) >= WRAP_EVIDENCE_WORDS])


def _split_at_hyphen(line: str, text: str) -> bool:
    """Whether a wrap broke a word at its hyphen ("Floating-Offshore-" / "Windfarmen"): mail clients and terminals
    wrap there. "Nord- und Südseite" is two words, the first cut short."""
    return (bool(HYPHEN_END.search(line[-2:])) and text[:1].isalpha()  # the end only: the paragraph grows as it joins
            and text.split(maxsplit=1)[0].lower() not in HYPHEN_JOINERS)


def _join_broken_sentences(lines: list[str]) -> list[str]:
    """Non-empty lines, with a sentence that a line break split ("It sports" / "more horsepower than ...")
    whole again: the break came mid-sentence when the line before runs on without a stop and the next goes
    on in lower case. A browser's copy keeps such breaks from ``<br>`` and narrow preformatted text."""
    joined: list[str] = []
    previous = ""
    for text in lines:
        if (previous and text and text[0].islower() and len(previous.split()) >= BROKEN_MIN_WORDS
                and not SENTENCE_END.search(previous) and not BULLET.match(text) and not BY_LINE.match(text)):
            joined[-1] += " " + text
        elif text:
            joined.append(text)
        previous = joined[-1] if text else ""
    return joined


def classify(texts: list[str]) -> list[Line]:
    tokens = [words_of(text.lower()) for text in texts]
    stopwords = language_stopwords(Counter(chain.from_iterable(tokens)))
    counts = Counter(texts)
    stops = [sum(map(stopwords.__contains__, words)) for words in tokens]
    if sum(stops) < UNKNOWN_LANGUAGE_SHARE * sum(map(len, tokens)):
        # No stoplist knows the page's words (Chinese, or a language jusText has none for): its sentences are
        # what reads as prose.
        stops = [len(words) if SENTENCE_END.search(text) else 0 for text, words in zip(texts, tokens)]
    template = _template_counts(counts, tokens, texts, stops)
    kind_of: dict[str, str] = {}  # a line the page repeats is the same kind each time: judged once
    for text, words, stop in zip(texts, tokens, stops):
        if text not in kind_of:
            kind_of[text] = line_kind(text, words, template[text], stop)
    kinds = [kind_of[text] for text in texts]
    _merge_code_listings(kinds, texts)
    _mark_teasers(kinds, tokens)
    _mark_galleries(kinds, texts)
    return [Line(text, len(words), kind, tuple(words), stopwords, counts[text] > 1, stop)
            for text, words, kind, stop in zip(texts, tokens, kinds, stops)]


def words_of(text: str) -> list[str]:
    """The line's words. Chinese and Japanese set no spaces between theirs: a run of their script counts a word
    for every two characters, so that a sentence there weighs about as much as one of as many words elsewhere."""
    tokens = WORD.findall(text)
    if not CJK.search(text):
        return tokens
    return [piece for token in tokens for piece in (CJK_PAIR.findall(token) if CJK.search(token) else (token,))]


def _template_counts(counts: Counter[str], tokens: list[list[str]], texts: list[str],
                     stops: list[int]) -> Counter[str]:
    """How often each line repeats, as evidence that it is the page's template. A template repeats a blurb or
    two ("About us") around its own article; when the paragraphs a page repeats hold most of its prose, the
    repetition is the article itself (a short text said twice, a page of sample paragraphs), not its template,
    and says nothing."""
    prose = {text: len(words) for text, words, stop in zip(texts, tokens, stops)
             if len(words) >= PROSE_WORDS and stop >= PROSE_STOP_SHARE * len(words)}
    total = sum(prose.values())
    repeated = sum(words for text, words in prose.items() if counts[text] > 1)
    if total and repeated > total / 2:
        return Counter({text: 1 if text in prose else count for text, count in counts.items()})
    return counts


def line_kind(text: str, tokens: list[str], count: int, stops: int) -> str:
    """What the line is, from its words, how often the page repeats it and how many of its words are function
    words (or, in a language no stoplist knows, words of a sentence)."""
    words = len(tokens)
    stop_share = stops / words if words else 0.0
    symbols = code_symbols(text)
    if words <= 10 and COMMENTS.match(text):
        return "comments"
    if words <= MAX_TITLE_WORDS and RELATED_LINK.match(text):
        return "boilerplate"
    if words <= 8 and SECTION.match(text):
        return "section"
    if words <= 16 and CREDIT.match(text):
        return "picture"
    if words <= 12 and BOILERPLATE.match(text):
        return "boilerplate"
    if not symbols and (not any(ch.isalpha() for ch in text) or words <= 2 and not NUMBERED.match(text)
                        and any(ch.isdigit() for ch in text)):  # "1. Finland" is a ranking's item, not a figure
        return "data"  # a chart's figures and tick labels ("’18", "$900", "6.6%")
    if count > 2 and words == 1 and BULLET.match(text):
        return "picture"  # "• Screenshot" atop each item of a feature list: a terminal browser prints its picture's alt text
    if count > 1 and (words >= 4 and stop_share >= 0.2 or count > 2 and not symbols):
        return "boilerplate"  # a block the page repeats is its template ("About us"), not the article
    if (separators := len(NAVIGATION_SEPARATOR.findall(text))) >= 2 or separators and words <= 12:
        return "navigation"
    if len(BOILERPLATE_WORDS.findall(text)) >= max(2, words / 12) or LEGAL.search(text):
        return "boilerplate"
    if TICKER.match(text) and words <= MAX_TITLE_WORDS:
        return "line"  # "14:44 Minister resigns": a live ticker's entry, not the article's prose
    if words >= 2 * TEASER_MIN_WORDS and BULLET.match(text) and _said_twice(BULLET.sub("", text)):
        return "picture"  # "• Headline Headline": a teaser's link and its picture's alt text
    if BULLET.match(text) and not SENTENCE_END.search(text):
        return "item"  # a list of links, however long its lines
    if words >= PROSE_WORDS and stop_share >= PROSE_STOP_SHARE and not TRUNCATED.search(text):
        return "prose"
    if BULLET.match(text):
        return "item"
    if symbols >= 3 or symbols >= 2 and symbols * 40 >= len(text) or symbols and words <= 3 and not text[0].isupper():
        return "code"
    if not any(ch.isalpha() for ch in text) or words <= 2 and any(ch.isdigit() for ch in text):
        return "data"
    return "short" if words < 4 else "line"


def code_symbols(text: str) -> int:
    """How many of the line's characters are code's brackets and operators, a comment mark opening it counting as
    one. Two plain scans: one pattern of both took twice as long."""
    return len(CODE_SYMBOL.findall(text)) + (LINE_COMMENT.match(text) is not None)


def _mark_teasers(kinds: list[str], tokens: list[list[str]]) -> None:
    """A headline printed twice running ("• Star -- Headline" / "Star Headline"), as a link and as its
    picture's alt text, is a teaser for another article, however much it reads like prose."""
    for index in range(1, len(kinds)):
        if kinds[index - 1] not in ("prose", "item") or kinds[index] not in ("prose", "item"):
            continue  # before the word sets: most pairs of lines are not two prose lines or items
        now, before = set(tokens[index]), set(tokens[index - 1])
        if (TEASER_MIN_WORDS <= min(len(now), len(before)) and max(len(now), len(before)) <= TEASER_MAX_WORDS
                and len(now & before) >= TEASER_OVERLAP * len(now | before)):
            kinds[index - 1] = kinds[index] = "line"


def _mark_galleries(kinds: list[str], texts: list[str]) -> None:
    """The slides of a gallery, from its first counter ("1/50") to the caption after its last ("50/50")."""
    slides: dict[int, list[int]] = {}
    for index, text in enumerate(texts):
        if (match := SLIDE.match(text)) and 0 < int(match[1]) <= int(match[2]) >= MIN_SLIDES:
            slides.setdefault(int(match[2]), []).append(index)
    for rows in slides.values():
        if len(rows) < MIN_SLIDES:
            continue
        gaps = sorted(b - a for a, b in zip(rows, rows[1:]))
        stop = min(len(kinds), rows[-1] + gaps[len(gaps) // 2])  # the last slide takes as many lines as most
        kinds[rows[0]:stop] = ["gallery"] * (stop - rows[0])


def _merge_code_listings(kinds: list[str], texts: list[str]) -> None:
    """Keywords between lines of code ("SELECT", "FROM") are code too; labels among a chart's figures are data.

    A listing spreads line by line (a run of keywords joins it); a chart only takes labels between its figures.
    """
    for listing, spreads in (("code", True), ("data", False)):
        judged = kinds if spreads else list(kinds)
        for index, kind in enumerate(kinds):
            if kind in ("short", "line", "boilerplate") and len(texts[index].split()) <= 6:
                near = judged[max(0, index - 2):index] + judged[index + 1:index + 3]
                if near.count(listing) >= 2:
                    kinds[index] = listing


# --- where the body is ---

def body_span(lines: list[Line]) -> tuple[tuple[int, int], tuple[int, int]]:
    """The rules' run of lines (``rule_span``) and the article's: the rules' too, or, when a run model ships, the
    best-scoring of the candidate runs (``candidate_runs``), the rules' among them."""
    from newsletter.sources.readers.linemodel import has_run_model, run_score

    ruled = rule_span(lines)
    if not has_run_model() or not lines:
        return ruled, ruled
    topic = run_topic(lines, ruled)
    candidates = candidate_runs(lines, ruled, topic)
    if len(candidates) == 1:
        return ruled, ruled
    scores = [run_score(row) for row in run_features(lines, candidates, ruled, topic)]
    return ruled, candidates[max(range(len(candidates)), key=scores.__getitem__)]


def rule_span(lines: list[Line]) -> tuple[int, int]:
    """The run of lines with the largest total weight, ended where a comment thread or a page section starts.
    An article comes first: a run of prose above it that is not its start is the article when it weighs at least
    half as much (the heaviest run was a comment thread, a contact box or a footer)."""
    best, best_start, best_end = _best_run(lines, 0, len(lines))
    if not best:
        return 0, len(lines)  # no prose anywhere (a short notice): all but the furniture is the body
    start, end = _cut_run(lines, best_start, best_end)
    weight, first, stop = _best_run(lines, 0, best_start)
    if start >= best_start and weight >= EARLIER_SHARE * best and _in_sentences(lines[first:stop]):
        return _cut_run(lines, first, stop)
    return start, end


def _in_sentences(run: list[Line]) -> bool:
    """Whether most of a run's prose ends like sentences: an article, not a list of its site's other headlines."""
    prose = [line for line in run if line.kind == "prose"]
    return sum(line.words for line in prose if ends_sentence(line.text)) * 2 >= sum(line.words for line in prose)


def _cut_run(lines: list[Line], start: int, end: int) -> tuple[int, int]:
    end = _thin_tail_cut(lines, start, _section_cut(lines, start, end))
    return _rejoined_head(lines, _thin_head_cut(lines, start, end), end), end


def _best_run(lines: list[Line], low: int, high: int) -> tuple[float, int, int]:
    """The weight, start and end of the heaviest run of lines between ``low`` and ``high``."""
    best = running = 0.0
    start = best_start = best_end = low
    for index in range(low, high):
        if running <= 0:
            running, start = 0.0, index
        running += lines[index].weight
        if running > best:
            best, best_start, best_end = running, start, index + 1
    return best, best_start, best_end


# A comment's furniture: its "Reply" button, or its "Jane says:" signature.
THREAD_MARK = re.compile(r"^(?:reply|antworten|beantworten|répondre|responder|rispondi|\S.{0,40}\s(?:says|sagt|schreibt"
                         r"|schrieb|wrote|dit|dice)\s*:?)$", re.IGNORECASE)
THREAD_MARK_WORDS = 8
RUN_SEGMENTS = 8  # the heaviest runs of prose that may be the article instead of the rules' run ...
RUN_SEGMENT_WEIGHT = 10  # ... and how heavy a run must be to extend the rules' run ...
RUN_EXTENSIONS = 4  # ... up to this many runs above it or below it ...
CARRIED_TOPIC = 0.1  # ... sharing at least this share of the words of the smaller of the two


def _segments(lines: list[Line]) -> list[tuple[float, int, int]]:
    """(weight, start, end) of the heaviest run inside each stretch of lines whose running weight stays positive."""
    segments = []
    running = best = 0.0
    start = best_start = best_end = 0
    for index, line in enumerate(lines):
        if running <= 0:
            if best > 0:
                segments.append((best, best_start, best_end))
            running, start, best = 0.0, index, 0.0
        running += line.weight
        if running > best:
            best, best_start, best_end = running, start, index + 1
    if best > 0:
        segments.append((best, best_start, best_end))
    return segments


def run_topic(lines: list[Line], run: tuple[int, int]) -> frozenset[str]:
    """The meaningful words of all the prose of a run (the rules' run: what its candidates are compared with)."""
    return _body_topic(lines, *run, budget=math.inf)


def candidate_runs(lines: list[Line], ruled: tuple[int, int], topic: frozenset[str]) -> list[tuple[int, int]]:
    """The runs that may be the article, the rules' run first: the heaviest runs elsewhere, cut as the rules cut
    theirs and uncut (and split at the comment threads and sections inside them), and the rules' run carried on over a
    widget or a "Related" box to the end of a run below it, or back to the start of one above it. ``topic`` is the
    rules' run's (``run_topic``)."""
    found = {ruled: None}
    segments = _segments(lines)
    for _, start, end in sorted(segments, reverse=True)[:RUN_SEGMENTS]:
        found.setdefault(_cut_run(lines, start, end))
        found.setdefault((start, end))  # uncut: a head or tail the cuts took may be the article's
        walls = [index for index in range(start, end) if lines[index].kind in ("comments", "section")]
        for low, high in zip([start, *(wall + 1 for wall in walls)], [*walls, end]) if walls else ():
            weight, first, stop = _best_run(lines, low, high)
            if weight > 2 * RUN_SEGMENT_WEIGHT:
                found.setdefault(_cut_run(lines, first, stop))
    heavy = [(start, end) for weight, start, end in segments if weight > RUN_SEGMENT_WEIGHT]
    for _, end in [run for run in heavy if run[0] >= ruled[1]][:RUN_EXTENSIONS]:
        if not _carries_on(lines[ruled[1]:end], topic):
            break
        found.setdefault((ruled[0], end))
    for start, _ in [run for run in heavy if run[1] <= ruled[0]][-RUN_EXTENSIONS:][::-1]:
        if not _carries_on(lines[start:ruled[0]], topic):
            break
        found.setdefault((start, ruled[1]))
    return [run for run in found if run[1] > run[0]]


def _carries_on(added: list[Line], topic: frozenset[str]) -> bool:
    """Whether lines added to the article may be more of it: no comment thread, and prose on its topic."""
    if any(line.kind == "comments" or line.signs_comment for line in added):
        return False
    words = frozenset().union(*(line.topic for line in added if line.kind == "prose"))
    return len(words & topic) >= CARRIED_TOPIC * min(len(words), len(topic))


def run_features(lines: list[Line], runs: list[tuple[int, int]], ruled: tuple[int, int],
                 ruled_topic: frozenset[str]) -> list[list[float]]:
    """Each candidate run's features, in linemodel.RUN_FEATURES order (``ruled_topic``: ``run_topic`` of the
    rules' run)."""
    count = len(lines)
    weights = [sum(line.weight for line in lines[start:end]) for start, end in runs]
    heaviest = max(max(weights), 1.0)
    first_comments = next((index for index, line in enumerate(lines)
                           if line.kind == "comments" and not COMMENT_COUNT.match(line.text)), count)
    rows = []
    for (start, end), weight in zip(runs, weights):
        run = lines[start:end]
        prose = [line for line in run if line.kind == "prose"]
        prose_words = sum(line.words for line in prose)
        gained = sum(line.weight for line in run if line.weight > 0)
        lost = -sum(line.weight for line in run if line.weight < 0)
        added = [*lines[start:min(end, ruled[0])], *lines[max(start, ruled[1]):end]]
        added_prose = [line for line in added if line.kind == "prose"]
        added_words = sum(line.words for line in added_prose)
        above = lines[max(0, start - 2):start]
        gap = _gap(lines, (start, end), ruled)
        rows.append([
            1.0 if (start, end) == ruled else 0.0,
            math.log1p(max(weight, 0.0)),
            weight / heaviest,
            math.log1p(prose_words),
            sum(line.words for line in prose if ends_sentence(line.text)) / (prose_words or 1),
            start / count,
            math.log1p(end - start),
            1.0 if end > ruled[1] and start <= ruled[0] and (start, end) != ruled else 0.0,
            1.0 if start < ruled[0] and end >= ruled[1] and (start, end) != ruled else 0.0,
            math.log1p(len(added)),
            sum(line.kind in FURNITURE for line in run) / len(run),
            lost / (gained + lost or 1.0),
            min(sum(line.kind in ("comments", "section") for line in run), 3),
            1.0 if first_comments < start else 0.0,
            sum(line.marks[0] for line in run) / (len(prose) or 1),
            sum(line.marks[1] for line in run) / len(run),
            1.0 if (start, end) == ruled else _rules_topic_share(lines, (start, end), added_prose if added else None,
                                                                 ruled_topic),
            1.0 if any(_could_be_title(line) for line in above) else 0.0,
            math.log1p(prose_words / (len(prose) or 1)),
            sum(line.words for line in run if line.kind == "item") / (sum(line.words for line in run) or 1),
            1.0 if weight >= heaviest else 0.0,
            sum(line.marks[2] for line in run) / (len(prose) or 1),
            math.log1p(len(gap)),
            math.log1p(-sum(line.weight for line in gap if line.weight < 0)),
            added_words / (prose_words or 1),
            sum(line.words for line in added_prose if ends_sentence(line.text)) / (added_words or 1),
            1.0 if start >= ruled[1] else 0.0,
            1.0 if end <= ruled[0] else 0.0,
        ])
    return rows


def _rules_topic_share(lines: list[Line], run: tuple[int, int], added_prose: list[Line] | None,
                       ruled_topic: frozenset[str]) -> float:
    """The share of a candidate's words (of the prose it adds to the rules' run, or else of all its prose) that
    the rules' run holds too."""
    own = (frozenset().union(*(line.topic for line in added_prose)) if added_prose is not None
           else run_topic(lines, run))
    return len(own & ruled_topic) / (len(own) or 1)


def _gap(lines: list[Line], run: tuple[int, int], ruled: tuple[int, int]) -> list[Line]:
    """The lines between the rules' run and a candidate's nearest line of weight for it outside that run."""
    start, end = run
    if start >= ruled[1] or end <= ruled[0]:  # apart from it
        return lines[ruled[1]:start] if start >= ruled[1] else lines[end:ruled[0]]
    below = next((index for index in range(ruled[1], end) if lines[index].weight > 0), ruled[1])
    above = next((index + 1 for index in range(ruled[0] - 1, start - 1, -1) if lines[index].weight > 0), ruled[0])
    return [*lines[above:ruled[0]], *lines[ruled[1]:below]]


def _rejoined_head(lines: list[Line], start: int, end: int) -> int:
    """Where an article that a widget split in two starts (a video player's menus, a review's verdict box): the
    heaviest run of prose above the body, when it is substantial, shares the body's topic and nothing but
    furniture (no prose, no section or comments heading) stands between them."""
    weight, first, stop = _best_run(lines, 0, start)
    if weight < REJOIN_WEIGHT or any(line.kind in ("prose", "section", "comments") for line in lines[stop:start]):
        return start
    above = frozenset().union(*(line.topic for line in lines[first:stop] if line.kind == "prose"))
    return first if len(above & _body_topic(lines, start, end)) >= REJOIN_TOPIC * len(above) else start


def _thin_head_cut(lines: list[Line], start: int, end: int) -> int:
    """Where the article starts after a menu of links and blurbs that thins out towards it, as a tail does after
    it; a head with a paragraph longer than a standfirst (a review's opening above its verdict box) stays."""
    cut = len(lines) - _thin_tail_cut(lines[::-1], len(lines) - end, len(lines) - start)
    if any(line.kind == "prose" and line.words > STANDFIRST_WORDS for line in lines[start:cut]):
        return start
    return cut


def _thin_tail_cut(lines: list[Line], start: int, end: int) -> int:
    """Where the prose thins out for good: a ticker or a gallery of captions after the article adds up to
    more than the gap before it, but most of its weight is against it."""
    weights = [line.weight for line in lines[start:end]]
    # running totals of the weight for and against the body, so that any stretch's share costs two look-ups
    gained, lost = [0.0, *accumulate(max(w, 0.0) for w in weights)], [0.0, *accumulate(max(-w, 0.0) for w in weights)]

    def prose_share(first: int, stop: int) -> float:
        """How much of the stretch's weight is prose rather than furniture against it."""
        plus, minus = gained[stop - start] - gained[first - start], lost[stop - start] - lost[first - start]
        return plus / (plus + minus) if plus + minus else 0.0

    running = peak = 0.0
    peaks = []
    for index, weight in enumerate(weights, start):
        running += weight
        if running > peak:
            peak = running
            peaks.append(index + 1)
    for cut, following in zip(peaks, peaks[1:] + [end]):
        if cut >= end or prose_share(start, cut) < CORE_SHARE:
            continue
        if prose_share(cut, following) >= CORE_SHARE:
            continue  # the article goes on, paragraph after paragraph, up to the next peak
        if prose_share(cut, end) < TAIL_SHARE:
            return cut
    return end


def _section_cut(lines: list[Line], start: int, end: int) -> int:
    """Where the article ends: at a comment thread, or at a section heading followed by little prose of its own."""
    low = max(0, start - TICKER_WINDOW)  # only the run and the ticker window around it are looked at
    prose = [0] * start + [line.words if line.kind == "prose" else 0 for line in lines[start:end]]
    entries = [False] * low + [bool(TICKER_ENTRY.match(line.text)) for line in lines[low:end + TICKER_WINDOW]]
    tickers = {i for i in range(start, end) if entries[i] and not any(entries[max(0, i - TICKER_WINDOW):i])
               and sum(entries[i:i + TICKER_WINDOW]) >= TICKER_ENTRIES}
    walls = [i for i in range(start, end) if lines[i].kind in ("comments", "section") or i in tickers]
    for index, next_wall in zip(walls, walls[1:] + [end]):
        before, after = sum(prose[start:index]), sum(prose[index + 1:next_wall])
        if before >= SECTION_MIN_BEFORE and (lines[index].kind == "comments" or index in tickers
                                             or after < SECTION_AFTER_SHARE * before):
            return index
    return end


def promo_tail_cut(lines: list[Line], start: int, end: int) -> int:
    """Where the article ends before the publisher's pitch: trailing calls to action ("Discover our ...",
    "Enhance your skills ...!"), and a last section that is mostly such lines, heading and all."""
    heading = next((i for i in range(end - 1, start, -1) if lines[i].kind in ("short", "line")
                    and not SENTENCE_END.search(lines[i].text)), None)
    if heading is not None:
        texts = [line.text for line in lines[heading + 1:end] if line.kind in ("prose", "line", "item")]
        if texts and 2 * sum(bool(PROMO.search(text)) for text in texts) >= len(texts):
            return heading
    while end > start and PROMO.search(lines[end - 1].text):
        end -= 1
    return end


# --- title, byline and date, just above the body ---

@dataclass
class Header:
    title: str | None = None
    byline: str | None = None
    published: dt.date | None = None
    updated: dt.date | None = None
    rows: frozenset[int] = frozenset()
    body_start: int = 0


def read_header(lines: list[Line], start: int, end: int, day_first: bool, seen: dt.datetime | None = None,
                marked: set[str] | frozenset[str] = frozenset(), candidates: list | None = None,
                dates_only: bool = False) -> Header:
    """Metadata from the lines above the first paragraph; the body starts after the last of it. ``dates_only``:
    the dates and nothing else (no byline, title or rows)."""
    first_paragraph = next((i for i in range(start, end) if lines[i].kind == "prose"
                            and (ends_sentence(lines[i].text) or lines[i].words > MAX_TITLE_WORDS)
                            and not labelled_date(lines[i].text, day_first)), start)  # "Published: ... p.m."
    zone = range(max(0, min(start, first_paragraph) - HEADER_LINES), first_paragraph)
    header = Header(body_start=start)
    title_zone = range(max(0, zone.stop - TITLE_LINES), zone.stop)
    related, into_text = _related_rows(lines, title_zone)
    under = _under_standfirst(lines, first_paragraph, end)
    # Where the page's date is looked for, nearest evidence first, each place only when the ones before gave none.
    datelines = {i: dateline(lines[i].text, day_first) for i in [*zone, *under] if i not in related}
    if not _dates_published(datelines):
        datelines |= {i: dateline(lines[i].text, day_first) for i in into_text}
    if seen and not _dates_published(datelines):  # "3 days ago"
        datelines = {i: dates if any(dates) else _relative_dateline(lines[i].text, seen)
                     for i, dates in datelines.items()}
    if not _dates_published(datelines):
        datelines |= _dates_around_text(lines, first_paragraph, end, day_first)
    if not _dated(datelines):
        far = [i for i in title_zone if i < zone.start and i not in related]
        datelines |= {i: dates for i in far if any(dates := dateline(lines[i].text, day_first))}
    if not _dated(datelines):
        datelines |= _labelled_anywhere(lines, day_first) or _one_date_anywhere(lines, end, day_first)
    # A sentence that mentions a date ("… appointed with effect from 1.9.2015") dates the article only when no
    # line of its own does; an embedded post's signature ("— Jane Doe (@jane) November 3, 2023") never does.
    dates = [i for i, (published, _) in datelines.items() if published and not EMBEDDED_POST.search(lines[i].text)]
    labelled = [i for i in dates if labelled_date(lines[i].text, day_first)]  # "Published: 3 May 2024"
    dates = labelled or [i for i in dates if lines[i].kind != "prose"] or dates
    revised = [i for i, (published, updated) in datelines.items() if updated and not published]
    if dates:
        header.published, header.updated = datelines[dates[-1]]
    if revised and not header.updated:
        header.updated = datelines[revised[-1]][1]  # "Updated 3 hours ago" on a line of its own
    if dates_only:
        return header
    # Under a standfirst, a byline counts only beside the date ("by Teads" there is an advert's).
    meta_rows = [*zone, *under] if set(dates) & set(under) else list(zone)
    # "By Jane Doe | Staff" looks like a menu, so only section headings are ruled out as bylines
    bylines = [i for i in meta_rows if i not in related and _byline_row(lines, i, set(dates))]
    if bylines:
        signed = [i for i in bylines if _signed(lines[i].text)]  # "By Jane Doe" beats a bare name
        header.byline = byline_name(lines[(signed or bylines)[-1]].text)
    topic = _body_topic(lines, first_paragraph, end)
    # A chart, a gallery or a spec table may stand between headline and text: look further up.
    anchors = dates[-1:] + bylines[-1:] + revised[-1:]
    title_row = _title_row(lines, title_zone, anchors, topic, (first_paragraph, end), related, marked, candidates)
    if title_row is None and into_text:
        title_row = _title_row(lines, title_zone, anchors, topic, (first_paragraph, end), related - into_text, marked)
    if title_row is not None:
        header.title = _headline_of(lines[title_row].text, {line.text for line in lines})
    # A paragraph that opens with the date dates the page, and stays in the text.
    paragraphs = {i for i in dates if lines[i].kind == "prose" and lines[i].words > MAX_DATELINE_WORDS}
    rows = set(dates + bylines + ([title_row] if title_row is not None else [])) - paragraphs - {first_paragraph}
    header.rows = frozenset(rows)
    above = [row for row in rows if row < first_paragraph]
    header.body_start = max(start, max(above) + 1) if above else start
    return header


def _dates_published(datelines: dict[int, tuple[dt.date | None, dt.date | None]]) -> bool:
    return any(published for published, _ in datelines.values())


def _dated(datelines: dict[int, tuple[dt.date | None, dt.date | None]]) -> bool:
    """Whether any line gave a date, published or revised."""
    return any(any(dates) for dates in datelines.values())


def _dates_around_text(lines: list[Line], first: int, end: int,
                       day_first: bool) -> dict[int, tuple[dt.date | None, dt.date | None]]:
    """Where a page without a dateline over its text dates it: at the head of one of its first paragraphs
    ("29.11.2022 – The industry ..."), on a short line of its own within the text ("Veröffentlicht am 23. Februar
    2020") or just under it ("Posted 3 May 2024 by Jane Doe"), before any comment thread or page section starts
    there; or on a line further under the text that says it is the publication date ("Published: 3 May 2024")."""
    paragraphs = 0
    for index in range(first, min(len(lines), end + FOOTER_LINES)):
        line = lines[index]
        if index >= end and line.kind in ("section", "comments", "prose"):
            break
        if line.kind == "prose":  # a sentence's date is what it tells of, unless the sentence opens with it
            paragraphs += 1
            date = (paragraphs <= LEADING_DATE_PARAGRAPHS and leading_date(line.text, day_first)
                    or labelled_date(line.text, day_first))
            if date:
                return {index: (date, None)}
        elif not captured_date([line.text]) and any(dates := dateline(line.text, day_first)):
            return {index: dates}  # "Retrieved 20 June 2024" is when the dump was made
    for index in range(end, min(len(lines), end + LABELLED_LINES)):
        if lines[index].kind == "comments":
            break
        if date := labelled_date(lines[index].text, day_first):
            return {index: (date, None)}
    return {}


def _labelled_anywhere(lines: list[Line], day_first: bool) -> dict[int, tuple[dt.date | None, dt.date | None]]:
    """A page whose text was not found near its dateline ("Published: 3 May 2024" above a long menu) is still
    dated by it, when every line of the page that labels a publication date labels the same one (a list of
    posts labels many)."""
    return _first_of_one_date({i: (date, None) for i, line in enumerate(lines)
                               if (date := labelled_date(line.text, day_first))})


def _one_date_anywhere(lines: list[Line], end: int,
                       day_first: bool) -> dict[int, tuple[dt.date | None, dt.date | None]]:
    """A page whose text was not found near its dateline, and that shows no other date on a line of its own
    ("23.09.22" under a gallery, "22. Januar 2020 @ 18:13 // Autor: ..." below a long text), is dated by it. A
    list of posts shows many; a comment under the text is dated when it was written, not the article."""
    thread = next((i for i in range(end, len(lines)) if lines[i].kind == "comments"), len(lines))
    return _first_of_one_date({i: dates for i, line in enumerate(lines[:thread])
                               if line.kind != "prose" and line.words <= MAX_DATELINE_WORDS
                               for dates in [dateline(line.text, day_first)] if dates[0]})


def _first_of_one_date(found: dict[int, tuple[dt.date | None, dt.date | None]]
                       ) -> dict[int, tuple[dt.date | None, dt.date | None]]:
    """The first of these rows, when all of them give the same publication date; nothing when they disagree."""
    if len({published for published, _ in found.values()}) != 1:
        return {}
    first = min(found)
    return {first: found[first]}


def _relative_dateline(text: str, seen: dt.datetime) -> tuple[dt.date | None, dt.date | None]:
    date, revised = relative_date(text, seen)
    return (None, date) if revised else (date, None)


def _under_standfirst(lines: list[Line], first: int, end: int) -> range:
    """The short lines between a standfirst and the text ("A summary." / "3 May 2024" / "By Jane Doe" /
    "The article..."), where the date and byline stand on some pages."""
    if first >= end or lines[first].words > STANDFIRST_WORDS:
        return range(0)
    stop, taken = first + 1, 0
    while stop < end and taken < STANDFIRST_GAP and lines[stop].kind != "prose":
        taken += any(ch.isalpha() for ch in lines[stop].text)  # share icons ("•") take no room
        stop += 1
    return range(first + 1, stop)


def _related_rows(lines: list[Line], zone: range) -> tuple[frozenset[int], frozenset[int]]:
    """The rows of "Related", "Most read" and comment sections above the body: their headline links, bylines
    and dates belong to other articles. Such a run lasts from its heading to the next paragraph or menu, and a
    few lines at most ("Contact us" in a menu is no such heading). A run that goes on into a paragraph (one
    that ends like a sentence) was that text's header, not such a section, and is not counted. Second, the
    rows of the run that goes on into the article's text at the zone's end: a related box right above the
    article, or a menu's "Latest" or "Contact" over the article's own headline and date, which are read there
    when nowhere else."""
    rows: set[int] = set()
    run: list[int] = []
    left = 0  # rows the current run may still take
    for index in zone:
        kind = lines[index].kind
        if kind == "section" or kind == "comments" and not COMMENT_COUNT.match(lines[index].text):
            rows.update(run)
            run, left = [], RELATED_MAX_LINES
        elif kind in ("prose", "boilerplate", "navigation"):
            if kind != "prose" or not ends_sentence(lines[index].text):
                rows.update(run)
            run, left = [], 0  # the article's text, or the menu the heading stood in
        if left:
            run.append(index)
            left -= 1
    if left == 0:
        rows.update(run)
        run = []
    return frozenset(rows | set(run)), frozenset(run)


def _byline_row(lines: list[Line], row: int, date_rows: set[int]) -> bool:
    """A "By ..." line is a byline; a bare name only on or beside the date's line."""
    text = lines[row].text
    if not byline_name(text):
        return False
    return bool(_signed(text)) or bool(date_rows & {row - 1, row, row + 1})


def _body_topic(lines: list[Line], first: int, end: int, budget: float = TOPIC_WORDS) -> frozenset[str]:
    """The meaningful words of the body's opening paragraphs (its ``budget`` of words), which its headline
    shares."""
    words: set[str] = set()
    for line in lines[first:end]:
        if line.kind == "prose" and budget > 0:
            words |= line.topic
            budget -= line.words
    return frozenset(words)


def _title_row(lines: list[Line], zone: range, anchors: list[int], topic: frozenset[str],
               body: tuple[int, int], related: frozenset[int] = frozenset(), marked: set[str] | frozenset[str] = frozenset(),
               candidates: list | None = None) -> int | None:
    """The headline: a line above the body that shares its topic, repeats outside the body (breadcrumb,
    sticky bar, share text) or ends another line there, and stands next to the byline, the date or the first
    paragraph; a short label ("Science & Health") is a poor one, and so is a line far above the text. How much
    each counts is learned (linemodel.py); a line a format layer marks as a level-one heading counts too."""
    from newsletter.sources.readers.linemodel import title_score

    outside = Counter(line.text for index, line in enumerate(lines) if not body[0] <= index < body[1])
    rows = [index for index in zone if index not in related and _could_be_title(lines[index], relaxed=True)]
    if not rows:
        return None
    echoed = _echoed(lines, rows, outside)
    shares = {index: _topic_share(lines[index], topic) for index in rows}
    on_topic = [index for index in rows if shares[index] >= ON_TOPIC]
    decks = _decks(lines, rows, set(on_topic))
    scores = {}
    top_share = max(shares.values(), default=0.0)
    outside_text = "\n".join(outside)  # each distinct line once
    whole = _body_topic(lines, body[0], body[1], budget=math.inf)
    for number, index in enumerate(rows):
        line = lines[index]
        features = (*_title_features(lines, index, zone, anchors, topic, shares[index], outside), line.text in marked,
                    min(line.words, 30) / 30, index == zone.stop - 1, index in echoed, index in decks,
                    *_candidate_features(lines, index, len(rows) - number - 1, on_topic, anchors, outside),
                    shares[index] == top_share > 0, *_neighbour_features(lines, index),
                    outside_text.count(line.text) > (line.text in outside), _topic_share(line, whole),
                    line.words == 1, bool(byline_name(line.text)))
        if candidates is not None:
            candidates.append((index, features))
        scores[index] = title_score(features)
    best = max(scores, key=scores.__getitem__, default=None)
    if best is None or scores[best] < title_score(None):
        # Nothing reads as the headline by its topic or neighbours (a short text whose words it does not share):
        # the line right above the text, if it could be one, is still a better guess than a heading inside it.
        return zone.stop - 1 if zone.stop - 1 in scores and _could_be_title(lines[zone.stop - 1]) else None
    # "Headline Kevin Smith / Getty": a photo's alt text (the headline again) run into its credit, when the
    # page shows the bare headline too.
    return next((index for index in scores if index != best and lines[index].words >= ALT_MIN_WORDS
                 and lines[best].text.startswith(lines[index].text + " ")), best)


# The weights of these features (and of those _title_row adds) are in linemodel.py: learned when that beats them.


def _title_features(lines: list[Line], index: int, zone: range, anchors: list[int], topic: frozenset[str],
                    shared: float, outside: Counter) -> tuple[float, ...]:
    """``shared``: the candidate's share of the topic's words."""
    line = lines[index]
    on_topic = shared >= ON_TOPIC  # a menu item repeats and sits next to the date too: only a headline on topic gains
    return (shared,
            on_topic and bool(anchors) and (index == min(anchors) - 1 or index == max(anchors) + 1),
            on_topic and outside[line.text] > 1,
            HEADLINE_WORDS[0] <= line.words <= HEADLINE_WORDS[1],
            line.words <= 3,
            line.words > 20,
            line.text[0].islower(),
            on_topic and index >= zone.stop - 2,
            (index - zone.start + 1) / len(zone),
            on_topic and _heads_group(lines, index, topic))


def _candidate_features(lines: list[Line], index: int, below: int, on_topic: list[int], anchors: list[int],
                        outside: Counter) -> tuple[float, ...]:
    """How a candidate stands among the others and what it looks like, for a learned headline model."""
    line, text = lines[index], lines[index].text
    words = text.split()
    return (line.kind == "prose", line.kind == "boilerplate", line.kind == "short",
            ends_sentence(text), 1 / (1 + below), bool(on_topic) and index == on_topic[-1],
            bool(SEPARATED.search(text)), sum(word[:1].isupper() for word in words) / len(words),
            outside[text] > 1, bool(anchors) and index < min(anchors))


def _neighbour_features(lines: list[Line], index: int) -> tuple[float, ...]:
    above = lines[index - 1].kind if index else "navigation"
    below = lines[index + 1].kind if index + 1 < len(lines) else "navigation"
    return (above in ("navigation", "section", "boilerplate", "item"), above == "prose", below == "prose",
            below in ("navigation", "item", "boilerplate"))


SEPARATED = re.compile(r"\S: |\s[-–—|]\s")  # "Kicker: Headline", "Headline – Site"


def _topic_share(line: Line, topic: frozenset[str]) -> float:
    return len(line.topic & topic) / (len(line.topic) + 1)


def _decks(lines: list[Line], rows: list[int], on_topic: set[int]) -> set[int]:
    """The rows under a headline that are on its topic too: its deck, a subtitle that often shares more of
    the text's words than the headline does ("Trauern digital am Ewigkeitssonntag" / "In der Chatandacht auf
    trauernetz.de der Verstorbenen gedenken"). A photo's credit may stand between them. ``on_topic``: the rows
    on the text's topic."""
    candidates = set(rows)

    def headline_over(index: int) -> bool:
        above = next((j for j in range(index - 1, max(-1, index - 1 - DECK_GAP), -1) if j in candidates), None)
        return above in on_topic and HEADLINE_WORDS[0] <= lines[above].words <= HEADLINE_WORDS[1]

    return {index for index in on_topic if headline_over(index)}


def _echoed(lines: list[Line], rows: list[int], outside: Counter) -> set[int]:
    """The rows whose text another line outside the body ends with: a breadcrumb's last step ("Home » News »
    Headline"), the headline after the site's name, a comment thread's "4 thoughts on “Headline”". A menu item
    is seldom the end of a longer line, and a headline of a few words seldom ends one by chance."""
    wanted = {index: _bare_end(lines[index].text) for index in rows if lines[index].words >= ECHO_MIN_WORDS}
    if not wanted:
        return set()
    # The lines outside the body as one text, each line's end at a line break: no pair of lines is compared.
    text = "\n".join(_bare_end(line) for line in outside) + "\n"
    return {index for index, end in wanted.items() if _ends_another_line(text, end + "\n")}


def _bare_end(text: str) -> str:
    return text.casefold().rstrip(ECHO_TRAILING)


def _ends_another_line(text: str, end: str) -> bool:
    """Whether a line of ``text`` ends with ``end`` after a word of its own (the line itself is not another)."""
    at = text.find(end)
    while at != -1:
        if at > 0 and text[at - 1] != "\n" and not text[at - 1].isalnum():
            return True
        at = text.find(end, at + 1)
    return False


def _headline_of(title: str, texts: set[str]) -> str:
    """The headline a line holds. "Headline 12" is the headline with its comment count when the page shows
    "Headline" alone too; "You are here: Home > Travel > Headline" a breadcrumb whose last step is the page's;
    "1 comment on “Headline”" a comment thread's heading."""
    if here := YOU_ARE_HERE.match(title):
        title = CRUMB_SEPARATOR.split(title[here.end():])[-1].strip() or title
    elif thread := THREAD_ON.match(title):
        title = title[thread.end():].strip(ECHO_TRAILING + "„") or title
    bare = TRAILING_COUNT.sub("", title)
    return bare if bare != title and bare in texts else title


def _heads_group(lines: list[Line], index: int, topic: frozenset[str]) -> bool:
    """A headline over its standfirst: the next line or the one after is on topic too, the line above is not."""
    def on_topic(row: int) -> bool:
        line = lines[row] if 0 <= row < len(lines) else None
        return line is not None and _could_be_title(line) and _topic_share(line, topic) >= ON_TOPIC
    return not on_topic(index - 1) and (on_topic(index + 1) or on_topic(index + 2))


def _could_be_title(line: Line, relaxed: bool = False) -> bool:
    """Whether a line may be a headline at all. ``relaxed``: a single word or a short line that reads as a name
    may too (the learned model weighs them by features of their own)."""
    if line.kind in ("navigation", "section", "comments", "data", "item"):
        return False
    if not (1 if relaxed else 2) <= line.words <= MAX_TITLE_WORDS:
        return False
    if len(line.text) > MAX_TITLE_CHARS:
        return False
    if BULLET.match(line.text):
        return False
    if line.kind == "boilerplate" and (not line.repeated or BOILERPLATE.match(line.text)
                                       or BOILERPLATE_WORDS.search(line.text)):
        return False  # a title repeats (breadcrumb, heading, sticky bar), so repetition alone is no bar
    if DATE_PATTERN.search(line.text) or CLOCK_TIME.search(line.text) or updated_date(line.text):
        return False
    if _doubled(line.text):
        return False  # "Site Name Site Name": a logo's text beside its alt text
    if NOT_TITLE.search(line.text) or line.text.islower() and line.words <= 3:
        return False  # an address, a time stamp, a caption's credit, a form field, a tag or section label
    if len(BOILERPLATE_WORDS.findall(line.text)) and line.words <= 8:
        return False  # "Please accept our privacy terms", "Login using your account"
    if byline_name(line.text) and (_signed(line.text) or line.words <= 4 and not relaxed):
        return False
    return not (ends_sentence(line.text) and line.text[-1] in ".…" and line.words > 3)  # a caption, a standfirst


def _said_twice(text: str) -> str | None:
    """The words of a line that says its opening words (a headline's few at least) twice running, with at most a
    photo credit after them, said once: a picture's alt text printed beside its link or caption."""
    opening, padded = " ".join(text.split()[:TEASER_MIN_WORDS]), text + " "
    again = padded.find(" " + opening + " ", len(opening))
    first, second = text[:again], padded[again + 1:]
    if again > 0 and second.startswith(first) and not second[len(first)].isalnum():  # "... gate. Photo: Jane Doe"
        rest = second[len(first):].strip()
        if len(rest.split()) <= CREDIT_WORDS:
            return f"{first}{' ' if rest[:1].isalnum() else ''}{rest}".strip()
    return None


def _doubled(text: str) -> bool:
    squeezed = text.replace(" ", "")
    half = len(squeezed) // 2
    return len(squeezed) % 2 == 0 and half > 0 and squeezed[:half] == squeezed[half:]


def ends_sentence(text: str) -> bool:
    """Ends like a sentence, not like "... Underneath N.Y.C" (an abbreviation)."""
    return bool(SENTENCE_END.search(text)) and not ABBREVIATION_END.search(text)


def byline_name(line: str) -> str | None:
    """The author's name when the line is a byline: "By Jane Doe, Staff", "Dr Jane Doe", "J. Doe - 3 May 2024"."""
    if len(line.split()) > MAX_DATELINE_WORDS:
        return None
    match = _signed(line)
    if match and not NOT_AUTHOR.search(line[:match.start() + 1]):
        return _name_at_start(match.group("name"))
    if NAME.match(line) and not SENTENCE_END.search(line):
        return line
    if DATE_PATTERN.search(line) and line.split()[0].lower().rstrip(",:") not in NOT_NAMES:
        name = _name_at_start(line)
        return name if name and len(name.split()) >= 2 else None
    return None


def _signed(line: str) -> re.Match[str] | None:
    """ "By Jane Doe", "Story by Jane Doe", "3 May 2024 | von Jane Doe": the "by" of a byline, at its start or after a
    separator or a date; mid-sentence it is a headline's ("Eine Hommage an Vicco von Bülow", "Lessons by the sea")."""
    match = BY.search(line)
    if match is None:
        return None
    before = line[:match.start() + 1]
    signed = (before[-1:] in SIGN_SEPARATORS or len(before.split()) <= SIGNED_WORDS_BEFORE
              or DATE_PATTERN.search(before) or CLOCK_TIME.search(before))  # "Tuesday 15 October 2026 by Jane Doe"
    return match if signed else None


def _name_at_start(text: str) -> str | None:
    """The run of name-like words a byline starts with, up to its date, handle, role or separator."""
    taken: list[str] = []
    for token in text.split():
        word = token.rstrip(",;:")
        joins = word.lower() in NAME_JOINERS and taken
        if not word or not (word[0].isupper() or word.lower() in NAME_PARTICLES or joins):
            break
        if any(ch.isdigit() for ch in word) or word.lower().rstrip(".") in MONTHS and _before_number(text, token):
            break
        handle = "@" in word  # "Jane Doe@janedoe": the handle glued to the name ends it
        taken.append(word.split("@")[0])
        if handle or word != token or len(taken) == MAX_NAME_WORDS:
            break  # "Jane Doe, Staff Writer": the comma ends the name
    while taken and (not taken[-1] or taken[-1].lower() in NAME_JOINERS | NAME_PARTICLES):
        taken.pop()
    if not taken or len(taken) == 1 and len(taken[0]) < 3:
        return None
    name = " ".join(taken)
    return name.title() if name.isupper() and len(taken) > 1 else name


def _before_number(text: str, token: str) -> bool:
    """ "June 3" is a date; "Laura June Topolsky" is a name."""
    rest = text.split(token, 1)[1].split()
    return bool(rest) and rest[0][:1].isdigit()


FALLBACK_TITLE_WORDS = 12


def fallback_title(blocks: tuple[Block, ...]) -> str | None:
    """When no line above the body reads as its headline: the body's first heading, else the opening words of
    its first sentence, so that a dump is never refused for want of a title."""
    heading = next((b.text for b in blocks[:5] if b.kind == "heading" and len(b.text.split()) >= 2), None)
    if heading:
        return heading
    text = next((b.text for b in blocks if b.kind == "paragraph"), blocks[0].text if blocks else "")
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    words = sentence.split()
    return " ".join(words[:FALLBACK_TITLE_WORDS]) + ("…" if len(words) > FALLBACK_TITLE_WORDS else "") or None


def to_block(line: str) -> Block:
    if NUMBERED_ITEM.match(line):
        return Block("item", line.strip())  # "3. Bake for an hour": the number is the step's, and says its order
    if BULLET.match(line):
        return Block("item", BULLET.sub("", line))
    if not SENTENCE_END.search(line) and len(line.split()) <= 14:
        return Block("heading", line)
    return Block("paragraph", line)
