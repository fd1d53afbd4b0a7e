"""The Article: what every reader produces and every later stage consumes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from typing import Literal

BlockKind = Literal["heading", "paragraph", "item"]


@dataclass(frozen=True)
class Block:
    """One block of article body text: a heading, a paragraph or a list item."""

    kind: BlockKind
    text: str


@dataclass(frozen=True)
class Article:
    source: str
    title: str
    blocks: tuple[Block, ...]
    byline: str | None = None
    published: dt.date | None = None
    updated: dt.date | None = None
    site: str | None = None
    url: str | None = None
    image: str | None = None
    image_alt: str | None = None
    description: str | None = None
    language: str | None = None
    summary: str = ""
    also_from: tuple[str, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        return "\n\n".join(block.text for block in self.blocks)

    @property
    def prose(self) -> list[str]:
        """Paragraphs and list items: the text a summary may quote."""
        return [block.text for block in self.blocks if block.kind != "heading"]

    @property
    def revised(self) -> dt.date | None:
        """The date of this version: last updated, else published."""
        return self.updated or self.published

    def to_dict(self, include_text: bool = True) -> dict:
        # Field by field, not asdict: that deep-copies every block only for them to be dropped.
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "blocks"}
        for key in ("published", "updated"):
            data[key] = data[key].isoformat() if data[key] else None
        data["also_from"] = list(self.also_from)
        if include_text:
            data["text"] = self.text
        return data

    def to_record(self) -> dict:
        """Everything, blocks included, as JSON-ready data (``from_record`` reads it back)."""
        data = self.to_dict(include_text=False)
        data["blocks"] = [[block.kind, block.text] for block in self.blocks]
        return data

    @classmethod
    def from_record(cls, data: dict) -> Article:
        values = dict(data)
        values["blocks"] = tuple(Block(kind, text) for kind, text in values["blocks"])
        for key in ("published", "updated"):
            values[key] = dt.date.fromisoformat(values[key]) if values[key] else None
        values["also_from"] = tuple(values.get("also_from", ()))
        return cls(**values)
