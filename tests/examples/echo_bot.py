"""An echo bot on the Python package, typed (CI checks it with mypy --strict):
answers each chat message from PEER's bare JID, whatever its resource,
with the same body, and logs the library's messages through `logging`.

    python3 echo_bot.py SERVICE JID PASSWORD PEER

Prints "ready JID" once online; a message "quit" ends it.
"""
from __future__ import annotations

import logging
import sys
from typing import Optional

import epode


def main(service: str, jid: str, password: str, peer: str) -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
    log = logging.getLogger("echo_bot")
    done = False

    def on_status(status: epode.Status, condition: Optional[str], _stanza: Optional[epode.Stanza]) -> None:
        log.info("status %s %s", status.name, condition or "")

    with epode.Connection(service, sync=True) as conn:
        conn.set_log_handler(log)

        def echo(message: epode.Stanza) -> bool:
            nonlocal done
            body = message.find_text("body")
            sender = message.get("from")
            if body is None or sender is None:
                return epode.KEEP
            if body == "quit":
                done = True
                return epode.REMOVE
            conn.send(epode.msg(to=sender, type="chat").c("body", text=body))
            return epode.KEEP

        conn.add_handler(echo, name="message", type="chat", from_=peer, match_bare_from=True)
        conn.connect(jid, password, on_status)
        if conn.status is not epode.Status.CONNECTED:
            return 1
        conn.send(epode.pres())
        print("ready", conn.jid, flush=True)
        while not done:
            conn.run_once(0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
