"""Train the page-dump reader's line and headline models on the development pages; write them as JSON.

For every development page of both test sets (../shared/eval/readability and ../shared/eval/trafilatura,
their split.json) and every dump style of benchmarks/make_dumps.py, the dump goes through the reader's own
preparation (a markdown clip's layer off, a forward's quoted part) and rules (pagedump.analyse). Each line
is labelled by aligning it with the page's gold body: the expected text where the set has one
(readability), else the HTML reader's article (trafilatura's pages, whose snippets it must and must not
hold then overrule it). Each headline candidate is labelled by whether it is the page's title (less a
site suffix) or one of its ``<h1>`` headings, and each candidate run of lines by how well the body it gives
agrees with the labelled lines. The headline and run weights are fitted as a choice among each dump's
candidates (a conditional logit, scipy), the body as a logistic regression or boosted trees (scikit-learn),
both for training only; the body's threshold is chosen by cross-validation grouped by site, and the weights
written as a candidate model (by default beside the dump cache, never over the shipped one), which the reader
evaluates in pure Python.

Cross-validation pools both sets, so it can favour a model the readability pages and the behaviour tests
reject (the body regression of 7 December 2026: +0.009 word F1 pooled, -0.02 to -0.03 body F1 on readability's
development pages, ten behaviour tests broken). A candidate is shipped by copying it over
newsletter/sources/readers/dump_model.json only after `NEWSLETTER_DUMP_MODEL=FILE python eval_styles.py` and
`NEWSLETTER_DUMP_MODEL=FILE make check` say so.

Validation pages are never read here.

    python benchmarks/train_dump_model.py [--styles STYLE ...] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

from evaluation import WORD, headlines, load_pages, load_snippet_pages, normalise_text, split_pages
from make_dumps import DEFAULT_CACHE, STYLES, _digest, source_path

from newsletter.sources.readers import linemodel
from newsletter.sources.readers.linemodel import BODY_FEATURES
from newsletter.sources.readers.mail import forwarded_part, looks_like_mail
from newsletter.sources.readers.markdown import clip_text
from newsletter.sources.readers.pagedump import (
    FURNITURE,
    analyse,
    body_features,
    candidate_runs,
    run_features,
    run_topic,
)

PROJECT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NEWSLETTER_SHARED", PROJECT.parent / "shared")) / "eval"
LINE_SHARE = 0.5  # a line is body when this share of its word 4-grams are the gold body's
SHORT_WORDS = 4  # a shorter line is body when its words stand in the gold body in a row, next to body lines
C = 1.0
MIN_GAIN = 0.005  # a model ships only when its cross-validated score beats the rules' by this much


def cached_dump(style: str, data: Path, page: str) -> str | None:
    """A dump from make_dumps.py's cache, or None when it was not made (this script never makes dumps)."""
    path = DEFAULT_CACHE / style / data.name / f"{page}-{_digest(source_path(data, page))}.txt"
    return path.read_text(encoding="utf-8") if path.is_file() else None


def prepared(style: str, dump: str) -> tuple[str, list[str]]:
    """The dump as the reader prepares it (the text, and a clip's level-one headings)."""
    if style == "markdown":
        text, _, headings = clip_text(dump)
        return text, headings
    return (forwarded_part(dump) if looks_like_mail(dump) else dump), []


def gold_pages() -> list[tuple[object, str, str, tuple, tuple]]:
    """(page, gold body, site, with-snippets, without-snippets) for every development page."""
    from newsletter.errors import SourceError
    from newsletter.sources.readers.html import HtmlReader
    from newsletter.sources.source import Source

    pages = []
    root = SHARED / "readability"
    for page in load_pages(root, split_pages(root, "development")):
        pages.append((page, page.expected_text, page.page_id, (), ()))
    root = SHARED / "trafilatura"
    hosts = {entry["file"]: urlparse(url).hostname or entry["file"]
             for url, entry in json.loads((root / "evaldata.json").read_text(encoding="utf-8")).items()}
    reader = HtmlReader()
    for page in load_snippet_pages(root, split_pages(root, "development")):
        try:
            silver = reader.read(Source(page.page_id, Path("page.html"), page.html)).text
        except SourceError:
            silver = ""
        pages.append((page, silver, hosts[page.page_id], page.with_, page.without))
    return pages


def line_labels(texts: list[str], gold: str, with_: tuple, without: tuple) -> list[int]:
    tokens = WORD.findall(gold.lower())
    grams = {tuple(tokens[i:i + 4]) for i in range(len(tokens) - 3)}
    joined = " " + " ".join(tokens) + " "
    labels = []
    for text in texts:
        words = WORD.findall(text.lower())
        if len(words) >= SHORT_WORDS:
            own = [tuple(words[i:i + 4]) for i in range(len(words) - 3)]
            labels.append(int(sum(g in grams for g in own) >= LINE_SHARE * len(own)))
        else:
            labels.append(int(bool(words) and f" {' '.join(words)} " in joined))
    # a short line counts only beside body lines: "Share" is in many a gold text by chance
    for index, text in enumerate(texts):
        if labels[index] and len(WORD.findall(text)) < SHORT_WORDS:
            near = [labels[j] for j in (index - 1, index + 1) if 0 <= j < len(texts)
                    and len(WORD.findall(texts[j])) >= SHORT_WORDS]
            labels[index] = int(any(near))
    flat = [" ".join(text.split()) for text in texts]
    for snippet in with_:
        for index, text in enumerate(flat):
            if " ".join(snippet.split()) in text:
                labels[index] = 1
    for snippet in without:
        for index, text in enumerate(flat):
            if " ".join(snippet.split()) in text:
                labels[index] = 0
    return labels


def _one_page(job):
    """Title candidates and body rows of one page in every style (run in a worker process)."""
    import numpy as np

    page, gold, site, with_, without, styles = job
    linemodel.model = lambda: None  # features as the rules alone find them
    root = SHARED / ("trafilatura" if with_ or without else "readability")
    wanted = headlines(page) if page.title else set()
    titles, runs, features, labels, words = [], [], [], [], []
    for style in styles:
        dump = cached_dump(style, root, page.page_id)
        if not dump or not dump.strip():
            continue
        text, marked = prepared(style, dump)
        candidates: list = []
        analysis = analyse(text, headings=marked, title_candidates=candidates)
        if wanted and candidates:
            titles.append((site, [(tuple(float(f) for f in row), int(normalise_text(analysis.lines[index].text) in wanted))
                                  for index, row in candidates]))
        features += body_features(analysis)
        own = line_labels([line.text for line in analysis.lines], gold, with_, without)
        runs.append((site, *_run_choice(analysis.lines, (analysis.start, analysis.end), own)))
        labels += own
        words += [line.words for line in analysis.lines]
    return (titles, [run for run in runs if len(run[1]) > 1 and max(run[2]) > 0], np.array(features, dtype=np.float32).reshape(-1, len(BODY_FEATURES)),
            np.array(labels, dtype=np.int8), np.array(words, dtype=np.float32), site)


def _run_choice(lines, ruled: tuple[int, int], labels: list[int]) -> tuple[list, list[float]]:
    """Each candidate run's features, and how well the body it gives (its lines less the furniture) agrees
    with the labelled body, word for word."""
    topic = run_topic(lines, ruled)
    runs = candidate_runs(lines, ruled, topic)
    body = sum(line.words for line, label in zip(lines, labels) if label)
    agreement = []
    for start, end in runs:
        kept = [(line.words, label) for line, label in zip(lines[start:end], labels[start:end])
                if line.kind not in FURNITURE]
        right, chosen = sum(w for w, label in kept if label), sum(w for w, _ in kept)
        agreement.append(2 * right / (chosen + body) if right else 0.0)
    return run_features(lines, runs, ruled, topic), agreement


def collect(pages, styles: list[str], processes: int):
    """Title candidates per dump, and the body rows' features, labels, words and sites."""
    from multiprocessing import Pool

    import numpy as np

    titles, runs, xs, ys, ws, groups = [], [], [], [], [], []
    with Pool(processes) as pool:
        jobs = [(*page, styles) for page in pages]
        for number, (page_titles, page_runs, x, y, w, site) in enumerate(pool.imap_unordered(_one_page, jobs,
                                                                                            chunksize=4)):
            titles += page_titles
            runs += page_runs
            xs.append(x)
            ys.append(y)
            ws.append(w)
            groups += [site] * len(y)
            if number % 100 == 0:
                print(f"  {number}/{len(pages)} pages", file=sys.stderr, flush=True)
    return titles, runs, (np.concatenate(xs), np.concatenate(ys), np.concatenate(ws), groups)


def fit_title(titles) -> dict:
    """The headline weights, with their cross-validated accuracy (grouped by site) beside the rules' weights'.

    Which candidate of a dump is its headline is a choice among them, so the weights are fitted as one: the
    likelihood of the right candidates under a softmax over each dump's candidates (a conditional logit), with
    an L2 penalty. A pointwise logistic regression, fitted to each candidate on its own, did not beat the
    rules' weights (68.6 % against 70.4 % on 7 December 2026)."""
    import numpy as np
    from sklearn.model_selection import GroupKFold

    from newsletter.sources.readers.linemodel import RULE_TITLE_WEIGHTS, TITLE_FEATURES

    groups = [(site, np.array([f for f, _ in group], dtype=float), np.array([label for _, label in group]))
              for site, group in titles]
    learned = 0
    for train, test in GroupKFold(n_splits=5).split(np.zeros(len(groups)), groups=[site for site, *_ in groups]):
        weights = _conditional_logit([groups[i] for i in train], TITLE_PENALTY)
        learned += _right([groups[i] for i in test], weights)
    rules = _right(groups, np.array([RULE_TITLE_WEIGHTS[name] for name in TITLE_FEATURES]))
    weights = _conditional_logit(groups, TITLE_PENALTY)
    right_tops = [scores.max() for _, x, y in groups if y[(scores := x @ weights).argmax()]]
    print(f"title: {len(titles)} dumps; best candidate right: learned {learned / len(titles):.1%} "
          f"(cross-validated), the rules' weights {rules / len(titles):.1%}")
    return {"features": list(TITLE_FEATURES), "weights": [float(w) for w in weights], "bias": 0.0,
            "threshold": float(np.percentile(right_tops, TITLE_KEPT_PERCENTILE)),
            "cv": learned / len(titles), "rules": rules / len(titles)}


def fit_run(runs) -> dict:
    """The article-run weights: a conditional logit over each dump's candidate runs, whose right ones are those
    within RUN_TIE of the best agreement with the labelled body. Scored, cross-validated by site, as the mean
    agreement of the chosen run (and the share of dumps it leaves a usable body) against the rules' run."""
    import numpy as np
    from sklearn.model_selection import GroupKFold

    from newsletter.sources.readers.linemodel import RUN_FEATURES

    groups = [(site, np.array(x, dtype=float), np.array(f1s)) for site, x, f1s in runs]
    for site, x, f1s in groups:
        assert x.shape[1] == len(RUN_FEATURES), x.shape
    mean, scale = _standardised(groups)
    chosen = np.zeros(len(groups))
    for train, test in GroupKFold(n_splits=5).split(np.zeros(len(groups)), groups=[site for site, *_ in groups]):
        weights = _conditional_logit([_run_group(groups[i], mean, scale) for i in train], RUN_PENALTY)
        for i in test:
            chosen[i] = groups[i][2][(((groups[i][1] - mean) / scale) @ weights).argmax()]
    rules = np.array([f1s[0] for _, _, f1s in groups])
    best = np.array([f1s.max() for _, _, f1s in groups])
    print(f"run: {len(groups)} dumps with a choice; mean agreement learned {chosen.mean():.4f} (cross-validated), "
          f"rules {rules.mean():.4f}, best candidate {best.mean():.4f}; usable (>= 0.5) learned "
          f"{(chosen >= 0.5).sum()}, rules {(rules >= 0.5).sum()}, best {(best >= 0.5).sum()}")
    weights = _conditional_logit([_run_group(group, mean, scale) for group in groups], RUN_PENALTY) / scale
    return {"features": list(RUN_FEATURES), "weights": [float(w) for w in weights],
            "cv": float(chosen.mean()), "rules": float(rules.mean())}


RUN_PENALTY = 1.0  # the L2 penalty over standardised run features (0.3 to 3 cross-validate within 0.002)
RUN_TIE = 0.1  # candidates this close to the best agreement are as right as it


def _standardised(groups):
    import numpy as np

    rows = np.concatenate([x for _, x, _ in groups])
    scale = rows.std(axis=0)
    scale[scale == 0] = 1.0
    return rows.mean(axis=0), scale


def _run_group(group, mean, scale):
    site, x, f1s = group
    return site, (x - mean) / scale, (f1s >= f1s.max() - RUN_TIE).astype(float)


TITLE_PENALTY = 0.1  # the L2 penalty of the headline weights (0.1 and 1 cross-validate within 0.4 points)
# Below the lowest score at which a dump's best candidate was its headline, it has none. (The score of all but 1 %
# of them, used until the tenth round, left 0.5-0.7 points of titles to the first sentence in four styles.)
TITLE_KEPT_PERCENTILE = 0


def _right(groups, weights) -> int:
    """In how many dumps the best-scoring candidate is the headline."""
    return int(sum(labels[(features @ weights).argmax()] for _, features, labels in groups))


def _conditional_logit(groups, penalty: float):
    import numpy as np
    from scipy.optimize import minimize

    answered = [(features, labels / labels.sum()) for _, features, labels in groups if labels.any()]

    def loss_and_gradient(weights):
        loss, gradient = penalty * weights @ weights, 2 * penalty * weights
        for features, wanted in answered:
            scores = features @ weights
            chances = np.exp(scores - scores.max())
            chances /= chances.sum()
            loss -= wanted @ np.log(chances + 1e-12)
            gradient -= features.T @ (wanted - chances)
        return loss, gradient

    return minimize(loss_and_gradient, np.zeros(answered[0][0].shape[1]), jac=True, method="L-BFGS-B").x


def fit_body(rows) -> dict:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    xs, ys, words, groups = rows
    xs = xs.astype(float)
    words = np.maximum(words, 1.0)
    mean, scale = xs.mean(axis=0), xs.std(axis=0)
    scale[scale == 0] = 1.0
    standard = (xs - mean) / scale
    # Cross-validated scores, grouped by site, choose the threshold that the words of the body agree with most.
    scores = np.zeros(len(ys))
    for train, test in GroupKFold(n_splits=5).split(standard, ys, groups):
        model = LogisticRegression(C=C, max_iter=3000)
        model.fit(standard[train], ys[train], sample_weight=np.sqrt(words[train]))
        scores[test] = model.decision_function(standard[test])
    best = (0.0, 0.0)
    for threshold in np.arange(-2.0, 2.01, 0.1):
        f1 = _word_f1(scores >= threshold, ys, words)
        best = max(best, (f1, float(threshold)))
    model = LogisticRegression(C=C, max_iter=3000).fit(standard, ys, sample_weight=np.sqrt(words))
    rules = xs[:, BODY_FEATURES.index("rules' body")] > 0
    print(f"body: {len(ys)} lines; cross-validated word F1 {best[0]:.3f} at threshold {best[1]:+.1f} "
          f"(the rules alone: {_word_f1(rules, ys, words):.3f})")
    return {"features": list(BODY_FEATURES), "weights": [float(w) for w in model.coef_[0]],
            "bias": float(model.intercept_[0]), "mean": [float(m) for m in mean], "scale": [float(s) for s in scale],
            "threshold": round(best[1], 2), "cv": best[0], "rules": _word_f1(rules, ys, words)}


def fit_trees(rows, count: int) -> dict:
    """Boosted trees (a few, shallow) over the same features, written node by node for the pure-Python reader."""
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import GroupKFold

    xs, ys, words, groups = rows
    words = np.maximum(words, 1.0)

    def model():
        return HistGradientBoostingClassifier(max_iter=count, max_depth=TREE_DEPTH, learning_rate=0.2,
                                              early_stopping=False)

    scores = np.zeros(len(ys))
    for train, test in GroupKFold(n_splits=5).split(xs, ys, groups):
        scores[test] = model().fit(xs[train], ys[train], sample_weight=np.sqrt(words[train])).decision_function(xs[test])
    best = max((_word_f1(scores >= t, ys, words), float(t)) for t in np.arange(-2.0, 2.01, 0.1))
    rules = xs[:, BODY_FEATURES.index("rules' body")] > 0
    print(f"body trees: {len(ys)} lines; cross-validated word F1 {best[0]:.3f} at threshold {best[1]:+.1f} "
          f"(the rules alone: {_word_f1(rules, ys, words):.3f})")
    fitted = model().fit(xs, ys, sample_weight=np.sqrt(words))
    trees = []
    for (predictor,) in fitted._predictors:
        trees.append([[int(n["feature_idx"]), float(n["num_threshold"]), int(n["left"]), int(n["right"]),
                       float(n["value"]), bool(n["is_leaf"])] for n in predictor.nodes])
    return {"features": list(BODY_FEATURES), "trees": trees, "bias": float(np.ravel(fitted._baseline_prediction)[0]),
            "threshold": round(best[1], 2), "cv": best[0], "rules": _word_f1(rules, ys, words)}


TREE_DEPTH = 4


def _word_f1(chosen, ys, words) -> float:
    """How well the chosen lines' words agree with the body lines' words."""
    tp = words[chosen & (ys == 1)].sum()
    precision, recall = tp / max(words[chosen].sum(), 1), tp / max(words[ys == 1].sum(), 1)
    return float(2 * precision * recall / (precision + recall)) if precision + recall else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--styles", nargs="*", choices=STYLES, default=list(STYLES))
    parser.add_argument("--out", type=Path, default=DEFAULT_CACHE / "dump_model.candidate.json",
                        help="where the candidate model goes (default: beside the dump cache)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--trees", type=int, default=0, help="boosted trees for the body instead of a regression")
    parser.add_argument("--reuse", action="store_true", help="the features of the last run (same styles and pages)")
    parser.add_argument("--models", nargs="*", choices=("title", "run", "body"),
                        default=["title", "run", "body"],
                        help="which models to fit and write")
    args = parser.parse_args(argv)
    started = time.time()
    features = DEFAULT_CACHE / "_training.pickle"
    if args.reuse and features.is_file():
        titles, runs, rows = pickle.loads(features.read_bytes())
    else:
        pages = gold_pages()
        print(f"{len(pages)} development pages, styles {', '.join(args.styles)}")
        titles, runs, rows = collect(pages, args.styles, args.processes)
        features.write_bytes(pickle.dumps((titles, runs, rows)))
    fitted = {}
    if "title" in args.models:
        fitted["title"] = fit_title(titles)
    if "run" in args.models:
        fitted["run"] = fit_run(runs)
    if "body" in args.models:
        fitted["body"] = fit_trees(rows, args.trees) if args.trees else fit_body(rows)
    shipped = {"about": "benchmarks/train_dump_model.py; docs/extraction.md. A model is left out when it does not "
                        "beat the rules in cross-validation on the development pages; then the rules decide."}
    for name, model in fitted.items():
        learned, rules = model.pop("cv"), model.pop("rules")
        if learned >= rules + MIN_GAIN:
            shipped[name] = model | {"cross-validated": {"learned": round(learned, 4), "rules": round(rules, 4)}}
        else:
            print(f"the {name} model does not beat the rules in cross-validation: the rules keep deciding")
    args.out.write_text(json.dumps(shipped) + "\n", encoding="utf-8")
    print(f"wrote {args.out} in {time.time() - started:.0f} s; body lines {Counter(rows[1].tolist())}")
    print(f"Next: NEWSLETTER_DUMP_MODEL={args.out} python eval_styles.py --side development, and the same for "
          "make check; copy it over newsletter/sources/readers/dump_model.json only if both say so")
    return 0


if __name__ == "__main__":
    sys.exit(main())
