"""A real postwarden HTTP server on loopback per backend, and a browser-like client
for its web pages: it keeps cookies, does not follow redirects, and reads each
form's CSRF token from the page as a browser would submit it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import Engine

from postwarden.web import accounts
from tests.servers import serve_in_thread

PASSWORD = "correct horse battery"
_servers: dict[str, str] = {}
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def base_url(engine: Engine, db_url: str) -> str:
    if db_url not in _servers:
        _servers[db_url] = serve_in_thread(engine).url
    return _servers[db_url]


@dataclass
class Browser:
    client: httpx.Client
    tenant: str

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.client.get(path, params=params)

    def csrf(self, path: str) -> str:
        page = self.client.get(path)
        assert page.status_code == 200, page.text
        found = _CSRF.search(page.text)
        assert found, f"no form with a CSRF token on {path}"
        return found.group(1)

    def post(self, path: str, data: dict[str, str], *, token_from: str | None = None) -> httpx.Response:
        """Post a form the way the page at ``token_from`` would (with its CSRF token)."""
        if token_from is not None:
            data = {"csrf": self.csrf(token_from), **data}
        return self.client.post(path, data=data)

    def sign_in(self, name: str, password: str = PASSWORD) -> httpx.Response:
        token = self.csrf("/sign-in")
        return self.client.post("/sign-in", data={"csrf": token, "tenant": self.tenant, "name": name,
                                                  "password": password, "next": "/suppressions"})


@pytest.fixture
def browser_for(base_url: str) -> Iterator[Callable[[str], Browser]]:
    clients: list[httpx.Client] = []

    def make(tenant: str) -> Browser:
        client = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)
        clients.append(client)
        return Browser(client, tenant)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def operator(engine: Engine, tenant: str) -> str:
    accounts.create_operator(engine, tenant, "alice", PASSWORD)
    return "alice"


@pytest.fixture
def browser(browser_for: Callable[[str], Browser], tenant: str, operator: str) -> Browser:
    """A browser signed in as the tenant's operator."""
    made = browser_for(tenant)
    assert made.sign_in(operator).status_code == 303
    return made
