"""Compose, check and send email newsletters from article files.

The pipeline is a chain of plain functions over dataclasses:
source -> Article -> summary -> Issue -> RenderedIssue -> EmailMessage -> provider.
"""

__version__ = "0.1.0"
