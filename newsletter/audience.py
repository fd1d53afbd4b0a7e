"""Audiences: who gets an issue, read from a CSV file (an ``email`` column plus merge fields)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from .errors import InputError


@dataclass(frozen=True)
class Recipient:
    email: str
    fields: dict[str, str] = field(default_factory=dict)
    line: int = 0

    @property
    def name(self) -> str:
        parts = [self.fields.get("first_name", ""), self.fields.get("last_name", "")]
        return " ".join(p for p in parts if p).strip() or self.fields.get("name", "")

    @property
    def merge_fields(self) -> dict[str, str]:
        return {**self.fields, "email": self.email}


def read_audience(path: Path) -> list[Recipient]:
    """Valid, unique recipients in file order. A bad row is an error naming its line."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "audience file not found") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(path, f"not UTF-8 text (byte {error.start}); save the CSV as UTF-8", 1) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header or "email" not in [h.strip().lower() for h in header]:
        raise InputError(path, "the first row must be a header with an 'email' column", 1)
    columns = [h.strip().lower() for h in header]
    recipients: list[Recipient] = []
    seen: set[str] = set()
    while True:
        line = reader.line_num + 1  # a quoted field may span lines: report where the row starts
        try:
            row = next(reader, None)
        except csv.Error as error:
            raise InputError(path, f"malformed CSV: {error}", line) from None
        if row is None:
            return recipients
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            raise InputError(path, f"expected {len(columns)} columns ({', '.join(columns)}), found {len(row)}", line)
        values = {column: cell.strip() for column, cell in zip(columns, row)}
        email = valid_email(values.pop("email"), path, line)
        if email.lower() not in seen:
            seen.add(email.lower())
            recipients.append(Recipient(email, values, line))


def valid_email(value: str, path: Path | None = None, line: int | None = None) -> str:
    """The normalised address, or an InputError naming where the bad one came from."""
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise InputError(path, f"invalid email address {value!r}: {error}", line) from None
