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
raised again from `wait_for_status` and from a stanza iterator's `get`, so
it is not lost.

Statuses change and stanzas arrive only inside those steps, so waiting is
exact: `wait_for_status` and the iterators wake on the step that matters.

    async for message in driver.stanzas(conn, name="message", type="chat"):
        ...                                     # ends with the session
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Dict, Iterable, List, Optional, Union

from .connection import Connection
from .stanza import Stanza
from .status import Status


class Driver:
    """Drives pollable connections from one asyncio event loop."""

    def __init__(self, loop: Optional[asyncio.AbstractEventLoop] = None) -> None:
        self.loop = loop or asyncio.get_running_loop()
        self._timers: Dict[int, asyncio.TimerHandle] = {}
        self._conns: Dict[int, Connection] = {}
        self._errors: Dict[int, BaseException] = {}
        # Set after every step of the connection: what waits re-checks then.
        self._stepped: Dict[int, asyncio.Event] = {}
        self._iterators: Dict[int, List[AsyncStanzas]] = {}

    def add(self, conn: Connection) -> None:
        """Starts driving `conn` (made with `pollable=True`)."""
        fd = conn.fileno()
        self._conns[fd] = conn
        self._stepped[fd] = asyncio.Event()
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
        for it in self._iterators.pop(fd, []):
            it._end()
        stepped = self._stepped.pop(fd, None)
        if stepped is not None:
            stepped.set()

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
        iterators = self._iterators.get(fd)
        if iterators and (conn.closed or not conn.connected):
            for it in iterators:
                it._end()
        stepped = self._stepped.get(fd)
        if stepped is not None:
            stepped.set()

    async def _next_step(self, fd: int, deadline: float) -> bool:
        """Waits for the connection's next step, or `deadline`; whether a
        step came."""
        stepped = self._stepped.get(fd)
        left = deadline - self.loop.time()
        if stepped is None or left <= 0:
            return False
        stepped.clear()
        try:
            await asyncio.wait_for(stepped.wait(), left)
        except asyncio.TimeoutError:
            return False
        return True

    def _raise_error(self, fd: int) -> None:
        if fd in self._errors:
            raise self._errors.pop(fd)

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
            self._raise_error(fd)
            if not await self._next_step(fd, deadline) and conn.status != wanted:
                self._raise_error(fd)
                raise TimeoutError(f"{wanted.name} not within {timeout} s (status {conn.status})")

    def stanzas(self, conn: Connection, *, ns: Optional[str] = None, name: Optional[str] = None,
                type: Union[str, Iterable[str], None] = None, id: Optional[str] = None,
                from_: Optional[str] = None, match_bare_from: bool = False,
                ignore_ns_fragment: bool = False) -> AsyncStanzas:
        """The stanzas of `conn` (driven by this driver) matching these
        filters (as for `Connection.add_handler`), as an async iterator
        that ends when the session does."""
        it = AsyncStanzas(self, conn)
        it.handler_id = conn.add_handler(it._put, ns=ns, name=name, type=type, id=id, from_=from_,
                                         match_bare_from=match_bare_from, ignore_ns_fragment=ignore_ns_fragment)
        self._iterators.setdefault(conn.fileno(), []).append(it)
        return it


class AsyncStanzas:
    """Stanzas that matched one handler, oldest first (see
    `Driver.stanzas`). `async for` ends when the session ends; `close()`
    (or leaving an `async with`) removes the handler."""

    def __init__(self, driver: Driver, conn: Connection) -> None:
        self._driver = driver
        self._conn = conn
        self._fd = conn.fileno()
        self._items: "asyncio.Queue[Stanza]" = asyncio.Queue()
        self._ended = False
        self.handler_id: Optional[int] = None

    def _put(self, stanza: Stanza) -> bool:
        self._items.put_nowait(stanza)
        return True

    def _end(self) -> None:
        self._ended = True

    async def get(self, timeout: Optional[float] = None) -> Optional[Stanza]:
        """The next stanza, waiting at most `timeout` seconds (None: until
        one comes); None when none came in time or the session ended.
        Raises what a callback raised meanwhile."""
        loop = self._driver.loop
        deadline = loop.time() + (timeout if timeout is not None else 365 * 86400.0)
        while True:
            self._driver._raise_error(self._fd)
            if not self._items.empty():
                return self._items.get_nowait()
            if self._ended:
                return None
            if not await self._driver._next_step(self._fd, deadline):
                if self._items.empty():
                    self._driver._raise_error(self._fd)
                    return None

    def __aiter__(self) -> AsyncIterator[Stanza]:
        return self

    async def __anext__(self) -> Stanza:
        item = await self.get()
        if item is None:
            raise StopAsyncIteration
        return item

    def __len__(self) -> int:
        return self._items.qsize()

    def close(self) -> None:
        """Stops queueing: removes the handler."""
        if self.handler_id is not None and not self._conn.closed:
            self._conn.delete_handler(self.handler_id)
        self.handler_id = None
        its = self._driver._iterators.get(self._fd, [])
        if self in its:
            its.remove(self)

    async def __aenter__(self) -> AsyncStanzas:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()
