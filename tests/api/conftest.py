"""A real postwarden HTTP server on loopback, per backend, and an httpx client for it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from postwarden import settings as settings_mod
from postwarden.api.app import create_app
from postwarden.ledger.tenants import create_api_key

_servers: dict[str, str] = {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(engine: Engine) -> str:
    port = _free_port()
    settings = settings_mod.load(env={}, database_url=engine.url.render_as_string(hide_password=False))
    server = uvicorn.Server(uvicorn.Config(create_app(settings, engine), host="127.0.0.1", port=port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test HTTP server did not start")
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def base_url(engine: Engine, db_url: str) -> str:
    if db_url not in _servers:
        _servers[db_url] = _start(engine)
    return _servers[db_url]


@pytest.fixture
def api(base_url: str, engine: Engine, tenant: str) -> Iterator[httpx.Client]:
    key = create_api_key(engine, tenant, "test")
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        yield client
