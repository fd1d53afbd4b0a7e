"""Small helpers for what the commands print."""

from __future__ import annotations

import json


def count(number: int, noun: str) -> str:
    """"1 article", "2 articles"."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def print_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def print_json_line(data: object) -> None:
    """One JSON object per line, for a stream of events."""
    print(json.dumps(data, ensure_ascii=False), flush=True)
