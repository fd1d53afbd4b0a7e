"""Time a live-reload rebuild of the example issue in `newsletter preview` (target < 300 ms).

A rebuild is what the watcher runs after a save: build, check, sample message, dark view.

    python benchmarks/preview.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
ISSUE = "2026-11-garden-notes"
TARGET_MS = 300


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    from newsletter.preview.server import PreviewState
    from newsletter.workspace import find_workspace

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        shutil.copy(PROJECT / "newsletter.toml", root)
        shutil.copytree(PROJECT / "issues" / ISSUE, root / "issues" / ISSUE)
        state = PreviewState(find_workspace(root), ISSUE)
        first = state.rebuild()
        times = [state.rebuild().built_in_ms for _ in range(args.repeat)]
    assert not first.error, first.error
    median = statistics.median(times)
    print(f"first build (imports, template compile): {first.built_in_ms:.0f} ms")
    print(f"rebuild after a save: median {median:.0f} ms, max {max(times):.0f} ms over {args.repeat} "
          f"(target < {TARGET_MS} ms: {'met' if median < TARGET_MS else 'MISSED'})")
    return 0 if median < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
