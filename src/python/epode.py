"""epode for Python: the C ABI of libepode through ctypes, made Pythonic.

    import epode
    with epode.Connection("ws://127.0.0.1:5280/xmpp-websocket", sync=True) as conn:
        conn.connect("alice@localhost", "secret", lambda status, cond, stanza: print(status, cond))
        conn.send("<message xmlns='jabber:client' to='bob@localhost'><body>hi</body></message>")
        conn.disconnect()

Errors are raised as epode.Error, carrying the library's code and message.
Callbacks run on the connection's engine thread (or, with sync=True, inside
the call that drives the engine); ctypes takes the GIL for them, and every
blocking call into the library releases it. The library is found through
$EPODE_LIB, then next to this file's checkout (target/release, then
target/debug), then the system's libepode.so.
"""

import ctypes
import os
from ctypes import (CFUNCTYPE, POINTER, byref, c_bool, c_char_p, c_int, c_size_t,
                    c_uint32, c_uint64, c_void_p)

STATUS_NAMES = ["ERROR", "CONNECTING", "CONNFAIL", "AUTHENTICATING", "AUTHFAIL",
                "CONNECTED", "DISCONNECTED", "DISCONNECTING", "ATTACHED", "REDIRECT",
                "CONNTIMEOUT", "BINDREQUIRED", "ATTACHFAIL", "RECONNECTING"]
globals().update({name: number for number, name in enumerate(STATUS_NAMES)})

_OK, _BUFFER_TOO_SMALL = 0, 8


def _find_library():
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [os.environ.get("EPODE_LIB")]
    for profile in ("release", "debug"):
        candidates.append(os.path.join(here, "..", "..", "target", profile, "libepode.so"))
    candidates.append("libepode.so")
    for path in candidates:
        if path and (path == "libepode.so" or os.path.exists(path)):
            try:
                return ctypes.CDLL(path)
            except OSError:
                continue
    raise OSError("libepode.so not found: build it (cargo build) or set EPODE_LIB")


_lib = _find_library()
_STATUS_CB = CFUNCTYPE(None, c_void_p, c_void_p, c_int, c_char_p, c_void_p)
_HANDLER_CB = CFUNCTYPE(c_int, c_void_p, c_void_p, c_void_p)
_IQ_CB = CFUNCTYPE(None, c_void_p, c_void_p, c_void_p)


def _declare(name, restype, *argtypes):
    fn = getattr(_lib, name)
    fn.restype, fn.argtypes = restype, list(argtypes)
    return fn


_declare("epode_version", c_char_p)
_declare("epode_result_str", c_char_p, c_int)
_declare("epode_last_error", c_size_t, c_char_p, c_size_t)
_declare("epode_string_free", None, c_void_p)
_declare("epode_options_new", c_int, POINTER(c_void_p))
_declare("epode_options_set", c_int, c_void_p, c_char_p, c_char_p)
_declare("epode_options_free", None, c_void_p)
_declare("epode_conn_new", c_int, c_char_p, c_void_p, POINTER(c_void_p))
_declare("epode_conn_free", c_int, c_void_p)
_declare("epode_conn_last_error", c_size_t, c_void_p, c_char_p, c_size_t)
_declare("epode_conn_connect", c_int, c_void_p, c_char_p, c_char_p, c_char_p, _STATUS_CB, c_void_p, c_void_p)
_declare("epode_conn_attach_shared", c_int, c_void_p, _STATUS_CB, c_void_p, c_void_p)
_declare("epode_conn_disconnect", c_int, c_void_p, c_char_p)
_declare("epode_conn_send", c_int, c_void_p, c_void_p)
_declare("epode_conn_send_raw", c_int, c_void_p, c_char_p)
_declare("epode_conn_send_iq", c_int, c_void_p, c_void_p, _IQ_CB, _IQ_CB, c_void_p, c_void_p, c_uint32, c_char_p, c_size_t)
_declare("epode_conn_add_handler", c_int, c_void_p, c_char_p, c_char_p, c_char_p, c_char_p, c_char_p, c_uint32,
         _HANDLER_CB, c_void_p, c_void_p, POINTER(c_uint64))
_declare("epode_conn_delete_handler", c_int, c_void_p, c_uint64)
_declare("epode_conn_run_once", c_int, c_void_p, c_uint32)
_declare("epode_conn_jid", c_int, c_void_p, c_char_p, c_size_t, POINTER(c_size_t))
_declare("epode_conn_sm_state", c_int, c_void_p, c_char_p, c_size_t, POINTER(c_size_t))
_declare("epode_conn_set_sm_state", c_int, c_void_p, c_char_p)
_declare("epode_conn_resumed", c_int, c_void_p, POINTER(c_bool))
_declare("epode_conn_flags", c_int, c_void_p, POINTER(c_bool), POINTER(c_bool), POINTER(c_bool), POINTER(c_bool))
_declare("epode_stanza_parse", c_int, c_char_p, POINTER(c_void_p))
_declare("epode_stanza_free", None, c_void_p)
_declare("epode_stanza_clone", c_int, c_void_p, POINTER(c_void_p))
_declare("epode_stanza_to_string", c_int, c_void_p, POINTER(c_void_p))
_declare("epode_stanza_attr", c_int, c_void_p, c_char_p, c_char_p, c_size_t, POINTER(c_size_t))
_declare("epode_stanza_name", c_int, c_void_p, c_char_p, c_size_t, POINTER(c_size_t))
_declare("epode_stanza_text", c_int, c_void_p, c_char_p, c_size_t, POINTER(c_size_t))
_declare("epode_stanza_find_child", c_int, c_void_p, c_char_p, c_char_p, POINTER(c_void_p))


class Error(Exception):
    """A failed libepode call: `code` is the epode_result name."""

    def __init__(self, code, message):
        super().__init__(f"{message} ({code})")
        self.code, self.message = code, message


def _thread_error():
    buf = ctypes.create_string_buffer(1024)
    _lib.epode_last_error(buf, len(buf))
    return buf.value.decode(errors="replace")


def _check(result, conn=None):
    if result != _OK:
        if conn:
            buf = ctypes.create_string_buffer(1024)
            _lib.epode_conn_last_error(conn, buf, len(buf))
            message = buf.value.decode(errors="replace")
        else:
            message = _thread_error()
        raise Error(_lib.epode_result_str(result).decode(), message)


def _read(fn, *args):
    """Calls a buf/cap/len getter: asks for the length, then reads."""
    need = c_size_t()
    result = fn(*args, None, 0, byref(need))
    if result != _BUFFER_TOO_SMALL:
        _check(result)
    buf = ctypes.create_string_buffer(need.value + 1)
    _check(fn(*args, buf, len(buf), byref(need)))
    return buf.value.decode()


def version():
    return _lib.epode_version().decode()


class Stanza:
    """An XML element. Stanzas handed to callbacks are copies: keep them."""

    def __init__(self, xml=None, _handle=None):
        if _handle is None:
            handle = c_void_p()
            _check(_lib.epode_stanza_parse(xml.encode(), byref(handle)))
            _handle = handle
        self._handle = _handle

    @classmethod
    def _copy_of(cls, borrowed):
        handle = c_void_p()
        _check(_lib.epode_stanza_clone(borrowed, byref(handle)))
        return cls(_handle=handle)

    def __del__(self):
        if getattr(self, "_handle", None):
            _lib.epode_stanza_free(self._handle)
            self._handle = None

    @property
    def name(self):
        return _read(_lib.epode_stanza_name, self._handle)

    @property
    def text(self):
        return _read(_lib.epode_stanza_text, self._handle)

    def get(self, attr, default=None):
        """The value of an attribute, or `default`."""
        try:
            return _read(_lib.epode_stanza_attr, self._handle, attr.encode())
        except Error as e:
            if e.code == "EPODE_ERR_NOT_FOUND":
                return default
            raise

    def find(self, name, ns=None):
        """The first child named `name` (in namespace `ns`), or None."""
        child = c_void_p()
        result = _lib.epode_stanza_find_child(self._handle, name.encode(), ns.encode() if ns else None, byref(child))
        if result != _OK:
            return None
        return Stanza._copy_of(child)

    def __str__(self):
        out = c_void_p()
        _check(_lib.epode_stanza_to_string(self._handle, byref(out)))
        try:
            return ctypes.string_at(out).decode()
        finally:
            _lib.epode_string_free(out)

    def __repr__(self):
        return f"Stanza({str(self)!r})"


class Connection:
    """Strophe's Connection. `options` are Strophe's option names."""

    def __init__(self, service, **options):
        opts = c_void_p()
        _check(_lib.epode_options_new(byref(opts)))
        try:
            for key, value in options.items():
                if isinstance(value, bool):
                    value = "true" if value else "false"
                values = value if isinstance(value, (list, tuple)) else [value]
                for v in values:
                    _check(_lib.epode_options_set(opts, key.encode(), str(v).encode()))
            handle = c_void_p()
            _check(_lib.epode_conn_new(service.encode(), opts, byref(handle)))
        finally:
            _lib.epode_options_free(opts)
        self._handle = handle
        self._keep = []  # ctypes callbacks must outlive the library's use of them

    def close(self):
        """Frees the connection (no goodbye: disconnect() first for that)."""
        if self._handle:
            _check(_lib.epode_conn_free(self._handle))
            self._handle = None
            self._keep.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _call(self, result):
        _check(result, self._handle)

    def connect(self, jid, password=None, callback=None, authcid=None):
        """Logs in; `callback(status, condition, stanza)` gets every status."""
        cb = self._status_callback(callback)
        self._call(_lib.epode_conn_connect(self._handle, jid.encode(), password.encode() if password else None,
                                           authcid.encode() if authcid else None, cb, None, None))

    def attach_shared(self, callback=None):
        """Joins the session of this connection's `worker`: ATTACHED or ATTACHFAIL."""
        self._call(_lib.epode_conn_attach_shared(self._handle, self._status_callback(callback), None, None))

    def _status_callback(self, callback):
        """A C status callback calling `callback(status, condition, stanza)`, kept alive."""
        def on_status(_ud, _conn, status, condition, stanza):
            if callback:
                callback(status, condition.decode() if condition else None,
                         Stanza._copy_of(stanza) if stanza else None)
        cb = _STATUS_CB(on_status)
        self._keep.append(cb)
        return cb

    def disconnect(self, reason=None):
        self._call(_lib.epode_conn_disconnect(self._handle, reason.encode() if reason else None))

    def send(self, stanza):
        """Sends a Stanza or raw XML text (refused whole if malformed or not
        allowed in XMPP: comments, PIs, CDATA, an XML declaration...)."""
        if isinstance(stanza, Stanza):
            self._call(_lib.epode_conn_send(self._handle, stanza._handle))
        else:
            self._call(_lib.epode_conn_send_raw(self._handle, str(stanza).encode()))

    def send_iq(self, iq, on_result=None, on_error=None, timeout_ms=0):
        """Strophe's sendIQ; callbacks get a Stanza, or None on timeout."""
        iq = iq if isinstance(iq, Stanza) else Stanza(str(iq))

        def wrap(fn):
            def call(_ud, _conn, stanza):
                if fn:
                    fn(Stanza._copy_of(stanza) if stanza else None)
            return _IQ_CB(call)
        ok, err = wrap(on_result), wrap(on_error)
        self._keep += [ok, err]
        buf = ctypes.create_string_buffer(128)
        self._call(_lib.epode_conn_send_iq(self._handle, iq._handle, ok, err, None, None, timeout_ms, buf, len(buf)))
        return buf.value.decode()

    def add_handler(self, callback, ns=None, name=None, type=None, id=None, sender=None):
        """Strophe's addHandler: `callback(stanza)` returns True to stay."""
        def on_stanza(_ud, _conn, stanza):
            return 1 if callback(Stanza._copy_of(stanza)) else 0
        cb = _HANDLER_CB(on_stanza)
        self._keep.append(cb)
        enc = lambda s: s.encode() if s else None
        out = c_uint64()
        self._call(_lib.epode_conn_add_handler(self._handle, enc(ns), enc(name), enc(type), enc(id), enc(sender), 0,
                                               cb, None, None, byref(out)))
        return out.value

    def delete_handler(self, handler_id):
        self._call(_lib.epode_conn_delete_handler(self._handle, handler_id))

    def run_once(self, timeout_ms=100):
        """sync mode: drives the engine on this thread for at most timeout_ms."""
        self._call(_lib.epode_conn_run_once(self._handle, timeout_ms))

    @property
    def jid(self):
        return _read(_lib.epode_conn_jid, self._handle)

    @property
    def resumed(self):
        """Whether the session came back by XEP-0198 resumption."""
        flag = c_bool()
        self._call(_lib.epode_conn_resumed(self._handle, byref(flag)))
        return flag.value

    def sm_state(self):
        """The state of a resumable session as text, or None."""
        try:
            return _read(_lib.epode_conn_sm_state, self._handle)
        except Error as e:
            if e.code == "EPODE_ERR_NOT_FOUND":
                return None
            raise

    def set_sm_state(self, state):
        """Before connect(): resume the session `state` describes."""
        self._call(_lib.epode_conn_set_sm_state(self._handle, state.encode()))

    @property
    def authenticated(self):
        flag = c_bool()
        self._call(_lib.epode_conn_flags(self._handle, byref(flag), None, None, None))
        return flag.value
