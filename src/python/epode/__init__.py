"""epode for Python: an XMPP client (WebSocket, BOSH, shared connections)
with Strophe.js's connection model, on libepode's C ABI through ctypes.

    import epode

    with epode.Connection("ws://127.0.0.1:5280/xmpp-websocket", sync=True) as conn:
        conn.connect("alice@localhost", "secret", lambda status, condition, stanza: print(status.name))
        conn.send(epode.msg(to="bob@localhost", type="chat").c("body").t("hi"))

Failures raise `epode.Error` (`code`: an `epode.Result`, `message`: the
library's text). See `epode.connection` for threading and for what happens
to an exception raised inside a callback.
"""

from __future__ import annotations

from importlib import metadata as _metadata

from . import discovery, jid
from ._lib import path as library_path
from .builder import Builder, build, iq, msg, pres
from .connection import Connection
from .errors import Error, Result
from .incoming import StanzaQueue
from .logs import LogLevel, clear_default_log_handler, log_to_stderr, set_default_log_handler
from .options import Options
from .sasl import SaslStep
from .stanza import Stanza
from .status import Status

KEEP = True  # what a handler returns to stay registered
REMOVE = False  # … and to be removed


def library_version() -> str:
    """The version of the loaded libepode (`epode_version`)."""
    from ._lib import lib

    return str(lib.epode_version().decode())


try:
    __version__ = _metadata.version("epode")
except _metadata.PackageNotFoundError:  # imported from the source tree
    __version__ = library_version()

__all__ = [
    "Builder", "Connection", "Error", "KEEP", "LogLevel", "Options", "REMOVE", "Result", "SaslStep", "Stanza",
    "StanzaQueue", "Status", "build", "clear_default_log_handler", "discovery", "iq", "jid", "library_path", "library_version",
    "log_to_stderr", "msg", "pres", "set_default_log_handler",
]
