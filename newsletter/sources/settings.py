"""The ``[fetch]`` table: how URL and feed sources are fetched."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from newsletter.workspace import SettingsTable


@dataclass(frozen=True)
class FetchSettings(SettingsTable):
    """Fetching URL and feed sources; fetched pages are cached under ``cache``."""

    TABLE = "fetch"
    # A timeout of 1e10 s overflows the socket layer; zero never connects.
    LIMITS = {"connect_timeout": (0.001, 600), "read_timeout": (0.001, 3600), "deadline": (0.001, 86_400),
              "max_bytes": (1, 1_000_000_000), "max_redirects": (0, 100)}

    connect_timeout: float = 10.0  # seconds
    read_timeout: float = 20.0  # seconds without data
    max_bytes: int = 5_000_000  # a larger page is an error
    max_redirects: int = 5  # more is an error
    user_agent: str = ""  # default: newsletter/VERSION
    deadline: float = 30.0  # seconds for a whole page, however slowly it arrives
    cache: str = ".cache/sources"  # relative to the workspace
    # Hosts, as URLs spell them ("intranet.example", "127.0.0.1"), that may resolve to loopback,
    # private or link-local addresses; every other fetch is refused such addresses (docs/security.md).
    allow_private_hosts: list = field(default_factory=list)

    def problems(self) -> Iterator[tuple[str, str]]:
        if not all(isinstance(host, str) and host.strip() for host in self.allow_private_hosts):
            yield "allow_private_hosts", ('[fetch] allow_private_hosts must be a list of host names (text), '
                                          'such as ["intranet.example"]')
