"""What every fetch may connect to, and for how long: the network side of ``fetch.http_client``.

A page is written by strangers, and so are the addresses it names (its ``og:image``, its
redirects, the links ``check --online`` follows). None of them may make us read the machine's
own services or the cloud's metadata endpoint. So each connection resolves its host name once,
checks every address the name resolves to, and connects to the address it checked (no second
look-up a rebinding name server could answer differently). Loopback, private, link-local,
shared, reserved and metadata addresses are refused unless ``[fetch] allow_private_hosts``
names the host as the address spells it.

The deadline: the read timeout is per read, so a server trickling one byte a second never
trips it. Each request runs under ``time_limit(seconds)``; every connect, handshake, read and
write on its connection gets at most the time left, then times out.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterable, Iterator

import httpcore

# Named for the error message; none of them is global, so the general rule refuses them too.
METADATA_ADDRESSES = frozenset({
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean
    "169.254.170.2",  # AWS ECS task credentials
    "fd00:ec2::254",  # AWS over IPv6
    "100.100.100.200",  # Alibaba Cloud
    "192.0.0.192",  # Oracle Cloud
})


class RefusedAddress(Exception):
    """A host that resolves to an address fetches may not reach. Passes through httpx unchanged."""

    def __init__(self, host: str, address: str) -> None:
        self.host, self.address = host, address
        what = "a cloud metadata" if _plain(address) in METADATA_ADDRESSES else "a private, loopback or link-local"
        shown = host if host == address else f"{host} ({address})"
        super().__init__(f"{shown} is {what} address; not fetched (to allow a trusted host, name it in "
                         "[fetch] allow_private_hosts in newsletter.toml)")


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order (tests fake ``socket.getaddrinfo``)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def is_public_address(address: str) -> bool:
    """A global unicast address (an IPv4 address mapped into IPv6 is judged as IPv4)."""
    try:
        ip = ipaddress.ip_address(_plain(address))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            ip = embedded
    return ip.is_global and not ip.is_multicast and str(ip) not in METADATA_ADDRESSES


def normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _plain(address: str) -> str:
    return address.split("%", 1)[0]


# The end of the current request's time, per thread (check --online asks from a pool of threads).
_limits = threading.local()


@contextmanager
def time_limit(seconds: float) -> Iterator[float]:
    """Every network wait of this thread's requests in the block ends by ``seconds`` from now.
    Yields the monotonic end, for callers that tell a deadline from an ordinary timeout."""
    outer = getattr(_limits, "end", None)
    end = time.monotonic() + seconds
    _limits.end = end if outer is None else min(outer, end)
    try:
        yield _limits.end
    finally:
        _limits.end = outer


def _clamped(timeout: float | None) -> float | None:
    end = getattr(_limits, "end", None)
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise socket.timeout("deadline passed")
    return left if timeout is None else min(timeout, left)


class _LimitedStream(httpcore.NetworkStream):
    """A connection whose every wait is cut at the request's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            timeout = _clamped(timeout)
        except socket.timeout:
            raise httpcore.ReadTimeout("deadline passed") from None
        return self._stream.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        try:
            timeout = _clamped(timeout)
        except socket.timeout:
            raise httpcore.WriteTimeout("deadline passed") from None
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None,  # noqa: ANN001
                  timeout: float | None = None) -> httpcore.NetworkStream:
        try:
            timeout = _clamped(timeout)
        except socket.timeout:
            raise httpcore.ConnectTimeout("deadline passed") from None
        return _LimitedStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str):  # noqa: ANN201
        return self._stream.get_extra_info(info)


class PinnedBackend(httpcore.SyncBackend):
    """Connects only to addresses it checked itself, from one look-up per connection."""

    def __init__(self, allow_hosts: Iterable[str] = ()) -> None:
        self.allow_hosts = frozenset(normal_host(host) for host in allow_hosts)

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to connect to, or RefusedAddress naming the first one not allowed."""
        try:
            found = resolve(host, port)
        except (OSError, UnicodeError) as error:  # gaierror, or a name too long to encode
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from None
        if not found:
            raise httpcore.ConnectError(f"cannot resolve {host}")
        if normal_host(host) in self.allow_hosts:
            return found
        for address in found:
            if not is_public_address(address):
                raise RefusedAddress(host, address)
        return found

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable | None = None) -> httpcore.NetworkStream:
        addresses = self.addresses(host, port)
        error: Exception = httpcore.ConnectError(f"cannot connect to {host}")
        for address in addresses:
            try:
                timeout_now = _clamped(timeout)
            except socket.timeout:
                raise httpcore.ConnectTimeout("deadline passed") from None
            try:
                stream = super().connect_tcp(address, port, timeout_now, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failure:
                error = failure
                continue
            return _LimitedStream(stream)
        raise error

    def connect_unix_socket(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        raise httpcore.ConnectError("fetches do not use unix sockets")
