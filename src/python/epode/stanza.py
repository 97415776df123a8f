"""Stanzas: XML elements owned by Python, read like ElementTree's elements.

A `Stanza` reads as a view: `name`, `attrs` (a read-only mapping), `get()`,
`text`, its child elements by `len()`, index, iteration and `find()`, and
`str()` for the XML. Stanzas handed to callbacks are copies, so they may
be kept after the callback returns. The few writers (`set_attr`,
`append_text`, `append`) are for stanzas of your own; the builder
(`epode.msg`, `epode.iq`, …) is the usual way to make one.
"""

from __future__ import annotations

import types
from ctypes import byref, c_size_t, c_void_p
from typing import Any, Iterator, List, Mapping, Optional, Union, overload

from . import _lib
from ._text import c_str, read, take_string
from .errors import Error, Result, check

L = _lib.lib


class Stanza:
    """An XML element; `Stanza(xml)` parses one complete element."""

    __slots__ = ("_handle",)

    def __init__(self, xml: str) -> None:
        handle = c_void_p()
        check(L.epode_stanza_parse(xml.encode(), byref(handle)))
        self._handle: Optional[int] = handle.value

    @classmethod
    def new(cls, name: str) -> Stanza:
        """An empty element `<name/>`."""
        handle = c_void_p()
        check(L.epode_stanza_new(name.encode(), byref(handle)))
        return cls._adopt(handle.value)

    @classmethod
    def _adopt(cls, handle: Optional[int]) -> Stanza:
        """Wraps an owned handle (it is freed with the object)."""
        stanza = cls.__new__(cls)
        stanza._handle = handle
        return stanza

    @classmethod
    def _copy_of(cls, borrowed: Any) -> Stanza:
        """A copy of a borrowed element (a callback's, or a child)."""
        handle = c_void_p()
        check(L.epode_stanza_clone(borrowed, byref(handle)))
        return cls._adopt(handle.value)

    def __del__(self) -> None:
        handle, self._handle = getattr(self, "_handle", None), None
        if handle:
            L.epode_stanza_free(handle)

    @property
    def handle(self) -> int:
        """The `epode_stanza *`, for calls into the C ABI; owned by this object."""
        if not self._handle:
            raise ValueError("this stanza has no handle")
        return self._handle

    def copy(self) -> Stanza:
        """A deep copy."""
        return Stanza._copy_of(self.handle)

    # Reading

    @property
    def name(self) -> str:
        """The element's name as written, e.g. "message" or "stream:features"."""
        return read(L.epode_stanza_name, self.handle)

    @property
    def text(self) -> str:
        """The element's own text (its direct text children, unescaped); "" if none."""
        return read(L.epode_stanza_text, self.handle)

    @property
    def attrs(self) -> Mapping[str, str]:
        """The attributes in document order (namespace declarations included),
        as a read-only snapshot."""
        count = c_size_t()
        check(L.epode_stanza_attr_count(self.handle, byref(count)))
        names = [read(L.epode_stanza_attr_name_at, self.handle, i) for i in range(count.value)]
        return types.MappingProxyType({name: read(L.epode_stanza_attr, self.handle, name.encode()) for name in names})

    def get(self, attr: str, default: Optional[str] = None) -> Optional[str]:
        """The value of attribute `attr`, or `default` when there is none."""
        try:
            return read(L.epode_stanza_attr, self.handle, attr.encode())
        except Error as e:
            if e.code is Result.NOT_FOUND:
                return default
            raise

    def __len__(self) -> int:
        """The number of child elements (text is not counted)."""
        count = c_size_t()
        check(L.epode_stanza_child_count(self.handle, byref(count)))
        return count.value

    @overload
    def __getitem__(self, index: int) -> Stanza: ...

    @overload
    def __getitem__(self, index: slice) -> List[Stanza]: ...

    def __getitem__(self, index: Union[int, slice]) -> Union[Stanza, List[Stanza]]:
        """The child element at `index` (a copy), or a list of them for a slice."""
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        count = len(self)
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError("child index out of range")
        child = c_void_p()
        check(L.epode_stanza_child(self.handle, index, byref(child)))
        return Stanza._copy_of(child)

    def __iter__(self) -> Iterator[Stanza]:
        """The child elements, in order."""
        for i in range(len(self)):
            yield self[i]

    @property
    def children(self) -> List[Stanza]:
        """The child elements, in order (copies)."""
        return list(self)

    def find(self, name: str, ns: Optional[str] = None) -> Optional[Stanza]:
        """The first child with local name `name` (and namespace `ns`), or None."""
        child = c_void_p()
        result = L.epode_stanza_find_child(self.handle, name.encode(), c_str(ns), byref(child))
        if result == _lib.ERR_NOT_FOUND:
            return None
        check(result)
        return Stanza._copy_of(child)

    def find_text(self, name: str, ns: Optional[str] = None, default: Optional[str] = None) -> Optional[str]:
        """The text of the first child `name` (a message's body, …), or `default`."""
        child = self.find(name, ns)
        return default if child is None else child.text

    def __str__(self) -> str:
        out = c_void_p()
        check(L.epode_stanza_to_string(self.handle, byref(out)))
        return take_string(out)

    def __repr__(self) -> str:
        return f"Stanza({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Stanza) and str(self) == str(other)

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    # Writing (your own stanzas)

    def set_attr(self, name: str, value: Optional[str]) -> None:
        """Sets attribute `name` (keeping its place); None removes it."""
        check(L.epode_stanza_set_attr(self.handle, name.encode(), c_str(value)))

    def append_text(self, text: str) -> None:
        """Appends text (escaped when serialized)."""
        check(L.epode_stanza_append_text(self.handle, text.encode()))

    def append(self, child: Stanza) -> None:
        """Appends a copy of `child`."""
        check(L.epode_stanza_append_child(self.handle, child.handle))
