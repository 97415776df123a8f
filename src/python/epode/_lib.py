"""Loads libepode and declares the prototype of every C function it exports
(include/epode.h is the source of truth).

The library is, in order: the file named by $EPODE_LIB (an override, for
testing a debug build), else the one bundled inside this package (what
`pip install` puts there), else the system's libepode.so.0.
"""

from __future__ import annotations

import ctypes
import os
import pathlib
from ctypes import CFUNCTYPE, POINTER, c_bool, c_char_p, c_int, c_int64, c_size_t, c_uint8, c_uint32, c_uint64, c_void_p
from typing import Any, Callable, List, Optional, Tuple

HERE = pathlib.Path(__file__).resolve().parent


def _bundled() -> Optional[pathlib.Path]:
    """The library the build backend copied into the package, if any (its
    name carries the wheel's ABI tag, e.g. libepode.abi3.so)."""
    for candidate in sorted(HERE.glob("libepode*.so")):
        return candidate
    return None


def _locate() -> Tuple[str, str]:
    """The library's path and where the choice came from."""
    override = os.environ.get("EPODE_LIB")
    if override:
        return override, "$EPODE_LIB"
    bundled = _bundled()
    if bundled is not None:
        return str(bundled), "bundled"
    return "libepode.so.0", "system"


path, origin = _locate()
try:
    lib: Any = ctypes.CDLL(path)
except OSError as e:
    raise ImportError(
        f"epode: cannot load libepode ({origin}: {path}): {e}. "
        "Install the package with pip (it bundles the library) or set EPODE_LIB."
    ) from e

# Opaque handles travel as void pointers.
CONN = c_void_p
STANZA = c_void_p
BUILDER = c_void_p
OPTIONS = c_void_p
SASL_OUT = c_void_p
METHODS = c_void_p  # epode_connection_methods
ATTRS = POINTER(c_char_p)  # NULL-terminated name, value, … array
OUT_LEN = POINTER(c_size_t)

FREE_CB = CFUNCTYPE(None, c_void_p)
STATUS_CB = CFUNCTYPE(None, c_void_p, CONN, c_int, c_char_p, STANZA)
IQ_CB = CFUNCTYPE(None, c_void_p, CONN, STANZA)
HANDLER_CB = CFUNCTYPE(c_int, c_void_p, CONN, STANZA)
TIMED_CB = CFUNCTYPE(c_int, c_void_p, CONN)
PROTOCOL_ERROR_CB = CFUNCTYPE(None, c_void_p, CONN, c_int)
TEXT_CB = CFUNCTYPE(None, c_void_p, CONN, c_char_p)
XML_CB = CFUNCTYPE(None, c_void_p, CONN, STANZA)
LOG_CB = CFUNCTYPE(None, c_void_p, CONN, c_int, c_char_p)
SASL_CB = CFUNCTYPE(c_int, c_void_p, c_int, POINTER(c_uint8), c_size_t, SASL_OUT)

R = c_int  # epode_result

_PROTOTYPES: List[Tuple[str, Any, List[Any]]] = [
    # builder
    ("epode_builder_new", R, [c_char_p, ATTRS, POINTER(BUILDER)]),
    ("epode_builder_msg", R, [ATTRS, POINTER(BUILDER)]),
    ("epode_builder_iq", R, [ATTRS, POINTER(BUILDER)]),
    ("epode_builder_pres", R, [ATTRS, POINTER(BUILDER)]),
    ("epode_builder_c", R, [BUILDER, c_char_p, ATTRS, c_char_p]),
    ("epode_builder_cnode", R, [BUILDER, STANZA]),
    ("epode_builder_t", R, [BUILDER, c_char_p]),
    ("epode_builder_attrs", R, [BUILDER, ATTRS]),
    ("epode_builder_up", R, [BUILDER]),
    ("epode_builder_to_string", R, [BUILDER, POINTER(c_void_p)]),
    ("epode_builder_finish", R, [BUILDER, POINTER(STANZA)]),
    ("epode_builder_free", None, [BUILDER]),
    # connection: life, login, sending
    ("epode_conn_new", R, [c_char_p, OPTIONS, POINTER(CONN)]),
    ("epode_conn_free", R, [CONN]),
    ("epode_conn_last_error", c_size_t, [CONN, c_char_p, c_size_t]),
    ("epode_conn_connect", R, [CONN, c_char_p, c_char_p, c_char_p, STATUS_CB, c_void_p, FREE_CB]),
    ("epode_conn_attach", R, [CONN, c_char_p, c_char_p, c_uint64, STATUS_CB, c_void_p, FREE_CB]),
    ("epode_conn_attach_shared", R, [CONN, STATUS_CB, c_void_p, FREE_CB]),
    ("epode_conn_restore", R, [CONN, c_char_p, STATUS_CB, c_void_p, FREE_CB]),
    ("epode_conn_disconnect", R, [CONN, c_char_p]),
    ("epode_conn_send", R, [CONN, STANZA]),
    ("epode_conn_send_raw", R, [CONN, c_char_p]),
    ("epode_conn_send_iq", R, [CONN, STANZA, IQ_CB, IQ_CB, c_void_p, FREE_CB, c_uint32, c_char_p, c_size_t]),
    ("epode_conn_send_presence", R, [CONN, STANZA, IQ_CB, IQ_CB, c_void_p, FREE_CB, c_uint32, c_char_p, c_size_t]),
    # connection: handlers and hooks
    ("epode_conn_add_handler", R, [CONN, c_char_p, c_char_p, c_char_p, c_char_p, c_char_p, c_uint32,
                                   HANDLER_CB, c_void_p, FREE_CB, POINTER(c_uint64)]),
    ("epode_conn_delete_handler", R, [CONN, c_uint64]),
    ("epode_conn_add_timed_handler", R, [CONN, c_uint32, TIMED_CB, c_void_p, FREE_CB, POINTER(c_uint64)]),
    ("epode_conn_delete_timed_handler", R, [CONN, c_uint64]),
    ("epode_conn_add_protocol_error_handler", R, [CONN, c_char_p, c_int, PROTOCOL_ERROR_CB, c_void_p, FREE_CB]),
    ("epode_conn_set_raw_input", R, [CONN, TEXT_CB, c_void_p, FREE_CB]),
    ("epode_conn_set_raw_output", R, [CONN, TEXT_CB, c_void_p, FREE_CB]),
    ("epode_conn_set_xml_input", R, [CONN, XML_CB, c_void_p, FREE_CB]),
    ("epode_conn_set_xml_output", R, [CONN, XML_CB, c_void_p, FREE_CB]),
    ("epode_conn_set_unacked_handler", R, [CONN, XML_CB, c_void_p, FREE_CB]),
    # connection: flow
    ("epode_conn_bind", R, [CONN]),
    ("epode_conn_pause", R, [CONN]),
    ("epode_conn_resume", R, [CONN]),
    ("epode_conn_flush", R, [CONN]),
    ("epode_conn_set_sync", R, [CONN, c_bool]),
    ("epode_conn_run_once", R, [CONN, c_uint32]),
    ("epode_conn_poll_fd", R, [CONN, POINTER(c_int)]),
    ("epode_conn_next_timeout", R, [CONN, POINTER(c_int64)]),
    # connection: getters
    ("epode_conn_jid", R, [CONN, c_char_p, c_size_t, OUT_LEN]),
    ("epode_conn_authzid", R, [CONN, c_char_p, c_size_t, OUT_LEN]),
    ("epode_conn_domain", R, [CONN, c_char_p, c_size_t, OUT_LEN]),
    ("epode_conn_service", R, [CONN, c_char_p, c_size_t, OUT_LEN]),
    ("epode_conn_option", R, [CONN, c_char_p, c_char_p, c_size_t, OUT_LEN]),
    ("epode_conn_flags", R, [CONN, POINTER(c_bool), POINTER(c_bool), POINTER(c_bool), POINTER(c_bool)]),
    ("epode_conn_status", R, [CONN, POINTER(c_int)]),
    ("epode_conn_max_retries", R, [CONN, POINTER(c_uint32)]),
    ("epode_conn_disconnection_timeout", R, [CONN, POINTER(c_uint64)]),
    # connection: stream management
    ("epode_conn_resumed", R, [CONN, POINTER(c_bool)]),
    ("epode_conn_sm_state", R, [CONN, c_char_p, c_size_t, OUT_LEN]),
    ("epode_conn_set_sm_state", R, [CONN, c_char_p]),
    # connection: SASL and logs
    ("epode_conn_register_mechanism", R, [CONN, c_char_p, c_int, c_bool, SASL_CB, c_void_p, FREE_CB]),
    ("epode_sasl_out_set", R, [SASL_OUT, POINTER(c_uint8), c_size_t]),
    ("epode_conn_set_log_handler", R, [CONN, c_int, LOG_CB, c_void_p, FREE_CB]),
    ("epode_set_default_log_handler", R, [c_int, LOG_CB, c_void_p, FREE_CB]),
    ("epode_log_stderr", None, [c_void_p, CONN, c_int, c_char_p]),
    ("epode_log_level_name", c_char_p, [c_int]),
    # options
    ("epode_options_new", R, [POINTER(OPTIONS)]),
    ("epode_options_set", R, [OPTIONS, c_char_p, c_char_p]),
    ("epode_options_get", R, [OPTIONS, c_char_p, c_char_p, c_size_t, OUT_LEN]),
    ("epode_options_free", None, [OPTIONS]),
    # stanzas
    ("epode_stanza_parse", R, [c_char_p, POINTER(STANZA)]),
    ("epode_stanza_new", R, [c_char_p, POINTER(STANZA)]),
    ("epode_stanza_clone", R, [STANZA, POINTER(STANZA)]),
    ("epode_stanza_free", None, [STANZA]),
    ("epode_stanza_name", R, [STANZA, c_char_p, c_size_t, OUT_LEN]),
    ("epode_stanza_attr", R, [STANZA, c_char_p, c_char_p, c_size_t, OUT_LEN]),
    ("epode_stanza_attr_count", R, [STANZA, POINTER(c_size_t)]),
    ("epode_stanza_attr_name_at", R, [STANZA, c_size_t, c_char_p, c_size_t, OUT_LEN]),
    ("epode_stanza_set_attr", R, [STANZA, c_char_p, c_char_p]),
    ("epode_stanza_text", R, [STANZA, c_char_p, c_size_t, OUT_LEN]),
    ("epode_stanza_append_text", R, [STANZA, c_char_p]),
    ("epode_stanza_append_child", R, [STANZA, STANZA]),
    ("epode_stanza_child_count", R, [STANZA, POINTER(c_size_t)]),
    ("epode_stanza_child", R, [STANZA, c_size_t, POINTER(STANZA)]),
    ("epode_stanza_find_child", R, [STANZA, c_char_p, c_char_p, POINTER(STANZA)]),
    ("epode_stanza_to_string", R, [STANZA, POINTER(c_void_p)]),
    # JIDs
    ("epode_jid_node", R, [c_char_p, c_char_p, c_size_t, OUT_LEN]),
    ("epode_jid_domain", R, [c_char_p, c_char_p, c_size_t, OUT_LEN]),
    ("epode_jid_resource", R, [c_char_p, c_char_p, c_size_t, OUT_LEN]),
    ("epode_jid_bare", R, [c_char_p, c_char_p, c_size_t, OUT_LEN]),
    ("epode_jid_escape_node", R, [c_char_p, c_char_p, c_size_t, OUT_LEN]),
    ("epode_jid_unescape_node", R, [c_char_p, c_char_p, c_size_t, OUT_LEN]),
    ("epode_jid_validate", R, [c_char_p]),
    ("epode_jid_normalize", R, [c_char_p, c_char_p, c_size_t, OUT_LEN]),
    ("epode_jid_equal", R, [c_char_p, c_char_p, POINTER(c_bool)]),
    ("epode_jid_bare_equal", R, [c_char_p, c_char_p, POINTER(c_bool)]),
    # XEP-0156 discovery
    ("epode_host_meta_lookup", R, [c_char_p, c_char_p, OPTIONS, POINTER(METHODS)]),
    ("epode_connection_methods_count", c_size_t, [METHODS, c_int]),
    ("epode_connection_methods_url", R, [METHODS, c_int, c_size_t, c_char_p, c_size_t, OUT_LEN]),
    ("epode_connection_methods_free", None, [METHODS]),
    # the library
    ("epode_last_error", c_size_t, [c_char_p, c_size_t]),
    ("epode_string_free", None, [c_void_p]),
    ("epode_result_str", c_char_p, [c_int]),
    ("epode_status_name", c_char_p, [c_int]),
    ("epode_version", c_char_p, []),
]

for _name, _restype, _argtypes in _PROTOTYPES:
    _fn = getattr(lib, _name)
    _fn.restype, _fn.argtypes = _restype, _argtypes

DECLARED = frozenset(name for name, _, _ in _PROTOTYPES)

# Constants of epode.h.
HANDLER_KEEP = 1
HANDLER_REMOVE = 0
MATCH_BARE_FROM = 1
IGNORE_NS_FRAGMENT = 2
OK = 0
ERR_BUFFER_TOO_SMALL = 8
ERR_NOT_FOUND = 7

# The C log handler that writes to stderr, as a function pointer to pass on.
log_stderr: Callable[..., None] = ctypes.cast(lib.epode_log_stderr, LOG_CB)
