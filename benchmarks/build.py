"""Time building issues of 1, 10, 20 and 200 articles: in process (warm) and as a cold CLI run.

Articles are generated page dumps (deterministic, distinct: 42 sentences drawn from the
example articles, ~700 words, with furniture), so near-duplicate merging does not shrink
the issue.

    python benchmarks/build.py [--repeat 5] [--sizes 20 200]
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
SIZES = (1, 10, 20, 200)
TARGET_SECONDS = {20: 0.5, 200: 1.2}
INTRO_EDIT_TARGET = 0.030


def sentence_pool() -> list[str]:
    """Sentences of the example articles: real English, recombined into distinct articles."""
    sentences: set[str] = set()
    for path in (PROJECT / "issues").glob("*/articles/*.txt"):
        for line in path.read_text().splitlines():
            if len(line.split()) >= 15:
                sentences.update(s.strip() + "." for s in line.split(". ") if len(s.split()) >= 6)
    return sorted(sentences)


def page_dump(rng: random.Random, pool: list[str], number: int) -> str:
    chosen = iter(rng.sample(pool, 42))
    lines = ["Your basket is empty.", "Skip to content",
             f"Article {number}: notes from the plot", "By Alex Example", "3 November 2026"]
    for paragraph in range(14):
        if paragraph % 4 == 3:
            lines.append(f"Part {paragraph // 4 + 1} of the story")
        lines.append(" ".join(next(chosen) for _ in range(3)))
    lines += ["Share this: Facebook  X  Email", "Related articles", "About Example Gardens",
              "Example Gardens is a charity that runs allotments for local residents in the area.",
              "Contact us", "Fill in the form below and we will reply.", "© 2026 Example Gardens."]
    return "\n".join(lines) + "\n"


def make_workspaces(root: Path, sizes: tuple[int, ...] = SIZES) -> None:
    """One workspace per size, so no issue is another's "earlier issue" to compare against."""
    rng, pool = random.Random(2026), sentence_pool()
    for size in sorted({1, *sizes}):
        (root / f"ws-{size}").mkdir()
        (root / f"ws-{size}" / "newsletter.toml").write_text((PROJECT / "newsletter.toml").read_text())
        folder = root / f"ws-{size}" / "issues" / f"bench-{size}"
        (folder / "articles").mkdir(parents=True)
        listing = []
        for number in range(size):
            (folder / "articles" / f"a{number}.txt").write_text(page_dump(rng, pool, number))
            listing.append(f"      - source: articles/a{number}.txt\n        url: https://example.com/a{number}")
        (folder / "issue.md").write_text(
            f"---\nsubject: Benchmark {size}\npreheader: Timing\nsections:\n  - title: All\n    articles:\n"
            + "\n".join(listing) + "\n---\nHello {{first_name}}.\n")


def in_process(root: Path, size: int, repeat: int) -> tuple[float, float]:
    from newsletter.render.build import build_issue, write_build
    from newsletter.workspace import find_workspace

    workspace = find_workspace(root / f"ws-{size}")
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        build = build_issue(workspace, f"bench-{size}")
        write_build(build, workspace.build_dir / f"bench-{size}")
        assert len(build.issue.entries) == size, "generated articles must not merge as versions"
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times)


def edit_intro(issue: Path, number: int) -> None:
    """What an editor's save of a new intro does to ``issue.md``: the front matter stays."""
    text = issue.read_text()
    issue.write_text(text[: text.rindex("---\n") + 4] + f"Hello {{{{first_name}}}}, edit {number}.\n")


def after_intro_edit(root: Path, size: int, repeat: int) -> float:
    """A warm rebuild in process after the editor changed the intro: what the preview does on a save."""
    from newsletter.render.build import build_issue
    from newsletter.workspace import find_workspace

    workspace = find_workspace(root / f"ws-{size}")
    issue = root / f"ws-{size}" / "issues" / f"bench-{size}" / "issue.md"
    build_issue(workspace, f"bench-{size}")
    times = []
    for number in range(repeat):
        edit_intro(issue, number)
        start = time.perf_counter()
        build_issue(workspace, f"bench-{size}")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        make_workspaces(root, tuple(args.sizes))
        in_process(root, 1, 1)  # imports and template compilation, not counted
        print(f"{'articles':>8}  {'in process (median)':>20}  {'in process (max)':>17}  {'cold CLI (median)':>18}")
        for size in args.sizes:
            median, worst = in_process(root, size, args.repeat)
            cold = cold_cli(root, size, max(args.repeat // 2, 1))
            target = TARGET_SECONDS.get(size)
            verdict = ""
            if target:
                verdict = f"  target < {target} s: {'met' if median < target else 'MISSED'}"
                failed |= median >= target
            print(f"{size:>8}  {median * 1000:>17.0f} ms  {worst * 1000:>14.0f} ms  {cold * 1000:>15.0f} ms{verdict}")
        if 20 in args.sizes:
            edited = after_intro_edit(root, 20, max(args.repeat, 10))
            failed |= edited > INTRO_EDIT_TARGET
            print(f"20 articles, warm rebuild in process after an intro edit: median {edited * 1000:.0f} ms "
                  f"(target <= {INTRO_EDIT_TARGET * 1000:.0f} ms: {'met' if edited <= INTRO_EDIT_TARGET else 'MISSED'})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
