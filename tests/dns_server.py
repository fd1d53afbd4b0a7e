"""A real DNS server (dnslib) on 127.0.0.1 serving one zone, for the sender-authentication checks."""

from __future__ import annotations

import threading

from dnslib.server import DNSLogger, DNSServer
from dnslib.zoneresolver import ZoneResolver


class Zone:
    """Answers from ``zone`` (zone-file text) over UDP and TCP on 127.0.0.1; names it lacks are NXDOMAIN."""

    def __init__(self, zone: str) -> None:
        resolver = ZoneResolver(zone)
        quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", logf=lambda _: None)
        self.udp = DNSServer(resolver, address="127.0.0.1", port=0, logger=quiet)
        self.port = self.udp.server.server_address[1]
        # dnslib's start_thread polls for a stop every half second; each test would wait that long.
        self.thread = threading.Thread(target=self.udp.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.udp.stop()
        self.udp.server.server_close()
