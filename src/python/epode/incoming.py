"""Incoming stanzas as a queue, for scripts that prefer a loop to callbacks:

    with conn.stanzas(name="message", type="chat") as messages:
        for message in messages:          # ends when the session does
            print(message.find_text("body"))

In sync mode, waiting drives the engine on the waiting thread (so the other
callbacks run there too); otherwise the engine thread fills the queue.
"""

from __future__ import annotations

import queue
import time
from typing import TYPE_CHECKING, Any, Iterator, Optional, Union

from .stanza import Stanza

if TYPE_CHECKING:
    from .connection import Connection

_END = object()  # the session ended
_SLICE = 0.1  # how long one run_once may wait, in sync mode


class StanzaQueue:
    """Stanzas that matched one handler, oldest first (see
    `Connection.stanzas`). Iterating ends when the session ends
    (DISCONNECTED); `close()` removes the handler."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._items: "queue.Queue[Union[Stanza, object]]" = queue.Queue()
        self.handler_id: Optional[int] = None

    def _put(self, stanza: Stanza) -> bool:
        self._items.put(stanza)
        return True

    def _end(self) -> None:
        self._items.put(_END)

    def get(self, timeout: Optional[float] = None) -> Optional[Stanza]:
        """The next stanza, waiting at most `timeout` seconds (None: until one
        comes); None when none came in time or the session ended. Raises
        what a callback raised meanwhile."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            item = self._next(deadline)
            self._conn.raise_callback_errors()
            if isinstance(item, Stanza):
                return item
            if item is _END or self._conn.closed or not self._conn.connected:
                return None
            left = self._wait(deadline)
            if left == 0:
                return None
            if self._conn.sync:
                self._conn.run_once(left)

    def _next(self, deadline: Optional[float]) -> object:
        """What is queued; in threaded mode after waiting a slice for it."""
        try:
            if self._conn.closed or self._conn.sync:
                return self._items.get_nowait()
            return self._items.get(timeout=self._wait(deadline))
        except queue.Empty:
            return None

    @staticmethod
    def _wait(deadline: Optional[float]) -> float:
        if deadline is None:
            return _SLICE
        return max(0.0, min(_SLICE, deadline - time.monotonic()))

    def __iter__(self) -> Iterator[Stanza]:
        while True:
            item = self.get()
            if item is None:
                return
            yield item

    def __len__(self) -> int:
        """How many stanzas wait (an end of session counts as one)."""
        return self._items.qsize()

    def close(self) -> None:
        """Stops queueing: removes the handler."""
        if self.handler_id is not None and not self._conn.closed:
            self._conn.delete_handler(self.handler_id)
        self.handler_id = None

    def __enter__(self) -> StanzaQueue:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
