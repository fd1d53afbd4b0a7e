"""Score the extractive summariser on the BBC extractive-summary set, beside the lead-k baseline.

    python benchmarks/eval_summaries.py [--data DIR]

Each article's first line is its title and the rest, split at blank lines, its paragraphs.
The reference summary is split into sentences by finding the article's own sentences in
it (the set's summaries may run sentences together without a space), so both sides use
the same sentence units. Scores are averaged over articles at two lengths: k = 3 (the
targets) and k = the number of reference sentences. ROUGE-1/ROUGE-2 F1 compare the
picked sentences with the whole reference text (rouge-score, Porter stemming).

Exits 1 when a target is missed: precision@3 >= 0.70, ROUGE-2 above lead-3, and every
article (the BBC set and the longer seed pages) summarised in under 20 ms in process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from newsletter.compose.issuefile import Budget
from newsletter.compose.summarize import split_sentences, summarize
from newsletter.sources.article import Article, Block
from newsletter.sources.readers import read_article

PROJECT = Path(__file__).resolve().parent.parent
K = 3
TARGET_PRECISION = 0.70
TARGET_MS = 20.0
LEAD_MARGIN = 0.15  # sentence precision stays this far above lead-k


@dataclass(frozen=True)
class Case:
    name: str
    article: Article
    sentences: list[str]  # the article's sentences, as the summariser splits them
    reference: set[str]  # those of them that the reference summary holds
    reference_text: str


def shared_dir() -> Path:
    return Path(os.environ.get("NEWSLETTER_SHARED", PROJECT.parent / "shared"))


def load_cases(root: Path) -> list[Case]:
    cases = []
    for path in sorted((root / "article").glob("*/*.txt")):
        name = path.relative_to(root / "article").as_posix()
        title, _, body = path.read_text(encoding="utf-8").strip().partition("\n")
        paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
        article = Article(source=name, title=title.strip(), blocks=tuple(Block("paragraph", p) for p in paragraphs))
        sentences = [s for block in article.prose for s in split_sentences(block)]
        reference_text = (root / "summary" / name).read_text(encoding="utf-8")
        cases.append(Case(name, article, sentences, reference_sentences(sentences, reference_text), reference_text))
    return cases


def reference_sentences(sentences: list[str], summary: str) -> set[str]:
    """The article sentences found in the summary, longest first so a short one never claims part of a long one."""
    found = set()
    for sentence in sorted(set(sentences), key=len, reverse=True):
        if sentence in summary:
            found.add(sentence)
            summary = summary.replace(sentence, "\0")
    return found


def unexplained(case: Case) -> str:
    """What is left of the reference summary once the article's sentences are taken out of it."""
    rest = case.reference_text
    for sentence in sorted(case.reference, key=len, reverse=True):
        rest = rest.replace(sentence, "")
    return rest.strip()


def precision(chosen: list[str], reference: set[str], k: int) -> float:
    return sum(sentence in reference for sentence in chosen) / k


def summary_sentences(case: Case, k: int) -> list[str]:
    return split_sentences(summarize(case.article, Budget(sentences=k, words=0)))


def lead_sentences(case: Case, k: int) -> list[str]:
    return case.sentences[:k]


@dataclass(frozen=True)
class Row:
    method: str
    k: str
    precision: float
    rouge1: float
    rouge2: float


def score(cases: list[Case], method: str, pick: Callable[[Case, int], list[str]], k_name: str,
          k_of: Callable[[Case], int]) -> Row:
    from rouge_score.rouge_scorer import RougeScorer  # imports nltk (~0.5 s): only when scoring

    scorer = RougeScorer(["rouge1", "rouge2"], use_stemmer=True)
    precisions, rouge1, rouge2 = [], [], []
    for case in cases:
        k = k_of(case)
        chosen = pick(case, k)
        precisions.append(precision(chosen, case.reference, k))
        rouge = scorer.score(case.reference_text, " ".join(chosen))
        rouge1.append(rouge["rouge1"].fmeasure)
        rouge2.append(rouge["rouge2"].fmeasure)
    return Row(method, k_name, statistics.mean(precisions), statistics.mean(rouge1), statistics.mean(rouge2))


def milliseconds_per_article(articles: list[Article], repeat: int = 3) -> list[float]:
    """Each article's best time of ``repeat`` warm runs (the first run of all is discarded)."""
    budget = Budget(sentences=K, words=80)
    summarize(articles[0], budget)
    times = []
    for article in articles:
        runs = []
        for _ in range(repeat):
            start = time.perf_counter()
            summarize(article, budget)
            runs.append((time.perf_counter() - start) * 1000)
        times.append(min(runs))
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=shared_dir() / "eval" / "bbc-summaries")
    args = parser.parse_args(argv)
    try:
        import rouge_score  # noqa: F401
    except ImportError:
        print("eval_summaries needs rouge-score: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    cases = load_cases(args.data)
    if not cases:
        print(f"no articles under {args.data / 'article'}", file=sys.stderr)
        return 2
    partial = [case.name for case in cases if unexplained(case)]
    print(f"{len(cases)} articles, {sum(len(c.sentences) for c in cases)} sentences, "
          f"{sum(len(c.reference) for c in cases)} in the references"
          + (f" (not fully matched: {', '.join(partial)})" if partial else " (all matched)"))
    rows = [
        score(cases, "summarize", summary_sentences, str(K), lambda case: K),
        score(cases, f"lead-{K}", lead_sentences, str(K), lambda case: K),
        score(cases, "summarize", summary_sentences, "ref", lambda case: len(case.reference)),
        score(cases, "lead-k", lead_sentences, "ref", lambda case: len(case.reference)),
    ]
    print(f"\n{'method':<10} {'k':>3}   {'precision@k':>11}   {'ROUGE-1 F1':>10}   {'ROUGE-2 F1':>10}")
    for row in rows:
        print(f"{row.method:<10} {row.k:>3}   {row.precision:>11.3f}   {row.rouge1:>10.3f}   {row.rouge2:>10.3f}")
    print("(k = ref: as many sentences as the article's reference summary has)")

    bbc_ms = milliseconds_per_article([case.article for case in cases])
    seeds = sorted((shared_dir() / "seeds").glob("*.txt"))
    seed_ms = milliseconds_per_article([read_article(str(path), PROJECT) for path in seeds]) if seeds else []
    print(f"\ntime in process: {statistics.mean(bbc_ms):.1f} ms/article mean, {max(bbc_ms):.1f} ms max "
          f"(BBC, {statistics.mean(len(c.article.text) for c in cases) / 1000:.1f} KB on average)"
          + (f"; seed pages {', '.join(f'{ms:.1f}' for ms in seed_ms)} ms" if seed_ms else ""))

    ours, lead, ours_ref, lead_ref = rows
    slowest = max(bbc_ms + seed_ms)
    checks = [
        (f"precision@{K} {ours.precision:.3f} >= {TARGET_PRECISION:.2f}", ours.precision >= TARGET_PRECISION),
        *((f"precision@{a.k} {a.precision:.3f} >= {b.method} {b.precision:.3f} + {LEAD_MARGIN}",
           a.precision >= b.precision + LEAD_MARGIN) for a, b in ((ours, lead), (ours_ref, lead_ref))),
        (f"ROUGE-2 {ours.rouge2:.3f} > lead-{K} {lead.rouge2:.3f}", ours.rouge2 > lead.rouge2),
        (f"slowest article {slowest:.1f} ms < {TARGET_MS:.0f} ms", slowest < TARGET_MS),
    ]
    print("\n".join(f"target {'met   ' if ok else 'MISSED'}  {text}" for text, ok in checks))
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
