"""The command line: a thin layer over the stages below it."""

from newsletter.cli.commands import main, run

__all__ = ["main", "run"]
