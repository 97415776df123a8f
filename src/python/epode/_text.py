"""Text across the C boundary: UTF-8 in, the buf/cap/len getters out,
attribute arrays, library-allocated strings."""

from __future__ import annotations

import ctypes
from ctypes import byref, c_char_p, c_size_t, c_void_p
from typing import Any, Iterable, Mapping, Optional, Tuple, Union

from . import _lib
from .errors import check

Attrs = Union[Mapping[str, Optional[str]], Iterable[Tuple[str, Optional[str]]], None]


def c_str(text: Optional[str]) -> Optional[bytes]:
    """UTF-8 bytes for a `const char *`, or NULL for None."""
    return None if text is None else text.encode()


def read(fn: Any, *args: Any, conn: Optional[int] = None) -> str:
    """Calls a buf/cap/len getter, retrying once with the length it asked for."""
    buf = ctypes.create_string_buffer(256)
    need = c_size_t()
    result = fn(*args, buf, len(buf), byref(need))
    if result == _lib.ERR_BUFFER_TOO_SMALL:
        buf = ctypes.create_string_buffer(need.value + 1)
        result = fn(*args, buf, len(buf), byref(need))
    check(result, conn)
    return buf.raw[: need.value].decode()


def take_string(ptr: c_void_p) -> str:
    """A string the library allocated, copied out and freed."""
    try:
        return ctypes.string_at(ptr).decode()
    finally:
        _lib.lib.epode_string_free(ptr)


class AttrArray:
    """A NULL-terminated name, value, … array (NULL for no attributes); the
    bytes stay alive as long as this object does."""

    def __init__(self, attrs: Attrs) -> None:
        self.pointer: Any = None
        if attrs is None:
            return
        pairs = attrs.items() if isinstance(attrs, Mapping) else attrs
        flat = []
        for name, value in pairs:
            flat += [name.encode(), c_str(None if value is None else str(value))]
        self.pointer = (c_char_p * (len(flat) + 1))(*flat, None)
