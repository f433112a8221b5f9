"""`postwarden serve`: the HTTP API and the SMTP feedback intake in one process, and
intake workers in processes of their own. Python runs one thread at a time per
process: a worker busy parsing in the server's process would hold up every SMTP
reply. More workers may run anywhere (`postwarden worker`) on the same database."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from multiprocessing.synchronize import Event as ProcessEvent

import uvicorn

from postwarden import settings as settings_mod
from postwarden.api.app import create_app
from postwarden.intake import spool
from postwarden.intake.smtp import start_server
from postwarden.intake.worker import IntakeWorker
from postwarden.ledger.db import make_engine, require_schema

log = logging.getLogger("postwarden")


def _worker_process(settings: settings_mod.Settings, parent: int, wake: ProcessEvent) -> None:
    """One intake worker; it stops when the server that started it is gone. Spool
    entries left by a crash are taken first thing: the worker starts with a pass."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()

    def parent_gone() -> None:
        if os.getppid() != parent:
            stop.set()

    IntakeWorker(make_engine(settings.database_url), settings).run_forever(stop, on_idle=parent_gone,
                                                                           wake=wake)


async def serve(settings: settings_mod.Settings) -> None:
    engine = make_engine(settings.database_url)
    require_schema(engine)
    spawn = multiprocessing.get_context("spawn")
    wake = spawn.Event()
    workers = [spawn.Process(target=_worker_process, args=(settings, os.getpid(), wake), daemon=True,
                             name=f"intake-worker-{n}") for n in range(max(1, int(settings.intake_workers)))]
    for process in workers:
        process.start()
    writer = spool.SpoolWriter(engine)
    smtp = None
    if int(settings.smtp_port):
        smtp = await start_server(writer, settings, on_stored=wake.set)
        log.info("SMTP feedback intake on %s:%s for @%s", settings.smtp_host, settings.smtp_port,
                 settings.intake_domain)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, engine), host=str(settings.http_host),
                                           port=int(settings.http_port), log_level="info"))
    try:
        await server.serve()
    finally:
        if smtp is not None:
            smtp.close()
            await smtp.wait_closed()
        writer.close()
        for process in workers:
            process.terminate()
            process.join(timeout=5)


def run(settings: settings_mod.Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # aiosmtpd logs every SMTP command at INFO; keep its warnings only.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    asyncio.run(serve(settings))
