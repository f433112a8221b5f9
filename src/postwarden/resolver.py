"""DNS resolvers configured from settings, shared by verification, domain health and
message authentication. Tests and closed networks point ``dns_servers`` at their own
name server; everyone else gets the system's."""

from __future__ import annotations

import dns.asyncresolver
import dns.resolver

from postwarden.errors import InvalidInput
from postwarden.settings import Settings


def _server(text: str) -> tuple[str, int]:
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, "53"
    try:
        return host, int(port)
    except ValueError:
        raise InvalidInput(f"dns_servers: {text!r} is not 'host', 'host:port' or '[v6]:port'") from None


def _configure(resolver: dns.resolver.BaseResolver, settings: Settings) -> None:
    servers = [_server(s) for s in settings.dns_servers]
    if servers:
        resolver.nameservers = [host for host, _ in servers]
        # dnspython has one port for all servers; mixed ports are not worth supporting.
        resolver.port = servers[0][1]
    resolver.lifetime = float(settings.dns_timeout)
    resolver.timeout = float(settings.dns_timeout)
    # Answers are cached by the callers per TTL; dnspython's own cache would hide our counts.
    resolver.cache = None


def make_resolver(settings: Settings) -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=not settings.dns_servers)
    _configure(resolver, settings)
    return resolver


def make_async_resolver(settings: Settings) -> dns.asyncresolver.Resolver:
    resolver = dns.asyncresolver.Resolver(configure=not settings.dns_servers)
    _configure(resolver, settings)
    return resolver
