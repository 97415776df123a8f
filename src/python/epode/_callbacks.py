"""Python callables behind C callbacks: keeping each ctypes thunk alive for
exactly as long as the library may call it, and making sure an exception
in user code is neither lost nor turned into an undefined return value.

Each registration stores its thunk under a key passed as `userdata`; the
library's `userdata_free` (one shared thunk) drops it. An exception raised
by a callback is logged on the "epode" logger, the callback returns its
"failed" value (a handler: removed, as Strophe does with a handler that
throws), and the exception waits in the connection's `Failures` until a
call that drives the engine raises it.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from typing import Any, Callable, Deque, Dict, Optional, Tuple, TypeVar

from . import _lib

logger = logging.getLogger("epode")

_live: Dict[int, Any] = {}
_keys = itertools.count(1)


def _release(userdata: Optional[int]) -> None:
    _live.pop(userdata or 0, None)


RELEASE = _lib.FREE_CB(_release)

T = TypeVar("T")


def keep(*thunks: Any) -> int:
    """The userdata that keeps `thunks` alive until RELEASE gets it."""
    key = next(_keys)
    _live[key] = thunks
    return key


def register(cfunc_type: Any, fn: Callable[..., Any]) -> Tuple[Any, int]:
    """A C function pointer for `fn` and the userdata that keeps it alive
    (pass RELEASE as `userdata_free`)."""
    thunk = cfunc_type(fn)
    return thunk, keep(thunk)


def live_count() -> int:
    """How many C callbacks the library may still call (for tests)."""
    return len(_live)


class Failures:
    """Exceptions raised inside one connection's callbacks, oldest first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: Deque[BaseException] = deque()

    def guard(self, what: str, fn: Callable[..., T], failed: T, *args: Any) -> T:
        """Runs `fn(*args)`; if it raises, logs and keeps the exception and
        returns `failed` instead."""
        try:
            return fn(*args)
        except BaseException as e:  # noqa: B902 — KeyboardInterrupt too: it must reach the caller
            logger.error("exception in the %s callback (raised again from the call that drives the engine)",
                         what, exc_info=e)
            with self._lock:
                self._pending.append(e)
            return failed

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def raise_first(self) -> None:
        """Raises the oldest kept exception, if any; the others stay for the next call."""
        with self._lock:
            if not self._pending:
                return
            e = self._pending.popleft()
        raise e
