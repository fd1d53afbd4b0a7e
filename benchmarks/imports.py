"""What a cold `newsletter build` of the example issue imports, and what that costs (python -X importtime).

    python benchmarks/imports.py [--top 12]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
ISSUE = "2026-11-garden-notes"
LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_times(workspace: Path, inliner: str) -> tuple[int, int, dict[str, int]]:
    """Modules imported, microseconds spent importing, and each top-level package's cumulative time."""
    settings = workspace / "newsletter.toml"
    text = re.sub(r"(?m)^inliner = .*\n", "", settings.read_text())
    settings.write_text(text.replace("[newsletter]\n", f'[newsletter]\ninliner = "{inliner}"\n', 1))
    command = [sys.executable, "-X", "importtime", "-m", "newsletter", "build", ISSUE]
    subprocess.run(command, cwd=workspace, capture_output=True, check=True)  # warm caches, .pyc files
    lines = subprocess.run(command, cwd=workspace, capture_output=True, text=True, check=True).stderr.splitlines()
    found = [(int(m[1]), int(m[2]), m[4]) for m in map(LINE.match, lines) if m]
    packages = {name: cumulative for _, cumulative, name in found if "." not in name and not name.startswith("_")}
    return len(found), sum(own for own, _, _ in found), packages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        workspace = Path(folder)
        shutil.copy(PROJECT / "newsletter.toml", workspace)
        shutil.copytree(PROJECT / "issues" / ISSUE, workspace / "issues" / ISSUE)
        for inliner in ("premailer", "css-inline"):
            modules, total, packages = import_times(workspace, inliner)
            print(f"inliner {inliner}: {modules} modules, {total / 1000:.0f} ms importing; largest top-level packages:")
            ranked = sorted(((time, name) for name, time in packages.items() if name != "newsletter"), reverse=True)
            print("  " + ", ".join(f"{name} {time / 1000:.0f} ms" for time, name in ranked[: args.top]))


if __name__ == "__main__":
    main()
