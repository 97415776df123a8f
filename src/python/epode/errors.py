"""The library's result codes and the exception that carries one."""

from __future__ import annotations

import ctypes
import enum
from typing import Optional

from . import _lib


class Result(enum.IntEnum):
    """`epode_result`: what a failed call went wrong with (numbers as in epode.h)."""

    OK = 0
    NULL_ARG = 1
    INVALID_UTF8 = 2
    MALFORMED_XML = 3
    INVALID_ARG = 4
    UNKNOWN_OPTION = 5
    WRONG_STATE = 6
    NOT_FOUND = 7
    BUFFER_TOO_SMALL = 8
    INVALID_JID = 9
    PANIC = 10
    IO = 11
    WOULD_DEADLOCK = 12
    TIMEOUT = 13
    NO_SESSION = 14
    TLS = 15
    OTHER = 16

    @property
    def c_name(self) -> str:
        """The C name, e.g. "EPODE_ERR_NULL_ARG" (`epode_result_str`)."""
        return str(_lib.lib.epode_result_str(int(self)).decode())


class Error(Exception):
    """A failed libepode call: `code` is the library's `Result`, `message`
    its last-error text."""

    code: Result
    message: str

    def __init__(self, code: Result, message: str) -> None:
        super().__init__(f"{message} ({code.c_name})")
        self.code = code
        self.message = message


def _message(conn: Optional[int]) -> str:
    """The last error of `conn`, or of this thread (snprintf semantics)."""
    cap = 512
    while True:
        buf = ctypes.create_string_buffer(cap)
        if conn:
            need = _lib.lib.epode_conn_last_error(conn, buf, cap)
        else:
            need = _lib.lib.epode_last_error(buf, cap)
        if need < cap:
            return buf.value.decode(errors="replace")
        cap = need + 1


def _code(result: int) -> Result:
    try:
        return Result(result)
    except ValueError:
        return Result.OTHER


def check(result: int, conn: Optional[int] = None) -> None:
    """Raises `Error` for anything but OK, with the connection's (or this
    thread's) last-error message."""
    if result != _lib.OK:
        raise Error(_code(result), _message(conn))
