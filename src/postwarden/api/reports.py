"""Report endpoints: ``/v1/stats`` (and its chart), ``/v1/remediation``, ``/v1/dmarc``,
``/v1/health/{domain}`` and ``/v1/dossier``. The router is built around the app's
authentication dependency, handed in, so this module need not import the app.

No ``from __future__ import annotations`` here: FastAPI reads the endpoints'
annotations at definition time, and ``Auth`` is local to :func:`router_for`."""

import io
from collections.abc import Callable, Coroutine
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from postwarden.errors import InvalidInput
from postwarden.ledger import Ledger
from postwarden.ledger.export import naive_utc
from postwarden.reports import charts
from postwarden.reports import dossier as dossier_mod
from postwarden.reports.alerts import alert_json
from postwarden.reports.health import check_domain
from postwarden.reports.service import Reports, check_provider, parse_since, step_json
from postwarden.reports.stats import Lines, combined, series_json
from postwarden.resolver import make_resolver

MAX_DMARC_UPLOAD = 32 * 1024 * 1024
MEDIA = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8", "pdf": "application/pdf"}


class StepIn(BaseModel):
    text: str = Field(description="What was changed, e.g. 'Removed the purchased-list segment'.")
    provider: str | None = Field(None, description="The provider it was for; none: all.")
    at: datetime | None = Field(None, description="When it took effect; default now.")


def router_for(authenticated: Callable[..., Coroutine[Any, Any, Ledger]]) -> APIRouter:
    """The report routes, authenticated like every /v1 route (the app passes its dependency)."""
    api = APIRouter(tags=["reports"])
    Auth = Annotated[Ledger, Depends(authenticated)]

    @api.get("/v1/stats")
    def stats(ledger: Auth, since: str = "30d",
              provider: Annotated[list[str] | None, Query(description="Repeat for several.")] = None,
              days: bool = True) -> dict[str, Any]:
        """Per-provider daily counts and rates, with the warning and critical lines."""
        reports = Reports.of(ledger)
        start = parse_since(since, reports.clock())
        found = reports.stats(start.date(), providers=provider)
        return {"since": start.date().isoformat(), "until": reports.clock().date().isoformat(),
                **series_json(found, Lines.of(reports.settings), with_days=days)}

    @api.get("/v1/stats/chart.svg")
    def chart(ledger: Auth, provider: str = "all", since: str = "90d") -> Response:
        """The provider's chart (volume, complaint and bounce rates, remediation steps) as SVG."""
        reports = Reports.of(ledger)
        start = parse_since(since, reports.clock())
        if provider != "all":
            check_provider(provider)
        found = reports.stats(start.date(), providers=None if provider == "all" else [provider])
        shown = combined(found, provider) if provider == "all" or not found else found[0]
        steps = reports.steps(start, None if provider == "all" else provider)
        return Response(charts.provider_svg(shown, Lines.of(reports.settings), steps),
                        media_type="image/svg+xml")

    @api.get("/v1/remediation")
    def remediation(ledger: Auth, since: str | None = None, provider: str | None = None) -> dict[str, Any]:
        reports = Reports.of(ledger)
        start = parse_since(since, reports.clock()) if since else None
        return {"steps": [step_json(r) for r in reports.steps(start, provider)]}

    @api.post("/v1/remediation", status_code=201)
    def add_remediation(body: StepIn, ledger: Auth, request: Request) -> dict[str, Any]:
        key = request.headers.get("x-api-key") or request.headers.get("authorization", "")[7:]
        step = Reports.of(ledger).add_step(body.text, actor=f"api-key:{key.strip()[:10]}",
                                           at=naive_utc(body.at), provider=body.provider)
        return {"id": step}

    @api.post("/v1/dmarc", status_code=201)
    async def upload_dmarc(ledger: Auth, request: Request) -> dict[str, Any]:
        """One DMARC aggregate report as the body: XML, gzip, zip or an email carrying one."""
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_DMARC_UPLOAD:
                raise InvalidInput(f"a DMARC report upload is at most {MAX_DMARC_UPLOAD} bytes")
        result = await run_in_threadpool(Reports.of(ledger).import_dmarc, body, "api")
        return {"stored": result.stored, "duplicates": result.duplicates, "records": result.records}

    @api.get("/v1/dmarc")
    def dmarc(ledger: Auth, since: str = "30d",
              domain: Annotated[list[str] | None, Query()] = None, limit: int = 500) -> dict[str, Any]:
        """Aggregate results per header-from domain and source IP."""
        reports = Reports.of(ledger)
        rows = reports.dmarc_summary(parse_since(since, reports.clock()), domain, min(limit, 5000))
        return {"sources": [asdict(r) for r in rows]}

    @api.get("/v1/health/{domain}")
    def health(ledger: Auth, domain: str, ip: Annotated[list[str] | None, Query()] = None) -> dict[str, Any]:
        """SPF, DKIM, DMARC, MX and blocklist status of a sending domain."""
        s = ledger.settings
        report = check_domain(make_resolver(s), domain, selectors=s.dkim_selectors, ips=ip or [],
                              ip_zones=s.dnsbl_ip_zones, domain_zones=s.dnsbl_domain_zones)
        return report.as_json()

    @api.get("/v1/dossier")
    def dossier(ledger: Auth, provider: str, since: str = "30d",
                format: Literal["md", "html", "pdf"] = "html") -> Response:
        """The provider dossier. Markdown comes without its chart (fetch /v1/stats/chart.svg)."""
        reports = Reports.of(ledger)
        if provider != "all":
            check_provider(provider)
        facts = dossier_mod.gather(reports, provider, parse_since(since, reports.clock()))
        if format == "pdf":
            buffer = io.BytesIO()
            dossier_mod.render_pdf(facts, buffer)
            return Response(buffer.getvalue(), media_type=MEDIA["pdf"])
        if format == "md":
            return Response(dossier_mod.render_markdown(facts, f"/v1/stats/chart.svg?provider={provider}"),
                            media_type=MEDIA["md"])
        return Response(dossier_mod.render_html(facts), media_type=MEDIA["html"])

    return api


def report_alerts(ledger: Ledger, since: datetime | None, limit: int) -> list[dict[str, Any]]:
    """Report alerts as ``GET /v1/alerts`` lists them beside the per-event ones."""
    return [alert_json(a) for a in Reports.of(ledger).alerts(since, limit)]
