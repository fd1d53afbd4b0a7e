"""Time building issues of 1, 10 and 20 articles: in process (warm) and as a cold CLI run.

Articles are generated page dumps (deterministic, distinct, ~700 words each, with
furniture) so near-duplicate merging does not shrink the issue.

    python benchmarks/build.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SIZES = (1, 10, 20)
TARGET_SECONDS = {20: 0.5}


def vocabulary() -> list[str]:
    words: set[str] = set()
    for path in (PROJECT / "issues").glob("*/articles/*.txt"):
        words.update(w.strip(".,:;\"'()") for w in path.read_text().split())
    return sorted(w for w in words if w.isalpha() and w.islower())


def sentence(rng: random.Random, words: list[str]) -> str:
    chosen = rng.choices(words, k=rng.randint(8, 24))
    return " ".join(chosen).capitalize() + "."


def page_dump(rng: random.Random, words: list[str], number: int) -> str:
    lines = ["Your basket is empty.", "Skip to content",
             f"Article {number}: {' '.join(rng.choices(words, k=6))}", "By Alex Example", "3 November 2026"]
    for paragraph in range(14):
        if paragraph % 4 == 3:
            lines.append(" ".join(rng.choices(words, k=4)).capitalize())
        lines.append(" ".join(sentence(rng, words) for _ in range(rng.randint(2, 4))))
    lines += ["Share this: Facebook  X  Email", "Related articles", "About Example Gardens",
              "Example Gardens is a charity that runs allotments for local residents in the area.",
              "Contact us", "Fill in the form below and we will reply.", "© 2026 Example Gardens."]
    return "\n".join(lines) + "\n"


def make_workspaces(root: Path) -> None:
    """One workspace per size, so no issue is another's "earlier issue" to compare against."""
    rng, words = random.Random(2026), vocabulary()
    for size in SIZES:
        (root / f"ws-{size}").mkdir()
        (root / f"ws-{size}" / "newsletter.toml").write_text((PROJECT / "newsletter.toml").read_text())
        folder = root / f"ws-{size}" / "issues" / f"bench-{size}"
        (folder / "articles").mkdir(parents=True)
        listing = []
        for number in range(size):
            (folder / "articles" / f"a{number}.txt").write_text(page_dump(rng, words, number))
            listing.append(f"      - source: articles/a{number}.txt\n        url: https://example.com/a{number}")
        (folder / "issue.md").write_text(
            f"---\nsubject: Benchmark {size}\npreheader: Timing\nsections:\n  - title: All\n    articles:\n"
            + "\n".join(listing) + "\n---\nHello {{first_name}}.\n")


def in_process(root: Path, size: int, repeat: int) -> tuple[float, float]:
    from newsletter.build import build_issue, write_build
    from newsletter.workspace import find_workspace

    workspace = find_workspace(root / f"ws-{size}")
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        write_build(build_issue(workspace, f"bench-{size}"), workspace.build_dir / f"bench-{size}")
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times)


def cold_cli(root: Path, size: int, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "newsletter", "build", f"bench-{size}"], cwd=root / f"ws-{size}", check=True,
                       stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        make_workspaces(root)
        in_process(root, 1, 1)  # imports and template compilation, not counted
        print(f"{'articles':>8}  {'in process (median)':>20}  {'in process (max)':>17}  {'cold CLI (median)':>18}")
        for size in SIZES:
            median, worst = in_process(root, size, args.repeat)
            cold = cold_cli(root, size, max(args.repeat // 2, 1))
            target = TARGET_SECONDS.get(size)
            verdict = ""
            if target:
                verdict = f"  target < {target} s: {'met' if median < target else 'MISSED'}"
                failed |= median >= target
            print(f"{size:>8}  {median * 1000:>17.0f} ms  {worst * 1000:>14.0f} ms  {cold * 1000:>15.0f} ms{verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
