"""Connection options by their Strophe names (`mechanisms`, `sync`,
`customHeaders`, `wait`, …) or epode's own (`origin`, `ca_file`, …), as
`epode_options_set` takes them. Python values are turned into its text:
booleans "true"/"false", numbers as written (durations stay in the
option's unit, milliseconds for epode's own), a list adds one entry per
item (`mechanisms` joins them), a mapping of `customHeaders` or `cookies`
adds a "Name: value" header or a "name=value" cookie per item.
"""

from __future__ import annotations

from ctypes import byref, c_void_p
from typing import Iterable, Iterator, List, Mapping, Optional, Union

from . import _lib
from ._text import read
from .errors import check

L = _lib.lib

OptionValue = Union[str, bool, int, float, Iterable[str], Mapping[str, str]]

_MAPPING_FORMS = {"customHeaders": "{}: {}", "custom_headers": "{}: {}", "header": "{}: {}",
                  "cookies": "{}={}", "cookie": "{}={}"}


def option_texts(key: str, value: OptionValue) -> Iterator[str]:
    """The `epode_options_set` values for one Python option value."""
    if isinstance(value, bool):
        yield "true" if value else "false"
    elif isinstance(value, (str, int, float)):
        yield str(value)
    elif isinstance(value, Mapping):
        form = _MAPPING_FORMS.get(key)
        if form is None:
            raise TypeError(f"option {key!r} takes no mapping")
        for name, item in value.items():
            yield form.format(name, item)
    elif key == "mechanisms":
        yield ",".join(value)
    else:
        yield from (str(item) for item in value)


class Options:
    """A set of connection options; `Connection` copies it, so one set may
    serve several connections."""

    __slots__ = ("_handle",)

    def __init__(self, options: Optional[Mapping[str, OptionValue]] = None, **kwargs: OptionValue) -> None:
        handle = c_void_p()
        check(L.epode_options_new(byref(handle)))
        self._handle: Optional[int] = handle.value
        for key, value in {**(options or {}), **kwargs}.items():
            self.set(key, value)

    def __del__(self) -> None:
        handle, self._handle = getattr(self, "_handle", None), None
        if handle:
            L.epode_options_free(handle)

    @property
    def handle(self) -> Optional[int]:
        """The `epode_options *`, owned by this object."""
        return self._handle

    def set(self, key: str, value: OptionValue) -> None:
        """Sets one option; an unknown name or a bad value raises `epode.Error`
        (UNKNOWN_OPTION, INVALID_ARG) and changes nothing."""
        for text in list(option_texts(key, value)):
            check(L.epode_options_set(self._handle, key.encode(), text.encode()))

    def get(self, key: str) -> str:
        """The option as text that `set` takes back ("" when unset)."""
        return read(L.epode_options_get, self._handle, key.encode())

    def __getitem__(self, key: str) -> str:
        return self.get(key)

    def __setitem__(self, key: str, value: OptionValue) -> None:
        self.set(key, value)


def lines(text: str) -> List[str]:
    """An option's text that holds one entry per line, as a list."""
    return [line for line in text.split("\n") if line]
