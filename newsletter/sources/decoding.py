"""Content-Encoding undone a bounded piece at a time, every layer counted.

httpx decodes each raw chunk in one go, so 3 KB of ``Content-Encoding: gzip, gzip`` inflate to
gigabytes before any size check sees them. Here every layer hands on at most ``PIECE`` bytes per
step and every byte any layer produces counts against the limit, so memory stays near the limit
whatever the nesting.
"""

from __future__ import annotations

import zlib
from typing import Any, Iterator

PIECE = 64 * 1024
KNOWN = ("gzip", "x-gzip", "deflate")
ACCEPT_ENCODING = "gzip, deflate"


class TooLarge(Exception):
    """More decoded bytes than the limit."""


class BadEncoding(Exception):
    """An encoding we do not decode, or data that does not decode."""


class _Zlib:
    """One gzip or deflate layer. Data after the end of the stream is ignored (as httpx does)."""

    def __init__(self, gzip: bool) -> None:
        self.gzip = gzip
        self.inflater: Any = None  # a zlib decompressor object, once the first bytes came

    def _start(self, data: bytes) -> Any:
        if self.gzip:
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" is meant to be zlib-wrapped, but servers send raw deflate too.
        wrapped = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self.inflater is None:
            if not data:
                return
            self.inflater = self._start(data)
        inflater = self.inflater
        pending = data
        while not inflater.eof:
            try:
                piece = inflater.decompress(pending, PIECE)
            except zlib.error as error:
                raise BadEncoding(f"the {'gzip' if self.gzip else 'deflate'} encoding does not decode ({error})") from None
            if piece:
                yield piece
            pending = inflater.unconsumed_tail
            if not pending and not piece:
                break

    def end(self) -> Iterator[bytes]:
        yield from self.feed(b"")


def _layers(header: str) -> list[_Zlib]:
    names = [name.strip().lower() for name in header.split(",") if name.strip()]
    layers = []
    for name in reversed(names):  # the last encoding applied is the first undone
        if name == "identity":
            continue
        if name not in KNOWN:
            raise BadEncoding(f"content encoding {name!r} is not supported (only {', '.join(KNOWN)})")
        layers.append(_Zlib(gzip=name != "deflate"))
    return layers


def decode_all(raw: Iterator[bytes], content_encoding: str, limit: int) -> Iterator[bytes]:
    """The body, decoded, in pieces; TooLarge as soon as the layers together produced more than ``limit`` bytes."""
    layers = _layers(content_encoding)
    total = 0

    def count(piece: bytes) -> bytes:
        nonlocal total
        total += len(piece)
        if total > limit:
            raise TooLarge()
        return piece

    def push(index: int, data: bytes) -> Iterator[bytes]:
        if index == len(layers):
            yield data
            return
        for piece in layers[index].feed(data):
            yield from push(index + 1, count(piece))

    if not layers:
        for chunk in raw:
            yield count(chunk)
        return
    for chunk in raw:
        yield from push(0, chunk)
    for index, layer in enumerate(layers):
        for piece in layer.end():
            yield from push(index + 1, count(piece))
