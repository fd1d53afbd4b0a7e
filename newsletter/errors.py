"""Errors the user can fix. Each prints as one line: ``path:line: message``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class NewsletterError(Exception):
    """Base class: an error reported to the user without a traceback."""

    exit_code = 2


@dataclass
class InputError(NewsletterError):
    """Bad input: a file the user wrote or pointed at. Exit code 2."""

    path: Path | str | None
    message: str
    line: int | None = None

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        location = display_path(self.path)
        if self.line is not None:
            location = f"{location}:{self.line}"
        return f"{location}: {self.message}"


class SourceError(InputError):
    """A source that cannot be read. Callers re-point it at the line that lists the source."""

    def __init__(self, location: str, message: str) -> None:
        super().__init__(location, message)

    def __str__(self) -> str:
        # A URL is shown as given: as a path it would lose a slash (http:/host).
        if isinstance(self.path, str) and "://" in self.path:
            return f"{self.path}: {self.message}"
        return super().__str__()


class SendError(NewsletterError):
    """A provider refused or failed a send. Exit code 1."""

    exit_code = 1


def display_path(path: Path | str) -> str:
    """Show a path relative to the working directory when it is below it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def count(number: int, noun: str) -> str:
    """"1 article", "2 articles": how every message counts things."""
    return f"{number} {noun}{'' if number == 1 else 's'}"
