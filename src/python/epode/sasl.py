"""Custom SASL mechanisms written in Python (`Connection.register_mechanism`)."""

from __future__ import annotations

import ctypes
import enum
from typing import Any, Callable, Optional, Tuple

from . import _callbacks, _lib
from .errors import Result

L = _lib.lib


class SaslStep(enum.IntEnum):
    """Where the mechanism is in the exchange (`epode_sasl_step`)."""

    START = 0  # the initial response of a client-first mechanism; no input
    CHALLENGE = 1  # a challenge from the server: answer it
    SUCCESS = 2  # the server's <success/> with its additional data: raise to refuse it


# `mechanism(step, data)` returns the response bytes (None: no response).
# Raising fails the authentication (AUTHFAIL); the exception is kept like
# any callback's (it is re-raised from the call that drives the engine).
Mechanism = Callable[[SaslStep, bytes], Optional[bytes]]


def thunk(mechanism: Mechanism, failures: _callbacks.Failures) -> Tuple[Any, int]:
    """A C SASL callback running `mechanism`, registered (see _callbacks)."""

    def step(step: int, data: bytes, out: Any) -> int:
        response = mechanism(SaslStep(step), data)
        if response is not None:
            raw = bytes(response)
            buf = (ctypes.c_uint8 * len(raw)).from_buffer_copy(raw) if raw else None
            return int(L.epode_sasl_out_set(out, buf, len(raw)))
        return int(Result.OK)

    def on_step(_ud: Any, step_number: int, data: Any, length: int, out: Any) -> int:
        payload = ctypes.string_at(data, length) if length else b""
        return failures.guard("SASL mechanism", step, int(Result.OTHER), step_number, payload, out)

    return _callbacks.register(_lib.SASL_CB, on_step)
