"""Strophe's Builder: `msg()`, `iq()`, `pres()` and `build()` start a stanza,
`c()`, `t()`, `attrs()`, `up()` and `cnode()` grow it at a cursor, and each
returns the builder so that calls chain:

    epode.msg(to="bob@localhost", type="chat").c("body").t("hi").tree()

Attributes are keyword arguments; a trailing underscore is dropped so that
Python's keywords can be names (`from_="…"` is `from`), and a mapping may
be passed first for any other name (`{"xml:lang": "en"}`). The element
name is positional, so `name=` is an attribute too.
"""

from __future__ import annotations

from ctypes import byref, c_void_p
from typing import Any, Callable, Dict, Mapping, Optional

from . import _lib
from ._text import AttrArray, c_str, take_string
from .errors import check
from .stanza import Stanza

L = _lib.lib


def _attrs(mapping: Optional[Mapping[str, Optional[str]]], kwargs: Mapping[str, Optional[str]]) -> Dict[str, Optional[str]]:
    merged: Dict[str, Optional[str]] = dict(mapping or {})
    for key, value in kwargs.items():
        merged[key[:-1] if key.endswith("_") else key] = value
    return merged


class Builder:
    """A stanza under construction, with a cursor (Strophe's `$build`)."""

    __slots__ = ("_handle",)

    def __init__(self, name: str, /, attrs: Optional[Mapping[str, Optional[str]]] = None, **kwargs: Optional[str]) -> None:
        self._handle: Optional[int] = None
        self._start(lambda out: L.epode_builder_new(name.encode(), AttrArray(_attrs(attrs, kwargs)).pointer, out))

    @classmethod
    def _from(cls, start: Callable[[Any], int]) -> Builder:
        builder = cls.__new__(cls)
        builder._handle = None
        builder._start(start)
        return builder

    def _start(self, start: Callable[[Any], int]) -> None:
        handle = c_void_p()
        check(start(byref(handle)))
        self._handle = handle.value

    def __del__(self) -> None:
        handle, self._handle = getattr(self, "_handle", None), None
        if handle:
            L.epode_builder_free(handle)

    @property
    def _live(self) -> int:
        if not self._handle:
            raise ValueError("this builder was finished")
        return self._handle

    def c(self, name: str, /, attrs: Optional[Mapping[str, Optional[str]]] = None, text: Optional[str] = None,
          **kwargs: Optional[str]) -> Builder:
        """Adds a child; without `text` the cursor moves into it, with
        `text` it stays on the parent (as in Strophe)."""
        array = AttrArray(_attrs(attrs, kwargs))
        check(L.epode_builder_c(self._live, name.encode(), array.pointer, c_str(text)))
        return self

    def cnode(self, stanza: Stanza) -> Builder:
        """Appends a copy of `stanza` and moves the cursor into it."""
        check(L.epode_builder_cnode(self._live, stanza.handle))
        return self

    def t(self, text: str) -> Builder:
        """Appends text at the cursor."""
        check(L.epode_builder_t(self._live, text.encode()))
        return self

    def attrs(self, attrs: Optional[Mapping[str, Optional[str]]] = None, **kwargs: Optional[str]) -> Builder:
        """Sets attributes on the cursor's element; a None value removes one."""
        check(L.epode_builder_attrs(self._live, AttrArray(_attrs(attrs, kwargs)).pointer))
        return self

    def up(self) -> Builder:
        """Moves the cursor to the parent (it stays at the root)."""
        check(L.epode_builder_up(self._live))
        return self

    def __str__(self) -> str:
        out = c_void_p()
        check(L.epode_builder_to_string(self._live, byref(out)))
        return take_string(out)

    def __repr__(self) -> str:
        return f"Builder({str(self)!r})" if self._handle else "Builder(<finished>)"

    def tree(self) -> Stanza:
        """The stanza built so far, as a copy; the builder stays usable."""
        return Stanza(str(self))

    def finish(self) -> Stanza:
        """The stanza built; the builder is used up (cheaper than `tree()`)."""
        handle, self._handle = self._live, None
        out = c_void_p()
        check(L.epode_builder_finish(handle, byref(out)))  # frees the builder, even on failure
        return Stanza._adopt(out.value)


def build(name: str, /, attrs: Optional[Mapping[str, Optional[str]]] = None, **kwargs: Optional[str]) -> Builder:
    """`$build(name, attrs)`: a builder whose root is `<name …>`."""
    return Builder(name, attrs, **kwargs)


def msg(attrs: Optional[Mapping[str, Optional[str]]] = None, **kwargs: Optional[str]) -> Builder:
    """`$msg(attrs)`: `<message xmlns="jabber:client" …>`."""
    array = AttrArray(_attrs(attrs, kwargs))
    return Builder._from(lambda out: L.epode_builder_msg(array.pointer, out))


def iq(attrs: Optional[Mapping[str, Optional[str]]] = None, **kwargs: Optional[str]) -> Builder:
    """`$iq(attrs)`: `<iq xmlns="jabber:client" …>`."""
    array = AttrArray(_attrs(attrs, kwargs))
    return Builder._from(lambda out: L.epode_builder_iq(array.pointer, out))


def pres(attrs: Optional[Mapping[str, Optional[str]]] = None, **kwargs: Optional[str]) -> Builder:
    """`$pres(attrs)`: `<presence xmlns="jabber:client" …>`."""
    array = AttrArray(_attrs(attrs, kwargs))
    return Builder._from(lambda out: L.epode_builder_pres(array.pointer, out))
