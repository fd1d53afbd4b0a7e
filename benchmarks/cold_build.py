"""A whole `newsletter build` process, side by side with MJML's Node CLI on the same email.

Three runs of the CLI on a 20-article issue, each a fresh process as a person or CI starts it:
- after an editor's change to the intro, with the article cache warm (so no cached output can
  stand in for rendering and inlining), with premailer and with css-inline;
- the first build, with an empty article cache.
The peer is `node node_modules/mjml/bin/mjml` compiling the same issue's MJML to HTML (no
inlining). Figures are CPU seconds (user + system of the process), medians of --repeat runs,
and the ratio to Node.

    npm install --prefix benchmarks/.node mjml@5     # once (make bench does it)
    python benchmarks/cold_build.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from build import edit_intro, make_workspaces

HERE = Path(__file__).resolve().parent
NODE_MJML = HERE / ".node" / "node_modules" / "mjml" / "bin" / "mjml"
SIZE = 20
TARGETS = {"intro edit, premailer": 0.6, "intro edit, css-inline": 0.3, "first build, premailer": 1.0}


def run_measured(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if status:
        sys.exit(f"{' '.join(command)} failed: {process.stderr.read().decode()}")
    return wall, usage.ru_utime + usage.ru_stime


def set_inliner(workspace: Path, inliner: str) -> None:
    settings = workspace / "newsletter.toml"
    lines = [line for line in settings.read_text().splitlines() if not line.startswith("inliner =")]
    index = lines.index("[newsletter]") + 1
    settings.write_text("\n".join(lines[:index] + [f'inliner = "{inliner}"'] + lines[index:]) + "\n")


# Each run: (workspace's inliner, whether the whole .cache goes first). One workspace per run,
# so the runs can take turns without one undoing what another's cache holds.
RUNS = {"intro edit, premailer": ("premailer", False), "intro edit, css-inline": ("css-inline", False),
        "first build, premailer": ("premailer", True)}


def newsletter_run(workspace: Path, number: int, empty_cache: bool) -> float:
    edit_intro(workspace / "issues" / f"bench-{SIZE}" / "issue.md", number)
    if empty_cache:
        shutil.rmtree(workspace / ".cache", ignore_errors=True)
    return run_measured([sys.executable, "-m", "newsletter", "build", f"bench-{SIZE}"], workspace)[1]


def node_run(mjml_file: Path) -> float:
    command = ["node", str(NODE_MJML), str(mjml_file), "-o", str(mjml_file.with_suffix(".html"))]
    return run_measured(command, mjml_file.parent)[1]


def measure(root: Path, mjml_file: Path, repeat: int) -> tuple[list[float], dict[str, list[float]]]:
    """CPU seconds of each run, taking turns: a machine whose speed drifts (this one's CPU moves by
    a third) slows the peer and ours alike, so the ratios hold even when the seconds do not."""
    workspaces = {}
    for name, (inliner, _) in RUNS.items():
        workspaces[name] = root / name.replace(",", "").replace(" ", "-")
        shutil.copytree(root / f"ws-{SIZE}", workspaces[name])
        set_inliner(workspaces[name], inliner)
        newsletter_run(workspaces[name], -1, False)  # the article cache warm, and .pyc files written
    node_run(mjml_file)
    node, ours = [], {name: [] for name in RUNS}
    for number in range(repeat):
        node.append(node_run(mjml_file))
        for name, (_, empty_cache) in RUNS.items():
            ours[name].append(newsletter_run(workspaces[name], number, empty_cache))
    return node, ours


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    if not NODE_MJML.exists():
        sys.exit(f"MJML's Node CLI is missing: npm install --prefix {HERE / '.node'} mjml@5")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        make_workspaces(root, (SIZE,))
        sys.path.insert(0, str(HERE.parent))
        from newsletter.render.build import build_issue
        from newsletter.workspace import find_workspace

        mjml_file = root / "issue.mjml"
        mjml_file.write_text(build_issue(find_workspace(root / f"ws-{SIZE}"), f"bench-{SIZE}").rendered.mjml)
        node_cpu, rows = measure(root, mjml_file, args.repeat)
    node = statistics.median(node_cpu)
    print(f"{SIZE} articles, CPU seconds of one whole process (median of {args.repeat}, runs taking turns)")
    print(f"{'node mjml (compile only)':>45}  {node:6.3f} s  (from {min(node_cpu):.3f} to {max(node_cpu):.3f})")
    failed = False
    for name, cpu in rows.items():
        ratio = statistics.median(cpu) / node
        met = ratio <= TARGETS[name]
        failed |= not met
        print(f"{'newsletter build, ' + name:>45}  {statistics.median(cpu):6.3f} s  {ratio:5.2f}x node  "
              f"(target <= {TARGETS[name]}x: {'met' if met else 'MISSED'})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
