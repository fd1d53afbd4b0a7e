"""Secrets come from the environment or ``.env`` only, and are blanked out of anything shown.

A provider asks for its secret by name through ``secret``; every secret asked for is remembered,
so ``redact`` blanks it from messages whatever a server or library put in them.
"""

from __future__ import annotations

import os

from newsletter.errors import InputError

_READ: set[str] = set()


def secret(variable: str, needed_for: str) -> str:
    value = os.environ.get(variable, "")
    if not value:
        raise InputError(None, f"{variable} is not set: {needed_for} needs it in the environment or in .env "
                         "(see .env.example)")
    _READ.add(variable)
    return value


def redact(text: str) -> str:
    """``text`` with the value of every secret read so far blanked out."""
    for variable in _READ:
        value = os.environ.get(variable, "")
        if len(value) >= 4:
            text = text.replace(value, "[redacted]")
    return text
