"""Address verification over HTTP: ``POST /v1/verify`` and the "check again" button,
``POST /v1/suppressions/{address}/recheck``. One verifier per app, so its DNS cache
serves every request."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from postwarden.ledger import Ledger
from postwarden.verify.recheck import recheck
from postwarden.verify.service import Verifier, shared_verifier

MAX_VERIFY = 10_000


class VerifyIn(BaseModel):
    addresses: list[str] = Field(max_length=MAX_VERIFY)


class RecheckIn(BaseModel):
    note: str = Field("", description="Why the operator asks, for the audit log.")


def verifier_of(request: Request) -> Verifier:
    return shared_verifier(request.app.state)


def actor_of(request: Request) -> str:
    key = request.headers.get("x-api-key") or request.headers.get("authorization", "")[7:]
    return f"api-key:{key.strip()[:10]}"


def router_for(authenticated: Callable[..., Coroutine[Any, Any, Ledger]]) -> APIRouter:
    """The routes, authenticated like every /v1 route (the app passes its dependency)."""
    router = APIRouter(prefix="/v1", tags=["verification"])
    # A default rather than an Annotated alias: the alias would be local to this function,
    # where FastAPI cannot resolve it from the postponed annotation.
    auth = Depends(authenticated)

    @router.post("/verify")
    async def verify(body: VerifyIn, request: Request, ledger: Ledger = auth) -> dict[str, Any]:
        """Syntax, DNS, disposable and role checks and typo suggestions; one result per
        address, in order. Changes nothing in the ledger."""
        results = await verifier_of(request).verify_many(body.addresses)
        return {"results": [r.as_dict() for r in results]}

    @router.post("/suppressions/{address}/recheck")
    async def recheck_address(address: str, request: Request, body: RecheckIn | None = None,
                              ledger: Ledger = auth) -> dict[str, Any]:
        """Verify a suppressed address afresh and lift its ``invalid`` or ``hard_bounce``
        suppression if it passes (409 for a complaint or unsubscribe, with what lifts those)."""
        note = body.note if body else ""
        found = await recheck(ledger, verifier_of(request), address, actor=actor_of(request), note=note)
        return found.as_dict()

    return router
