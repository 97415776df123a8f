"""JID helpers (RFC 7622 shapes, XEP-0106 escaping), as Strophe's
`getNodeFromJid`, `getBareJidFromJid`, `escapeNode` …, and comparison the
way XMPP compares addresses: `normalize`, `equal`, `bare_equal`.

The parts that a JID may lack (`node`, `resource`) are None when absent;
an invalid JID raises `epode.Error` with code `INVALID_JID`.
"""

from __future__ import annotations

import ctypes
from typing import Any, Optional

from . import _lib
from ._text import read
from .errors import Error, Result, check

L = _lib.lib


def _optional(fn: Any, jid: str) -> Optional[str]:
    try:
        return read(fn, jid.encode())
    except Error as e:
        if e.code is Result.NOT_FOUND:
            return None
        raise


def node(jid: str) -> Optional[str]:
    """The local part (`alice` of `alice@example.com/phone`), or None."""
    return _optional(L.epode_jid_node, jid)


def domain(jid: str) -> str:
    """The domain (`example.com`)."""
    return read(L.epode_jid_domain, jid.encode())


def resource(jid: str) -> Optional[str]:
    """The resource (`phone`), or None."""
    return _optional(L.epode_jid_resource, jid)


def bare(jid: str) -> str:
    """The bare JID (`alice@example.com`)."""
    return read(L.epode_jid_bare, jid.encode())


def escape_node(local: str) -> str:
    """XEP-0106 escaping of a local part (`d'artagnan` → `d\\27artagnan`)."""
    return read(L.epode_jid_escape_node, local.encode())


def unescape_node(local: str) -> str:
    """XEP-0106 unescaping (`d\\27artagnan` → `d'artagnan`)."""
    return read(L.epode_jid_unescape_node, local.encode())


def validate(jid: str) -> None:
    """Raises `epode.Error` (code INVALID_JID, the reason as message) unless
    `jid` is a valid JID."""
    check(L.epode_jid_validate(jid.encode()))


def is_valid(jid: str) -> bool:
    """Whether `jid` is a valid JID."""
    return bool(L.epode_jid_validate(jid.encode()) == _lib.OK)


def normalize(jid: str) -> str:
    """The RFC 7622 form of `jid` (`Alice@LocalHost/Phone` →
    `alice@localhost/Phone`): the node case-mapped (PRECIS
    UsernameCaseMapped), the domain by UTS-46, the resource kept as
    written (OpaqueString)."""
    return read(L.epode_jid_normalize, jid.encode())


def _compare(fn: Any, a: str, b: str) -> bool:
    out = ctypes.c_bool(False)
    check(fn(a.encode(), b.encode(), ctypes.byref(out)))
    return bool(out.value)


def equal(a: str, b: str) -> bool:
    """Whether `a` and `b` are the same address once normalised."""
    return _compare(L.epode_jid_equal, a, b)


def bare_equal(a: str, b: str) -> bool:
    """Whether `a` and `b` are the same account (bare JIDs, normalised)."""
    return _compare(L.epode_jid_bare_equal, a, b)
