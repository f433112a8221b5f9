"""The verifier: syntax, DNS, lists and tables put together, for one address or
many at once. Many addresses are grouped by domain so each domain is asked about
once, and the domains are asked concurrently (at most ``verify_concurrency``
questions in flight)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from postwarden.resolver import make_async_resolver
from postwarden.settings import Settings
from postwarden.verify.assess import assess
from postwarden.verify.disposable import DisposableDomains
from postwarden.verify.domains import DomainChecker
from postwarden.verify.result import Verification
from postwarden.verify.syntax import check_syntax


class Verifier:
    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.domains = DomainChecker(make_async_resolver(settings),
                                     concurrency=int(settings.verify_concurrency),
                                     negative_ttl=float(settings.verify_negative_ttl), clock=clock)
        self.disposable = DisposableDomains.from_settings(settings)

    async def verify(self, address: str, *, fresh: bool = False) -> Verification:
        return (await self.verify_many([address], fresh=fresh))[0]

    async def verify_many(self, addresses: Sequence[str], *, fresh: bool = False,
                          progress: Callable[[int], None] | None = None) -> list[Verification]:
        """One result per input, in order; ``progress`` is told how many are done as they finish."""
        self.disposable.refresh()
        syntaxes = [check_syntax(a) for a in addresses]
        results: list[Verification | None] = [None] * len(syntaxes)
        by_domain: dict[str, list[int]] = {}
        for n, syntax in enumerate(syntaxes):
            if syntax.valid:
                by_domain.setdefault(syntax.ascii_domain, []).append(n)
            else:
                results[n] = assess(syntax, None, disposable=False)
        if progress and len(by_domain) < len(syntaxes):
            progress(len(syntaxes) - sum(len(p) for p in by_domain.values()))

        async def one_domain(domain: str, positions: list[int]) -> None:
            report = await self.domains.check(domain, fresh=fresh)
            disposable = domain in self.disposable
            for n in positions:
                results[n] = assess(syntaxes[n], report, disposable=disposable)
            if progress:
                progress(len(positions))

        await asyncio.gather(*(one_domain(d, p) for d, p in by_domain.items()))
        return [r for r in results if r is not None]

    def verify_sync(self, addresses: Sequence[str], *, fresh: bool = False,
                    progress: Callable[[int], None] | None = None) -> list[Verification]:
        """For callers without an event loop (the command line)."""
        return asyncio.run(self.verify_many(addresses, fresh=fresh, progress=progress))


def shared_verifier(state: Any) -> Verifier:
    """The one verifier of a server (kept on its app's ``state``, beside ``settings``),
    so that the API and the web pages share its DNS cache."""
    verifier: Verifier | None = getattr(state, "verifier", None)
    if verifier is None:
        verifier = state.verifier = Verifier(state.settings)
    return verifier
