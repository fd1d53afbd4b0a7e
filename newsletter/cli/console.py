"""Small helpers for what the commands print."""

from __future__ import annotations

import json
import sys


def print_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def print_json_line(data: object) -> None:
    """One JSON object per line, for a stream of events."""
    print(json.dumps(data, ensure_ascii=False), flush=True)


def fetch_progress(quiet: bool = False):
    """A one-line "Fetching pages 3/8" counter on a terminal's stderr; None when piped or quiet."""
    if quiet or not sys.stderr.isatty():
        return None

    def show(done: int, total: int, url: str) -> None:
        end = "\n" if done == total else ""
        print(f"\r\033[KFetching pages {done}/{total}: {url[:60]}", end=end, file=sys.stderr, flush=True)

    return show
