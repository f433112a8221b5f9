"""Start a real `postwarden serve` process for tests and wait until it answers."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from postwarden import settings as settings_mod
from postwarden.api.app import create_app

POSTWARDEN = str(Path(sys.executable).with_name("postwarden"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    http: str
    smtp_port: int
    log: Path

    def smtp(self) -> smtplib.SMTP:
        return smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def start(db_url: str, log: Path, *, tenant: str = "default", extra_env: dict[str, str] | None = None,
          http_port: int | None = None, smtp_port: int | None = None) -> Server:
    http_port = http_port or free_port()
    smtp_port = smtp_port or free_port()
    env = {**os.environ, "POSTWARDEN_INTAKE_TENANT": tenant, "POSTWARDEN_WORKER_POLL_SECONDS": "0.05",
           "POSTWARDEN_PUBLIC_URL": f"http://127.0.0.1:{http_port}", **(extra_env or {})}
    handle = log.open("ab")
    process = subprocess.Popen(
        [POSTWARDEN, "--database", db_url, "serve", "--port", str(http_port), "--smtp-port", str(smtp_port)],
        stdout=handle, stderr=subprocess.STDOUT, env=env)
    server = Server(process, f"http://127.0.0.1:{http_port}", smtp_port, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"postwarden serve exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{server.http}/health", timeout=1).status_code == 200:
                with socket.create_connection(("127.0.0.1", smtp_port), timeout=1):
                    return server
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"postwarden serve did not start: {log.read_text()[-2000:]}")


@dataclass
class InThread:
    """A postwarden HTTP app served by uvicorn on loopback in this process."""

    url: str
    app: FastAPI


def serve_in_thread(engine: Engine, settings: settings_mod.Settings | None = None) -> InThread:
    port = free_port()
    settings = settings or settings_mod.load(env={}, database_url=engine.url.render_as_string(
        hide_password=False))
    app = create_app(settings, engine)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test HTTP server did not start")
        time.sleep(0.02)
    return InThread(f"http://127.0.0.1:{port}", app)
