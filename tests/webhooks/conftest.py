"""A real HTTP server per backend (uvicorn on loopback, in this process so that a
test can stand in for AWS when SNS asks to confirm a subscription)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from postwarden import settings as settings_mod
from postwarden.api.app import create_app


@dataclass
class Running:
    url: str
    app: FastAPI


_servers: dict[str, Running] = {}


def _start(engine: Engine) -> Running:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    settings = settings_mod.load(env={}, database_url=engine.url.render_as_string(hide_password=False))
    app = create_app(settings, engine)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test HTTP server did not start")
        time.sleep(0.02)
    return Running(f"http://127.0.0.1:{port}", app)


@pytest.fixture
def server(engine: Engine, db_url: str) -> Running:
    if db_url not in _servers:
        _servers[db_url] = _start(engine)
    return _servers[db_url]


@pytest.fixture
def http(server: Running) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client
