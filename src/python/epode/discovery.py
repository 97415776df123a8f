"""XEP-0156: a domain's WebSocket and BOSH URLs from its host-meta.

    methods = epode.discovery.host_meta("example.com")
    conn = epode.Connection(methods.websocket[0])

Only over HTTPS with the certificate verified, and only `wss://` and
`https://` URLs, unless the options allow plaintext (`allow_plaintext`);
`ca_file`, `accept_invalid_certs` and `connect_timeout` (the bound of the
whole lookup) apply as they do for a connection.
"""

from __future__ import annotations

from ctypes import byref, c_void_p
from dataclasses import dataclass, field
from typing import List, Mapping, Optional, Union

from . import _lib
from ._text import c_str, read
from .errors import check
from .options import Options, OptionValue

L = _lib.lib

WEBSOCKET = 0  # EPODE_ENDPOINT_WEBSOCKET
BOSH = 1  # EPODE_ENDPOINT_BOSH


@dataclass(frozen=True)
class ConnectionMethods:
    """The URLs found, in the document's order (the server's preference)."""

    websocket: List[str] = field(default_factory=list)
    bosh: List[str] = field(default_factory=list)


def host_meta(domain: str, origin: Optional[str] = None,
              options: Union[Options, Mapping[str, OptionValue], None] = None,
              **kwargs: OptionValue) -> ConnectionMethods:
    """Fetches `https://DOMAIN/.well-known/host-meta` (then host-meta.json)
    and returns the connection methods it lists; `origin` fetches from
    another place (`https://web.example.com:8443`). Blocks for at most
    `connect_timeout`. Raises `epode.Error`: TLS, TIMEOUT, IO (an HTTP error,
    a malformed document), NOT_FOUND (nothing listed), INVALID_ARG."""
    opts = options if isinstance(options, Options) else Options(options, **kwargs)
    handle = c_void_p()
    check(L.epode_host_meta_lookup(domain.encode(), c_str(origin), opts.handle, byref(handle)))
    try:
        def urls(kind: int) -> List[str]:
            count = L.epode_connection_methods_count(handle, kind)
            return [read(L.epode_connection_methods_url, handle, kind, i) for i in range(count)]

        return ConnectionMethods(websocket=urls(WEBSOCKET), bosh=urls(BOSH))
    finally:
        L.epode_connection_methods_free(handle)
