"""Connection statuses: Strophe.js's `Strophe.Status`, same numbers."""

from __future__ import annotations

import enum

from . import _lib


class Status(enum.IntEnum):
    """What a status callback is told (`epode_status`)."""

    ERROR = 0
    CONNECTING = 1
    CONNFAIL = 2
    AUTHENTICATING = 3
    AUTHFAIL = 4
    CONNECTED = 5
    DISCONNECTED = 6
    DISCONNECTING = 7
    ATTACHED = 8
    REDIRECT = 9
    CONNTIMEOUT = 10
    BINDREQUIRED = 11
    ATTACHFAIL = 12
    RECONNECTING = 13

    @property
    def c_name(self) -> str:
        """The library's name for it (`epode_status_name`), the same as `name`."""
        return str(_lib.lib.epode_status_name(int(self)).decode())
