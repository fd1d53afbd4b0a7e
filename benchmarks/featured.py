"""Time the "already featured" check: a new issue against 2 years of monthly issues.

Each earlier issue lists 10 generated page dumps (~700 words, as in benchmarks/build.py);
the new issue repeats one of them. The first build reads every earlier article; later
builds find the articles' fingerprints in .cache/featured by the hash of their bytes.

    python benchmarks/featured.py [--issues 24] [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import PROJECT, page_dump, sentence_pool  # noqa: E402 (the sibling benchmark's generators)

ARTICLES_PER_ISSUE = 10


def make_workspace(root: Path, issues: int) -> str:
    """``issues`` monthly issues, then the new one; returns the new issue's slug."""
    (root / "newsletter.toml").write_text((PROJECT / "newsletter.toml").read_text())
    rng, words = random.Random(2026), sentence_pool()
    repeated = ""
    for month in range(issues + 1):
        year, number = 2025 + month // 12, month % 12 + 1
        slug = f"{year}-{number:02d}"
        folder = root / "issues" / slug
        (folder / "articles").mkdir(parents=True)
        listing = []
        for index in range(ARTICLES_PER_ISSUE):
            text = repeated if (month == issues and index == 0) else page_dump(rng, words, month * 100 + index)
            repeated = repeated or text
            (folder / "articles" / f"a{index}.txt").write_text(text)
            listing.append(f"      - articles/a{index}.txt")
        (folder / "issue.md").write_text(
            f"---\nsubject: Issue {slug}\ndate: {year}-{number:02d}-28\nsections:\n  - title: All\n    articles:\n"
            + "\n".join(listing) + "\n---\nHello.\n")
    return slug


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from newsletter.compose.issue import compose
    from newsletter.compose.issuefile import read_issue
    from newsletter.workspace import find_workspace

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        slug = make_workspace(root, args.issues)
        workspace = find_workspace(root)
        spec = read_issue(workspace.issue_path(slug))
        timings = []
        for _ in range(args.repeat + 1):
            start = time.perf_counter()
            issue = compose(spec, workspace)
            timings.append(time.perf_counter() - start)
        assert issue.entries[0].featured_in == ("2025-01",), issue.entries[0].featured_in
        earlier = args.issues * ARTICLES_PER_ISSUE
        print(f"compose a {ARTICLES_PER_ISSUE}-article issue against {args.issues} earlier issues ({earlier} articles)")
        print(f"  first build (reads every earlier article):  {timings[0] * 1000:7.0f} ms")
        print(f"  later builds (memo in .cache/featured):     {statistics.median(timings[1:]) * 1000:7.0f} ms (median)")

        workspace_alone = root / "alone"
        (workspace_alone / "issues").mkdir(parents=True)
        (workspace_alone / "newsletter.toml").write_text((root / "newsletter.toml").read_text())
        (root / "issues" / slug).rename(workspace_alone / "issues" / slug)
        alone = find_workspace(workspace_alone)
        spec = read_issue(alone.issue_path(slug))
        baseline = [_timed(compose, spec, alone) for _ in range(args.repeat)]
        print(f"  the same issue with no earlier issues:      {statistics.median(baseline) * 1000:7.0f} ms (median)")


def _timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
