"""Where Baton may send a customer webhook: ``callback_url`` checks against SSRF (issue #10.8).

Two layers, one policy:

* :func:`parse_callback_url` — the shape, at intake (the contract's field validator): ``http``/``https`` only, a
  real host name or IP literal, no user info, no control characters or whitespace anywhere.
* :class:`CallbackPolicy` — the target. Loopback, private, link-local, shared (CGNAT), multicast, reserved and
  unspecified addresses are refused unless ``BATON_CALLBACK_ALLOW`` lists the host name or a network holding the
  address. Intake refuses literal IPs (and ``localhost``) at once; the webhook destination checks every address a
  host name resolves to, at each connection, and connects to the address it checked (no DNS rebinding window).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_LOCAL_NAMES = ("localhost", "localhost.localdomain")


class CallbackRefused(ValueError):
    """A callback target Baton will not connect to; the message says why and how to allow it."""


def parse_callback_url(url: str) -> SplitResult:
    """Check the shape of a callback URL and return its parts.

    Raises:
        CallbackRefused: a control or whitespace character, a scheme other than http(s), user info, no host,
            a malformed host name or port.
    """
    for i, ch in enumerate(url):
        if unicodedata.category(ch)[0] in ("C", "Z"):
            raise CallbackRefused(f"character {ch!r} at position {i} is not allowed in a URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise CallbackRefused(f"not a valid URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise CallbackRefused("only http:// and https:// URLs are accepted")
    if "@" in parts.netloc:
        raise CallbackRefused("user info (user:password@) is not accepted in a callback URL")
    host = parts.hostname or ""
    if not host:
        raise CallbackRefused("the URL has no host")
    if port == 0:
        raise CallbackRefused("port 0 is not a port")
    ip = literal_ip(host)
    if isinstance(ip, ipaddress.IPv4Address) and str(ip) != host:  # 2130706433, 0x7f.1, 127.1: legacy forms
        raise CallbackRefused(f"write the address {host!r} in its usual form ({ip})")
    if ip is None and not _is_dns_name(host):
        raise CallbackRefused(f"{host!r} is not a valid host name (use letters, digits, '-' and '.'; IDNs in "
                              "punycode)")
    return parts


def valid_callback_url(url: str) -> str:
    """``url`` when its shape is acceptable (the intake contract's validator); raises :class:`CallbackRefused`."""
    parse_callback_url(url)
    return url


def _is_dns_name(host: str) -> bool:
    name = host[:-1] if host.endswith(".") else host
    if not name or len(name) > 253 or not name.isascii():
        return False
    labels = name.lower().split(".")
    return all(_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def literal_ip(host: str) -> IPAddress | None:
    """The address when ``host`` is an IP literal, including the legacy forms resolvers accept (``2130706433``,
    ``0x7f.1``, ``127.1``); None for a host name."""
    h = host.strip("[]")
    try:
        return ipaddress.ip_address(h)
    except ValueError:
        pass
    if h and all(c in "0123456789abcdefxABCDEFX." for c in h) and h[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(h))
        except OSError:
            return None
    return None


def _category(ip: IPAddress) -> str | None:
    """Why an address is not a public unicast address, or None when it is."""
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    if mapped is not None:
        return _category(mapped)
    checks = (("unspecified", ip.is_unspecified), ("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
              ("multicast", ip.is_multicast), ("reserved", ip.is_reserved), ("private", ip.is_private))
    for name, hit in checks:
        if hit:
            return name
    return None if ip.is_global else "non-public"


@dataclass(frozen=True)
class CallbackPolicy:
    """Which non-public targets are allowed anyway (``BATON_CALLBACK_ALLOW``: host names and/or CIDRs)."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, allow: str | Iterable[str] | None) -> CallbackPolicy:
        """From ``"hooks.internal, 10.0.0.0/8, 127.0.0.1"``.

        Raises:
            ValueError: an entry is neither a host name nor an address/network.
        """
        items = allow.split(",") if isinstance(allow, str) else list(allow or ())
        hosts: set[str] = set()
        nets: list[IPNetwork] = []
        for raw in (x.strip() for x in items):
            if not raw:
                continue
            try:
                nets.append(ipaddress.ip_network(raw.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            if not _is_dns_name(raw):
                raise ValueError(f"BATON_CALLBACK_ALLOW: {raw!r} is neither a host name nor an address/CIDR")
            hosts.add(raw.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(nets))

    def host_allowed(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def refusal(self, host: str, ip: IPAddress) -> str | None:
        """Why connecting to ``ip`` (what ``host`` gave) is refused, or None when allowed."""
        why = _category(ip)
        if why is None or self.host_allowed(host) or any(ip in n for n in self.networks if n.version == ip.version):
            return None
        shown = str(ip) if literal_ip(host) is not None else f"{host} resolves to {ip}, which"
        article = "an" if why[0] in "aeiou" else "a"
        return (f"{shown} is {article} {why} address; callbacks go to public addresses only "
                "(allow it with BATON_CALLBACK_ALLOW)")

    def check_intake(self, url: str) -> None:
        """At intake: refuse a literal non-public IP or a local name (host names are checked at delivery).

        Raises:
            CallbackRefused: with the reason.
        """
        host = (parse_callback_url(url).hostname or "").lower()
        if self.host_allowed(host):
            return
        if host.rstrip(".") in _LOCAL_NAMES or host.rstrip(".").endswith(".localhost"):
            raise CallbackRefused(f"{host} is a loopback name; callbacks go to public addresses only "
                                  "(allow it with BATON_CALLBACK_ALLOW)")
        ip = literal_ip(host)
        if ip is not None:
            why = self.refusal(host, ip)
            if why:
                raise CallbackRefused(why)

    def check_resolved(self, host: str, addresses: Sequence[IPAddress]) -> None:
        """At connection time: every address the host resolved to must be allowed.

        Raises:
            CallbackRefused: naming the first refused address.
        """
        if not addresses:
            raise CallbackRefused(f"{host} resolved to no address")
        for ip in addresses:
            why = self.refusal(host, ip)
            if why:
                raise CallbackRefused(why)
