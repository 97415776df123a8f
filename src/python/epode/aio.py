"""Pollable connections driven from asyncio's event loop: any number on the
loop's own thread, no engine thread each.

    import asyncio, epode
    from epode.aio import Driver

    async def main():
        driver = Driver()                       # the running loop's
        conn = epode.Connection(url, pollable=True)
        driver.add(conn)                        # add_reader + a timer
        up = asyncio.get_running_loop().create_future()
        conn.connect(jid, password, lambda s, c, _: s == epode.Status.CONNECTED and up.set_result(s))
        await up
        ...
        driver.remove(conn)

The loop calls `run_once(0)` when the connection's descriptor is readable
and when its next timer is due. An exception a callback raised comes out of
that call; the driver hands it to the loop's exception handler, and it is
raised again from `wait_for_status`, so it is not lost.
"""

from __future__ import annotations

import asyncio
from typing import Dict, Optional

from .connection import Connection
from .status import Status


class Driver:
    """Drives pollable connections from one asyncio event loop."""

    def __init__(self, loop: Optional[asyncio.AbstractEventLoop] = None) -> None:
        self.loop = loop or asyncio.get_running_loop()
        self._timers: Dict[int, asyncio.TimerHandle] = {}
        self._conns: Dict[int, Connection] = {}
        self._errors: Dict[int, BaseException] = {}

    def add(self, conn: Connection) -> None:
        """Starts driving `conn` (made with `pollable=True`)."""
        fd = conn.fileno()
        self._conns[fd] = conn
        self.loop.add_reader(fd, self._step, fd)
        # What was posted before (a connect) is waiting already.
        self.loop.call_soon(self._step, fd)

    def remove(self, conn: Connection) -> None:
        """Stops driving `conn`; it stays open (close it yourself)."""
        fd = conn.fileno()
        self.loop.remove_reader(fd)
        timer = self._timers.pop(fd, None)
        if timer is not None:
            timer.cancel()
        self._conns.pop(fd, None)

    def _step(self, fd: int) -> None:
        conn = self._conns.get(fd)
        if conn is None:
            return
        try:
            conn.run_once(0)
        except BaseException as e:  # a callback's, or the library's: keep it
            self._errors.setdefault(fd, e)
            self.loop.call_exception_handler({"message": "epode connection step failed", "exception": e})
        self._arm(fd, conn)

    def _arm(self, fd: int, conn: Connection) -> None:
        """The timer for the connection's next deadline, replacing the last."""
        old = self._timers.pop(fd, None)
        if old is not None:
            old.cancel()
        try:
            timeout = conn.next_timeout()
        except Exception:  # closed meanwhile: nothing more to drive
            return
        if timeout is not None:
            self._timers[fd] = self.loop.call_later(timeout, self._step, fd)

    async def wait_for_status(self, conn: Connection, wanted: Status, timeout: float = 30) -> None:
        """Waits until `conn.status` is `wanted`, raising what a step raised."""
        deadline = self.loop.time() + timeout
        fd = conn.fileno()
        while conn.status != wanted:
            if fd in self._errors:
                raise self._errors.pop(fd)
            if self.loop.time() > deadline:
                raise TimeoutError(f"{wanted.name} not within {timeout} s (status {conn.status})")
            await asyncio.sleep(0.01)
