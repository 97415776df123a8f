"""The library's log, into Python's `logging` (or any callable).

A handler is a `logging.Logger` (each message becomes a record at the
matching level: DEBUG, INFO, WARNING, ERROR) or a callable
`handler(level, message)`. Without a `level`, a logger's effective level
decides, so the library formats nothing the logger would drop. Passwords
and SASL payloads are never logged.
"""

from __future__ import annotations

import atexit
import enum
import logging
from typing import Any, Callable, Optional, Tuple, Union

from . import _callbacks, _lib
from .errors import check

L = _lib.lib


class LogLevel(enum.IntEnum):
    """`epode_log_level` (Strophe.js's and libstrophe's numbers)."""

    DEBUG = 0
    INFO = 1
    WARN = 2
    ERROR = 3

    @property
    def c_name(self) -> str:
        """The library's name for it (`epode_log_level_name`)."""
        return str(L.epode_log_level_name(int(self)).decode())

    @property
    def logging_level(self) -> int:
        """The `logging` level a message of this level is recorded at."""
        return _TO_LOGGING[self]

    @classmethod
    def for_logger(cls, logger: logging.Logger) -> LogLevel:
        """The lowest level that `logger` would not drop."""
        effective = logger.getEffectiveLevel()
        for level in cls:
            if level.logging_level >= effective:
                return level
        return cls.ERROR


_TO_LOGGING = {LogLevel.DEBUG: logging.DEBUG, LogLevel.INFO: logging.INFO,
               LogLevel.WARN: logging.WARNING, LogLevel.ERROR: logging.ERROR}

LogHandler = Union[logging.Logger, Callable[[LogLevel, str], Any]]

# Exceptions of the process-wide handler: no connection owns them, so any
# connection's next driving call raises them.
process_failures = _callbacks.Failures()


def _level(handler: LogHandler, level: Optional[LogLevel]) -> LogLevel:
    if level is not None:
        return LogLevel(level)
    return LogLevel.for_logger(handler) if isinstance(handler, logging.Logger) else LogLevel.DEBUG


def thunk(handler: LogHandler, failures: _callbacks.Failures) -> Tuple[Any, int]:
    """A C log callback feeding `handler`, registered (see _callbacks)."""
    if isinstance(handler, logging.Logger):
        target = handler

        def on_log(_ud: Any, _conn: Any, level: int, message: bytes) -> None:
            target.log(_TO_LOGGING.get(LogLevel(level), logging.ERROR), "%s", message.decode(errors="replace"))
    else:
        call = handler

        def on_log(_ud: Any, _conn: Any, level: int, message: bytes) -> None:
            failures.guard("log", call, None, LogLevel(level), message.decode(errors="replace"))

    return _callbacks.register(_lib.LOG_CB, on_log)


def set_handler(setter: Callable[..., int], handler: Optional[LogHandler], level: Optional[LogLevel],
                failures: _callbacks.Failures) -> None:
    """Calls a C set-log-handler function (conn-bound `setter`) for `handler`."""
    if handler is None:
        check(setter(int(LogLevel.DEBUG), _lib.LOG_CB(), None, _lib.FREE_CB()))
        return
    cb, key = thunk(handler, failures)
    check(setter(int(_level(handler, level)), cb, key, _callbacks.RELEASE))


def set_default_log_handler(handler: Optional[LogHandler] = None, level: Optional[LogLevel] = None) -> None:
    """The process-wide handler: messages of every connection without one of
    its own. `handler` defaults to the "epode" logger; use
    `clear_default_log_handler()` to remove it."""
    target = handler if handler is not None else logging.getLogger("epode")
    set_handler(L.epode_set_default_log_handler, target, level, process_failures)


def clear_default_log_handler() -> None:
    """Removes the process-wide handler (library messages are then dropped)."""
    check(L.epode_set_default_log_handler(int(LogLevel.DEBUG), _lib.LOG_CB(), None, _lib.FREE_CB()))


def log_to_stderr(level: LogLevel = LogLevel.INFO) -> None:
    """The process-wide handler becomes the library's own, which writes
    `epode LEVEL: message` to stderr without entering Python."""
    check(L.epode_set_default_log_handler(int(level), _lib.log_stderr, None, _lib.FREE_CB()))


# No engine thread may call into Python once the interpreter shuts down.
atexit.register(clear_default_log_handler)
