"""The command line: a thin layer over the stages below it."""

from newsletter.cli.commands import main

__all__ = ["main"]
