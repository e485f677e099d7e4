"""An httpx transport that connects only to addresses the callback policy allows (SSRF, DNS rebinding).

The check sits where the socket is opened: the host name is resolved here, every address it resolves to is
checked against :class:`~handoff.callbacks.CallbackPolicy`, and the connection goes to an address that was just
checked — so a name that answers with a public address for a check and a private one for the connection (DNS
rebinding) gets nowhere. TLS still verifies the certificate for the host name (SNI and the ``Host`` header come
from the URL, not from the address). Proxies from the environment are ignored: a proxy would connect for us and
bypass the check.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import typing
from collections.abc import Awaitable, Callable, Sequence

import httpcore
import httpx

from handoff.callbacks import CallbackPolicy, CallbackRefused, IPAddress, literal_ip

Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The addresses ``host`` resolves to (the system resolver, as any client would use), in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    out: list[IPAddress] = []
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in out:
            out.append(ip)
    return out


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolve, check, then connect to the checked address."""

    def __init__(self, policy: CallbackPolicy, resolver: Resolver = system_resolver) -> None:
        self.policy = policy
        self.resolver = resolver
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109 (httpcore's)
                          local_address: str | None = None,
                          socket_options: typing.Iterable[typing.Any] | None = None) -> httpcore.AsyncNetworkStream:
        ip = literal_ip(host)
        if ip is not None:
            addresses: Sequence[IPAddress] = [ip]
        else:
            try:
                async with asyncio.timeout(timeout):
                    addresses = await self.resolver(host, port)
            except TimeoutError:
                raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
            except OSError as exc:  # socket.gaierror: a DNS failure may pass, so it is retried
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        self.policy.check_resolved(host, addresses)  # CallbackRefused propagates through httpx untouched
        last: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(str(address), port, timeout=timeout, local_address=local_address,
                                                    socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, path: str, timeout: float | None = None,  # noqa: ASYNC109
                                  socket_options: typing.Iterable[typing.Any] | None = None
                                  ) -> httpcore.AsyncNetworkStream:
        raise CallbackRefused("callbacks never use Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` whose connections go through :class:`GuardedBackend`."""

    def __init__(self, policy: CallbackPolicy, resolver: Resolver = system_resolver,
                 limits: httpx.Limits | None = None) -> None:
        super().__init__(trust_env=False)
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        # The one seam httpx leaves for choosing how sockets are opened is httpcore's network backend.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False), max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy, resolver))


__all__ = ["CallbackRefused", "GuardedBackend", "GuardedTransport", "Resolver", "system_resolver"]
