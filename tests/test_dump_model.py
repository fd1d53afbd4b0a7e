"""The page-dump reader's learned part: a model shipped as JSON and evaluated in pure Python."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from newsletter.sources.readers import linemodel, pagedump
from newsletter.sources.readers.linemodel import BODY_FEATURES, KINDS, TITLE_FEATURES
from newsletter.sources.readers.pagedump import analyse, body_features, split_dump
from tests.conftest import PROJECT

ARTICLE = "\n".join([
    "Home | News | Events | Contact",
    "Volunteers rebuild the orchard wall at Hill Lane",
    "The old stone wall along the orchard at Hill Lane had been falling down for years, and last weekend "
    "twenty volunteers spent two days putting it back together stone by stone.",
    "Lime mortar",
    "They were guided by a retired mason who lives in the village and who showed them how to set each stone "
    "so that the wall leans slightly inwards and sheds the rain.",
    "© 2025 Hill Lane Village Society",
])


def test_the_shipped_model_is_json_and_reading_a_dump_loads_no_numerical_library() -> None:
    model = json.loads(linemodel.MODEL_PATH.read_text(encoding="utf-8"))
    # A model ships only when it beats the rules in cross-validation on the development pages.
    assert "title" not in model or model["title"]["features"] == list(TITLE_FEATURES)
    assert "body" not in model or model["body"]["features"] == list(BODY_FEATURES)
    assert "run" not in model or model["run"]["features"] == list(linemodel.RUN_FEATURES)
    script = ("import sys\nfrom newsletter.sources.readers.pagedump import split_dump\n"
              "from newsletter.sources.readers.linemodel import model\n"
              f"parts = split_dump({ARTICLE!r})\n"
              "assert model() is not None and parts.blocks\n"
              "print(sorted(m for m in ('numpy', 'sklearn', 'scipy') if m in sys.modules))\n")
    run = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def _prose_only_tree() -> list:
    """One tree: a line whose kind is prose scores +5, any other -5 (nodes: feature, threshold, left, right,
    value, leaf)."""
    prose = BODY_FEATURES.index("kind=prose")
    return [[prose, 0.5, 1, 2, 0.0, False], [0, 0.0, 0, 0, -5.0, True], [0, 0.0, 0, 0, 5.0, True]]


def test_the_body_is_the_lines_the_model_scores_above_its_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    trees = {"body": {"features": list(BODY_FEATURES), "trees": [_prose_only_tree()], "bias": 0.0, "threshold": 0.0}}
    monkeypatch.setattr(linemodel, "model", lambda: trees)
    texts = [block.text for block in split_dump(ARTICLE).blocks]
    assert texts == [line for line in ARTICLE.splitlines() if line.startswith(("The old", "They were"))]
    # The same model as a regression: the heading between the paragraphs is left out the same way.
    weights = [0.0] * len(BODY_FEATURES)
    weights[KINDS.index("prose")] = 10.0
    regression = {"body": {"features": list(BODY_FEATURES), "weights": weights, "bias": -5.0, "threshold": 0.0,
                           "mean": [0.0] * len(BODY_FEATURES), "scale": [1.0] * len(BODY_FEATURES)}}
    monkeypatch.setattr(linemodel, "model", lambda: regression)
    assert [block.text for block in split_dump(ARTICLE).blocks] == texts


def test_without_the_model_file_the_rules_decide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linemodel, "model", lambda: None)
    analysis = analyse(ARTICLE)
    assert linemodel.body_rows(analysis, body_features) == analysis.rule_rows
    assert "Lime mortar" in [block.text for block in split_dump(ARTICLE).blocks]


def test_headline_weights_come_from_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """A model that only values the line right above the text picks it, whatever the rules' weights say."""
    weights = [0.0] * len(linemodel.TITLE_FEATURES)
    weights[linemodel.TITLE_FEATURES.index("right above the text")] = 4.0
    monkeypatch.setattr(linemodel, "model", lambda: {"title": {"weights": weights, "bias": -2.0, "threshold": 0.0}})
    assert split_dump(ARTICLE).title == "Volunteers rebuild the orchard wall at Hill Lane"
    # Below the model's threshold a line is no headline, unless it stands right above the text: that is still a
    # better guess than a heading inside the text.
    monkeypatch.setattr(linemodel, "model", lambda: {"title": {"weights": weights, "bias": -2.0, "threshold": 3.0}})
    assert split_dump(ARTICLE).title == "Volunteers rebuild the orchard wall at Hill Lane"
    dated = ARTICLE.replace("Hill Lane\n", "Hill Lane\n3 May 2024\n", 1)  # the date stands right above the text
    weights = [0.0] * len(linemodel.TITLE_FEATURES)
    weights[linemodel.TITLE_FEATURES.index("beside the byline or date")] = 4.0
    for threshold, taken in ((0.0, True), (3.0, False)):
        model = {"title": {"weights": weights, "bias": -2.0, "threshold": threshold}}
        monkeypatch.setattr(linemodel, "model", lambda model=model: model)
        assert (split_dump(dated).title == "Volunteers rebuild the orchard wall at Hill Lane") is taken


def test_every_headline_feature_has_a_named_rule_weight_and_the_rules_score_by_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The hand-set weights are keyed by feature name, and each candidate gives one value per named feature."""
    monkeypatch.setattr(linemodel, "model", lambda: None)
    assert set(linemodel.RULE_TITLE_WEIGHTS) == set(linemodel.TITLE_FEATURES)
    candidates: list = []
    analyse(ARTICLE, title_candidates=candidates)
    assert candidates and all(len(features) == len(linemodel.TITLE_FEATURES) for _, features in candidates)
    # Only the topic counts: a candidate's score is its topic share, whatever the other features hold.
    only_topic = dict.fromkeys(linemodel.TITLE_FEATURES, 0.0) | {"topic share": 1.0}
    monkeypatch.setattr(linemodel, "RULE_TITLE_WEIGHTS", only_topic)
    for _, features in candidates:
        assert linemodel.title_score(features) == pytest.approx(float(features[0]))


def test_a_headline_that_reads_as_a_name_heads_a_page_about_that_person() -> None:
    """A short line that reads as a name was never a candidate (it could be the byline); the shipped headline
    model weighs it instead, and a page about the person is headed by the name."""
    from tests.test_dump_styles import PARAGRAPHS

    profile = "\n".join([
        "Plot Notes", "Home | Team | Events | Contact", "Margaret Holloway",
        "Margaret Holloway has chaired the allotment society since 2019, and before that she ran the seed swap "
        "for a decade.",
        "Holloway grew up on the plots her grandfather dug after the war, and she still keeps his old spade in the "
        "shed by the gate.", *PARAGRAPHS[1:], "© 2025 Plot Notes"]) + "\n"
    assert split_dump(profile).title == "Margaret Holloway"
    signed = "\n".join(["Plot Notes", "Home | Team | Events | Contact", "Shared tool shed for the allotment society",
                        "By Ann Example", *PARAGRAPHS]) + "\n"
    parts = split_dump(signed)
    assert (parts.title, parts.byline) == ("Shared tool shed for the allotment society", "Ann Example")


# An article that a "Don't miss" box splits in two: the rules' cut keeps only the part under the box.
SPLIT_OPENING = [
    "The old stone wall along the orchard at Hill Lane had been falling down for years, and last weekend twenty "
    "volunteers spent two days putting it back together stone by stone.",
    "They were guided by a retired mason who lives in the village and who showed them how to set each stone so "
    "that the wall leans slightly inwards and sheds the rain."]
SPLIT_REST = [
    "By Sunday evening the volunteers had rebuilt forty metres of the orchard wall, and the mason said the stones "
    "they set should stand for another century if the ivy is kept off them.",
    "The village society now hopes to rebuild the rest of the orchard wall next spring, and asks anyone with a "
    "spare weekend to leave their name with the mason at the village shop.",
    "The orchard itself will open to visitors again in May, when the society plans a picnic beside the rebuilt "
    "wall for everyone who carried a stone."]
SPLIT = "\n".join(["Home | News | Events | Contact", "Volunteers rebuild the orchard wall at Hill Lane", "By Ann Example",
                   *SPLIT_OPENING, "Don't miss", "Council approves new cycle path to the station",
                   "Advertisement", "Share this article", "Read more", *SPLIT_REST,
                   "© 2025 Hill Lane Village Society"]) + "\n"


def _run_model(feature: str) -> dict:
    weights = [0.0] * len(linemodel.RUN_FEATURES)
    weights[linemodel.RUN_FEATURES.index(feature)] = 1.0
    return {"run": {"features": list(linemodel.RUN_FEATURES), "weights": weights}}


def test_the_article_is_the_candidate_run_the_run_model_scores_highest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linemodel, "model", lambda: None)
    assert [block.text for block in split_dump(SPLIT).blocks] == SPLIT_REST  # the rules alone
    monkeypatch.setattr(linemodel, "model", lambda: _run_model("log prose words"))
    parts = split_dump(SPLIT)
    texts = [block.text for block in parts.blocks]
    assert texts[:2] == SPLIT_OPENING and texts[-3:] == SPLIT_REST
    # The header is still read above the rules' run: the headline and byline stay out of the body.
    assert parts.title == "Volunteers rebuild the orchard wall at Hill Lane" and parts.byline == "Ann Example"
    monkeypatch.setattr(linemodel, "model", lambda: _run_model("the rules' run"))
    assert [block.text for block in split_dump(SPLIT).blocks] == SPLIT_REST


def test_the_run_model_never_carries_an_article_on_into_its_comment_thread() -> None:
    """However a run model weighs them, a run carried on over a "Reply" or "Jane says:" line is no candidate."""
    comment = ("I walked past on Sunday and the orchard wall looks wonderful now, so thank you to the volunteers and "
               "to the mason for giving up their weekend to put it back together.")
    furniture = ["Share this article", "Advertisement", "Read more", "Newsletter"] * 2  # the run ends above them
    dump = SPLIT.replace("© 2025", "\n".join([*furniture, "Jane Example says:", comment, "Reply", "© 2025"]))
    lines = pagedump._classified(dump, True, None)[0]
    ruled = pagedump.rule_span(lines)
    comment_row = next(index for index, line in enumerate(lines) if line.text == comment)
    candidates = pagedump.candidate_runs(lines, ruled, pagedump.run_topic(lines, ruled))
    assert ruled[1] < comment_row and any(start <= comment_row < end for start, end in candidates)  # on its own
    assert not any(start <= ruled[0] and comment_row < end for start, end in candidates)
    # Without the signature and the button, the run carried on to the comment is a candidate.
    unsigned = dump.replace("Jane Example says:\n", "").replace("Reply\n", "")
    lines = pagedump._classified(unsigned, True, None)[0]
    comment_row = next(index for index, line in enumerate(lines) if line.text == comment)
    ruled = pagedump.rule_span(lines)
    assert any(start <= ruled[0] and comment_row < end for start, end in pagedump.candidate_runs(lines, ruled, pagedump.run_topic(lines, ruled)))


def test_the_shipped_run_model_reads_an_article_across_a_dont_miss_box() -> None:
    assert [block.text for block in split_dump(SPLIT).blocks] == SPLIT_OPENING + [
        "Don't miss", "Council approves new cycle path to the station"] + SPLIT_REST


def test_a_comment_count_in_the_header_puts_no_run_under_a_comment_thread() -> None:
    """The run model's "under a comment thread" means a thread's heading or form above the run, not the count of
    comments a header links to ("5 Kommentare"), which stands above most articles that have any."""
    column = linemodel.RUN_FEATURES.index("under a comment thread")
    for header, under in (("5 Kommentare", 0.0), ("Leave a comment", 1.0)):
        lines = pagedump.classify(["Home | News | Events | Contact", "Volunteers rebuild the orchard wall", header,
                                   *SPLIT_OPENING, *SPLIT_REST])
        run = (3, len(lines))
        [row] = pagedump.run_features(lines, [run], run, pagedump.run_topic(lines, run))
        assert row[column] == under, header
