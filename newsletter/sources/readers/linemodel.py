"""The learned part of the page-dump reader: which line is its headline, and which lines are its body.

The rules of pagedump.py say what each line looks like (prose, a list item, a menu, boilerplate, a section
heading...) and where the densest run of prose is. Small models trained on dumps of every style made from
the development pages (benchmarks/train_dump_model.py, docs/extraction.md) weigh
those findings: one scores the headline candidates above the body, one the candidate runs of lines that may be
the article (the rules' run, the other heavy runs, the rules' run carried on over a box), and one (shipped only
when it beats the rules in cross-validation, which it does not today) each line as body or not from its own
features and its neighbours'. The weights ship as JSON beside this module and are evaluated in pure Python: nothing
heavier than ``json`` and ``math`` is imported at run time.

Without the JSON file (or its body part) the rules decide alone, as they did before the model.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from operator import mul
from pathlib import Path
from typing import Any, Callable

Analysis = Any  # pagedump.Analysis (not imported: pagedump imports this module)

# $NEWSLETTER_DUMP_MODEL points the benchmarks at another model file ("none": the rules alone).
MODEL_PATH = Path(os.environ.get("NEWSLETTER_DUMP_MODEL") or Path(__file__).with_name("dump_model.json"))
DIGIT = re.compile(r"\d")
KINDS = ("prose", "item", "short", "line", "data", "code", "picture", "gallery", "navigation", "boilerplate",
         "section", "comments")
WINDOW = 3  # lines either side whose findings a line's score takes in
# A headline candidate's features, in the order pagedump._title_row gives them (and a learned model's weights).
TITLE_FEATURES = ("topic share", "beside the byline or date", "repeated elsewhere", "headline length", "a label",
                  "a standfirst", "lower case", "near the text", "closeness to the text", "heads a group",
                  "marked as a heading", "length", "right above the text", "another line ends with it",
                  "under a headline", "prose", "boilerplate", "short line", "ends a sentence", "nearness rank",
                  "nearest on topic", "separated parts", "capitalised share", "repeated anywhere", "above the byline or date",
                  "most on topic", "under a menu", "under prose", "over prose", "over a menu",
                  "inside another line", "whole-text topic share",
                  "one word", "reads as a name")
# The hand-set headline weights, by feature, used when no learned title model ships (one does since the seventh
# round: docs/extraction.md). The features weighted 0 are for the learned model only; -9 keeps a single word or a
# name-like line from heading a dump, as the rules barred them before the learned model weighed them.
RULE_TITLE_WEIGHTS = {
    "topic share": 1.0, "beside the byline or date": 0.3, "repeated elsewhere": 0.3, "headline length": 0.15,
    "a label": -0.15, "a standfirst": -0.3, "lower case": -0.3, "near the text": 0.1, "closeness to the text": 0.3,
    "heads a group": 0.3, "marked as a heading": 1.0, "length": 0.0, "right above the text": 0.0,
    "another line ends with it": 0.5, "under a headline": -0.2, "prose": 0.0, "boilerplate": 0.0,
    "short line": 0.0, "ends a sentence": 0.0, "nearness rank": 0.0, "nearest on topic": 0.0,
    "separated parts": 0.0, "capitalised share": 0.0, "repeated anywhere": 0.0, "above the byline or date": 0.0,
    "most on topic": 0.0, "under a menu": 0.0, "under prose": 0.0, "over prose": 0.0,
    "over a menu": 0.0, "inside another line": 0.0, "whole-text topic share": 0.0,
    "one word": -9.0, "reads as a name": -9.0,
}
RULE_TITLE_THRESHOLD = 0.25

BODY_FEATURES = (
    *(f"kind={kind}" for kind in KINDS), "log words", "function word share", "ends a sentence", "bullet",
    "repeated", "rules' body", "in the prose run", "header row", "position", "lines before the run",
    "lines after the run", "rules' body around", "prose around", "rules' body before", "rules' body after",
    "prose before", "prose after", "on the body's topic", "after a section heading", "boilerplate words",
    "weight", "heading-like", "cut short", "digit share", "prose in the rules' body", "short in the rules' body",
    "item in the rules' body", "line in the rules' body", "log lines",
)


# A candidate run's features, in the order pagedump.run_features gives them.
RUN_FEATURES = ("the rules' run", "log weight", "weight share", "log prose words", "sentence share", "position",
                "log lines", "carried on below", "carried on above", "log lines added", "furniture share",
                "weight against", "walls inside", "under a comment thread", "clock times per paragraph",
                "boilerplate words per line", "on the rules' topic", "under a headline", "log paragraph words",
                "item share", "heaviest", "thread marks per paragraph", "log gap lines", "gap weight against",
                "added prose share", "added sentence share", "below the rules' run", "above the rules' run")


@cache
def model() -> dict | None:
    try:
        return json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def title_score(features: tuple | None) -> float:
    """A headline candidate's score (the higher, the likelier among its dump's candidates); with no features, the
    score a headline must reach."""
    learned = (model() or {}).get("title")
    if features is None:
        return learned["threshold"] if learned else RULE_TITLE_THRESHOLD
    if not learned:
        return sum(RULE_TITLE_WEIGHTS[name] * float(f) for name, f in zip(TITLE_FEATURES, features, strict=True))
    return learned["bias"] + sum(w * float(f) for w, f in zip(learned["weights"], features))


def has_run_model() -> bool:
    return "run" in (model() or {})


def run_score(features: list[float]) -> float:
    """A candidate run's score: the highest of a dump's runs is its article."""
    learned = model()["run"]
    return sum(w * f for w, f in zip(learned["weights"], features, strict=True))


def body_scores(rows: list[list[float]]) -> list[float]:
    """Each line's log-odds of being the article's body, from its features (pagedump.body_features): a sum over
    boosted trees, or a logistic regression."""
    learned = model()["body"]
    if "trees" in learned:
        return [learned["bias"] + sum(_leaf(tree, row) for tree in learned["trees"]) for row in rows]
    offset, coefficients = _regression(learned)
    return [offset + sum(map(mul, coefficients, row)) for row in rows]


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


def body_rows(analysis: Analysis, features: Callable[[Analysis], list[list[float]]]) -> list[int]:
    """The body's lines in reading order: the model's choice over the lines' ``features``, or the rules' choice
    without a body model (the features are then never computed)."""
    learned = model()
    if not learned or "body" not in learned or not analysis.lines:
        return analysis.rule_rows
    threshold, header_rows = learned["body"]["threshold"], analysis.header.rows
    chosen = [index for index, score in enumerate(body_scores(features(analysis)))
              if score >= threshold and index not in header_rows]
    return chosen or analysis.rule_rows
