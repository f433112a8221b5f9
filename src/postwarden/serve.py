"""`postwarden serve`: the HTTP API, the SMTP feedback intake and an intake worker in
one process. More workers may run elsewhere (`postwarden worker`) on the same database."""

from __future__ import annotations

import asyncio
import logging
import threading

import uvicorn

from postwarden import settings as settings_mod
from postwarden.api.app import create_app
from postwarden.intake import spool
from postwarden.intake.smtp import start_server
from postwarden.intake.worker import IntakeWorker
from postwarden.ledger.db import make_engine, require_schema

log = logging.getLogger("postwarden")


async def serve(settings: settings_mod.Settings) -> None:
    engine = make_engine(settings.database_url)
    require_schema(engine)
    worker = IntakeWorker(engine, settings)
    stop = threading.Event()
    # Spool entries left by a crash are picked up first thing: the worker starts with a pass.
    thread = threading.Thread(target=worker.run_forever, args=(stop,), name="intake-worker", daemon=True)
    thread.start()
    smtp = None
    writer = spool.SpoolWriter(engine)
    if int(settings.smtp_port):
        smtp = await start_server(writer, settings, on_stored=worker.wake.set)
        log.info("SMTP feedback intake on %s:%s for @%s", settings.smtp_host, settings.smtp_port,
                 settings.intake_domain)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, engine), host=str(settings.http_host),
                                           port=int(settings.http_port), log_level="info"))
    try:
        await server.serve()
    finally:
        stop.set()
        worker.wake.set()
        if smtp is not None:
            smtp.close()
            await smtp.wait_closed()
        writer.close()
        thread.join(timeout=5)


def run(settings: settings_mod.Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # aiosmtpd logs every SMTP command at INFO; keep its warnings only.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    asyncio.run(serve(settings))
