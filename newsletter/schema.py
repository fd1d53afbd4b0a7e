"""The one validator for what users write in settings and issue files: known keys, right types.

``newsletter.toml`` and ``issue.md`` front matter fail the same way: one line naming the file and
the line, the key, what it must be, and a "did you mean" when a known key is close.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import MISSING, Field, fields
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from newsletter.errors import InputError

Expected = type | tuple[type, ...]


def check_mapping(mapping: Any, allowed: Mapping[str, Expected], where: str, path: Path,
                  line_of: Callable[[str | None], int | None]) -> None:
    """Every key of ``mapping`` is in ``allowed`` and holds a value of its type."""
    if not isinstance(mapping, dict):
        raise InputError(path, f"{where} must be a mapping, not {kind(mapping)}", line_of(None))
    for key, value in mapping.items():
        if key not in allowed:
            raise InputError(path, f"unknown key {key!r} in {where}{suggestion(str(key), allowed)}", line_of(key))
        if not fits(value, allowed[key]):
            raise InputError(path, f"{key} must be {type_name(allowed[key])}, not {kind(value)}", line_of(key))


def check_choice(value: str, choices: Iterable[str], key: str, path: Path, line: int | None) -> None:
    choices = list(choices)
    if value not in choices:
        raise InputError(path, f"{key} must be one of {', '.join(choices)}, not {value!r}"
                         + suggestion(value, choices, listing=False), line)


def dataclass_types(cls: type) -> dict[str, Expected]:
    """What each field of a settings dataclass accepts, judged by its default value."""
    allowed: dict[str, Expected] = {}
    for spec in fields(cls):
        default = _default(spec)
        allowed[spec.name] = (float, int) if isinstance(default, float) else type(default)
    return allowed


def fits(value: Any, expected: Expected) -> bool:
    """``True`` is a bool to users, not the whole number Python takes it for."""
    types = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool) and bool not in types:
        return False
    return isinstance(value, types)


def suggestion(key: str, allowed: Iterable[str], listing: bool = True) -> str:
    names = list(allowed)
    close = difflib.get_close_matches(key, names, n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (allowed: {', '.join(names)})" if listing else ""


def kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty"
    return f"{type(value).__name__} {value!r}"


TYPE_NAMES = {str: "text", int: "a whole number", float: "a number", dict: "a mapping", list: "a list",
              dt.date: "a date", bool: "true or false"}


def type_name(expected: Expected) -> str:
    return TYPE_NAMES[expected[0] if isinstance(expected, tuple) else expected]


def _default(spec: Field) -> Any:
    return spec.default_factory() if spec.default is MISSING else spec.default  # type: ignore[misc]


# What may never reach a mail header: line breaks (header injection) and other control characters.
_HEADER_BREAKERS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
_NAME_ADDR = re.compile(r"\s*(?P<name>.*?)\s*<(?P<address>[^<>]*)>\s*\Z", re.DOTALL)


def check_header_text(value: str, what: str, path: Path | None, line: int | None) -> str:
    """``value`` unchanged, or an error: it becomes (part of) a mail header, which is one line."""
    bad = _HEADER_BREAKERS.search(value)
    if bad:
        raise InputError(path, f"{what} holds a line break or control character ({bad.group()!r} at "
                         f"position {bad.start() + 1}): it goes into a mail header, which must be one line", line)
    return value


def parse_mailbox(value: str, what: str, path: Path | None = None, line: int | None = None) -> tuple[str, str]:
    """``Name <address>`` or a bare address, as (display name, normalised address). Everything
    before the ``<`` is the name, commas included (``News, Team <news@example.org>``); it is
    quoted when the header is written."""
    from email.errors import HeaderParseError
    from email.headerregistry import Address

    from email_validator import EmailNotValidError, validate_email

    check_header_text(value, what, path, line)
    match = _NAME_ADDR.match(value)
    name, address = (match["name"], match["address"].strip()) if match else ("", value.strip())
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if "<" in name or ">" in name or "<" in address or not address:
        raise InputError(path, f"{what} {value!r} is not one address: write it as Name <address@example.org>", line)
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError as error:
        raise InputError(path, f"{what} {value!r} has an invalid address: {error}", line) from None
    if checked.ascii_email is None:
        raise InputError(path, f"{what} {value!r} has letters beyond ASCII before the @, which needs SMTPUTF8 "
                         "(SendGrid and most mail servers refuse it): use an ASCII address", line)
    address = checked.ascii_email  # an international domain, punycoded: every provider carries it
    try:
        Address(display_name=name, addr_spec=address)
    except (ValueError, IndexError, HeaderParseError) as error:
        raise InputError(path, f"{what} {value!r} cannot be written as a mail header: {error}", line) from None
    return name, address
