"""echo_bot.py on asyncio, typed (CI checks it with mypy --strict): a
pollable connection driven by the event loop (epode.aio.Driver), answering
each chat message from PEER's bare JID, whatever its resource, with the
same body, and logging the library's messages through `logging`.

    python3 echo_bot_async.py SERVICE JID PASSWORD PEER

Prints "ready JID" once online; a message "quit" ends it. The loop is free
meanwhile: a tick task shows it (its count goes to the log at the end).
"""
from __future__ import annotations

import asyncio
import logging
import sys
from typing import Optional

import epode
from epode.aio import Driver


async def main(service: str, jid: str, password: str, peer: str) -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
    log = logging.getLogger("echo_bot")
    loop = asyncio.get_running_loop()
    quit_said: asyncio.Future[None] = loop.create_future()
    driver = Driver()

    def on_status(status: epode.Status, condition: Optional[str], _stanza: Optional[epode.Stanza]) -> None:
        log.info("status %s %s", status.name, condition or "")

    with epode.Connection(service, pollable=True) as conn:
        conn.set_log_handler(log)

        def echo(message: epode.Stanza) -> bool:
            body = message.find_text("body")
            sender = message.get("from")
            if body is None or sender is None:
                return epode.KEEP
            if body == "quit":
                if not quit_said.done():
                    quit_said.set_result(None)
                return epode.REMOVE
            conn.send(epode.msg(to=sender, type="chat").c("body", text=body))
            return epode.KEEP

        conn.add_handler(echo, name="message", type="chat", from_=peer, match_bare_from=True)
        driver.add(conn)
        conn.connect(jid, password, on_status)
        await driver.wait_for_status(conn, epode.Status.CONNECTED)
        conn.send(epode.pres())
        print("ready", conn.jid, flush=True)

        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        ticker = asyncio.create_task(tick())
        await quit_said
        ticker.cancel()
        log.info("the loop ticked %d times meanwhile", ticks)
        conn.disconnect()
        await driver.wait_for_status(conn, epode.Status.DISCONNECTED)
        driver.remove(conn)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:5])))
