"""The learned part of the page-dump reader: which line is its headline, and which lines are its body.

The rules of pagedump.py say what each line looks like (prose, a list item, a menu, boilerplate, a section
heading...) and where the densest run of prose is. Small models trained on dumps of every style made from
the development pages (benchmarks/train_dump_model.py, docs/extraction.md) weigh
those findings: one scores the headline candidates above the body, the other (shipped only when it beats
the rules in cross-validation, which it does not today) each line as body or not from its own features
and its neighbours'. The weights ship as JSON beside this module and are evaluated in pure Python: nothing
heavier than ``json`` and ``math`` is imported at run time.

Without the JSON file (or its body part) the rules decide alone, as they did before the model.
"""

from __future__ import annotations

import json
import math
import os
import re
from functools import cache
from operator import mul
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from newsletter.sources.readers.pagedump import Analysis

# $NEWSLETTER_DUMP_MODEL points the benchmarks at another model file ("none": the rules alone).
MODEL_PATH = Path(os.environ.get("NEWSLETTER_DUMP_MODEL") or Path(__file__).with_name("dump_model.json"))
DIGIT = re.compile(r"\d")
KINDS = ("prose", "item", "short", "line", "data", "code", "picture", "gallery", "navigation", "boilerplate",
         "section", "comments")
WINDOW = 3  # lines either side whose findings a line's score takes in
# The hand-set headline weights that the learned ones replaced (used only when the model file is missing):
# topic, beside byline/date, repeated, headline length, a label, a standfirst, lowercase, near the text, distance,
# heads a group, marked as a heading, length, right above the text.
RULE_TITLE_WEIGHTS = (1.0, 0.3, 0.3, 0.15, -0.15, -0.3, -0.3, 0.1, 0.3, 0.3, 1.0, 0.0, 0.0)
RULE_TITLE_THRESHOLD = 0.25

BODY_FEATURES = (
    *(f"kind={kind}" for kind in KINDS), "log words", "function word share", "ends a sentence", "bullet",
    "repeated", "rules' body", "in the prose run", "header row", "position", "lines before the run",
    "lines after the run", "rules' body around", "prose around", "rules' body before", "rules' body after",
    "prose before", "prose after", "on the body's topic", "after a section heading", "boilerplate words",
    "weight", "heading-like", "cut short", "digit share", "prose in the rules' body", "short in the rules' body",
    "item in the rules' body", "line in the rules' body", "log lines",
)


@cache
def model() -> dict | None:
    try:
        return json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def title_score(features: tuple | None) -> float:
    """A headline candidate's score (its log-odds); with no features, the score a headline must reach."""
    learned = (model() or {}).get("title")
    if features is None:
        return learned["threshold"] if learned else RULE_TITLE_THRESHOLD
    if not learned:
        return sum(w * float(f) for w, f in zip(RULE_TITLE_WEIGHTS, features))
    return learned["bias"] + sum(w * float(f) for w, f in zip(learned["weights"], features))


def body_features(analysis: Analysis) -> list[list[float]]:
    """Each line's features, in BODY_FEATURES order."""
    from newsletter.sources.readers.pagedump import (
        BOILERPLATE_WORDS,
        BULLET,
        SENTENCE_END,
        TRUNCATED,
        _body_topic,
    )

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


def body_scores(analysis: Analysis) -> list[float]:
    """Each line's log-odds of being the article's body: a sum over boosted trees, or a logistic regression."""
    learned = model()["body"]
    if "trees" in learned:
        return [learned["bias"] + sum(_leaf(tree, row) for tree in learned["trees"]) for row in body_features(analysis)]
    offset, coefficients = _regression(learned)
    return [offset + sum(map(mul, coefficients, row)) for row in body_features(analysis)]


_FOLDED: list = [None, 0.0, []]  # the regression last folded, its offset and coefficients


def _regression(learned: dict) -> tuple[float, list[float]]:
    """The regression with its standardisation folded in: one multiply-add per feature."""
    if _FOLDED[0] is not learned:
        coefficients = [w / s for w, s in zip(learned["weights"], learned["scale"])]
        _FOLDED[:] = [learned, learned["bias"] - sum(c * m for c, m in zip(coefficients, learned["mean"])), coefficients]
    return _FOLDED[1], _FOLDED[2]


def _leaf(tree: list, row: list[float]) -> float:
    """The value of the leaf a line reaches in one tree: nodes are [feature, threshold, left, right, value, leaf]."""
    node = tree[0]
    while not node[5]:
        node = tree[node[2] if row[node[0]] <= node[1] else node[3]]
    return node[4]


def body_rows(analysis: Analysis) -> list[int]:
    """The body's lines in reading order: the model's choice, or the rules' without a model."""
    learned = model()
    if not learned or "body" not in learned or not analysis.lines:
        return analysis.rule_rows
    threshold, header_rows = learned["body"]["threshold"], analysis.header.rows
    chosen = [index for index, score in enumerate(body_scores(analysis))
              if score >= threshold and index not in header_rows]
    return chosen or analysis.rule_rows
