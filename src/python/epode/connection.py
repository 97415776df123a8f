"""Strophe's Connection over libepode.

Callbacks run on the connection's engine thread, or with `sync=True` on
the thread inside the call that drives the engine (`connect`, `send`,
`flush`, `disconnect`, `bind`, `run_once`, …). Every blocking call
releases the GIL. An exception raised by a callback is logged on the
"epode" logger and raised again from the next call that drives the engine
(or from `raise_callback_errors()`, or at the end of a `with` block); a
handler that raises is removed, as in Strophe.

Times are in seconds (floats); option values keep the units of their
Strophe or epode names.
"""

from __future__ import annotations

import atexit
import ctypes
import time
import weakref
from ctypes import byref, c_bool, c_int, c_int64, c_uint32, c_uint64, c_void_p
from typing import Any, Callable, Iterable, Mapping, Optional, Union

from . import _callbacks, _lib, logs, sasl
from ._text import c_str, read
from .builder import Builder
from .errors import Error, Result, check
from .incoming import StanzaQueue
from .options import Options, OptionValue
from .stanza import Stanza
from .status import Status

L = _lib.lib

StatusCallback = Callable[[Status, Optional[str], Optional[Stanza]], Any]
StanzaHandler = Callable[[Stanza], Any]  # a true result keeps the handler
IqCallback = Callable[[Optional[Stanza]], Any]  # None: timed out or session ended
TimedHandler = Callable[[], Any]  # a true result keeps the handler
ProtocolErrorHandler = Callable[[int], Any]
TextHook = Callable[[str], Any]
XmlHook = Callable[[Stanza], Any]
Sendable = Union[Stanza, Builder, str]

_MAX_MS = 2**32 - 1


def millis(seconds: Optional[float], what: str) -> int:
    """Seconds as the library's milliseconds (None: 0, "none")."""
    if seconds is None:
        return 0
    ms = round(seconds * 1000)
    if not 0 <= ms <= _MAX_MS:
        raise ValueError(f"{what} must be between 0 and {_MAX_MS / 1000} seconds")
    return ms


def _stanza_or_none(borrowed: Any) -> Optional[Stanza]:
    return Stanza._copy_of(borrowed) if borrowed else None


def _type_list(types: Iterable[str]) -> str:
    """A handler's types as the C call takes them: comma-separated, where an
    empty entry is a stanza without a type. `[""]` alone becomes `","`, as
    `""` alone would mean any type."""
    listed = list(types)
    return "," if listed == [""] else ",".join(listed)


def _keep(result: Any) -> int:
    return _lib.HANDLER_KEEP if result else _lib.HANDLER_REMOVE


_open: "weakref.WeakSet[Connection]" = weakref.WeakSet()


@atexit.register
def _free_at_exit() -> None:
    """No engine thread may call into Python once the interpreter shuts down."""
    for conn in list(_open):
        try:
            conn.close()
        except Error:
            pass


class Connection:
    """A connection to `service` (ws://, wss://, http://, https://, or a path
    with the `origin` option). Options as an `Options`, a mapping, or
    keyword arguments with their Strophe names: `Connection(url, sync=True)`.

    As a context manager it disconnects cleanly (waiting for the server's
    answer, at most `disconnection_timeout`) and then frees the connection.
    """

    def __init__(self, service: str, options: Union[Options, Mapping[str, OptionValue], None] = None,
                 **kwargs: OptionValue) -> None:
        self._handle: Optional[int] = None
        if isinstance(options, Options):
            if kwargs:
                raise TypeError("give options either as an Options or as keyword arguments")
            opts = options
        else:
            opts = Options(options, **kwargs)
        handle = c_void_p()
        check(L.epode_conn_new(service.encode(), opts.handle, byref(handle)))
        self._handle = handle.value
        self._failures = _callbacks.Failures()
        self._queues: "weakref.WeakSet[StanzaQueue]" = weakref.WeakSet()
        _open.add(self)

    # Life

    @property
    def handle(self) -> int:
        """The `epode_conn *`, for calls into the C ABI; owned by this object."""
        if not self._handle:
            raise ValueError("this connection is closed")
        return self._handle

    def close(self) -> None:
        """Frees the connection at once, without a goodbye (leaving a `with`
        block says goodbye first). Closing twice does nothing."""
        if self._handle:
            check(L.epode_conn_free(self._handle))  # WOULD_DEADLOCK inside a callback: nothing freed
            self._handle = None
            _open.discard(self)
            for queue in list(self._queues):
                queue._end()

    @property
    def closed(self) -> bool:
        return not self._handle

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            self._goodbye()
        except BaseException:
            if exc_type is None:
                raise
            _callbacks.logger.exception("while disconnecting at the end of a with block")
        finally:
            self.close()
        if exc_type is None:
            self.raise_callback_errors()

    def _goodbye(self) -> None:
        """A clean disconnect that returns once it is over: the engine is
        taken onto this thread (sync) so that `disconnect` waits, or, when
        one is under way already, is driven until it ends."""
        if not self._handle or not (self.connected or self.disconnecting):
            return
        self.set_sync(True)
        if not self.disconnecting:
            self.disconnect()
        deadline = time.monotonic() + self.disconnection_timeout + 1
        while self.connected and time.monotonic() < deadline:
            self.run_once(0.05)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # freed from its own callback: the engine keeps it
            pass

    def __repr__(self) -> str:
        if not self._handle:
            return "<epode.Connection closed>"
        status = self.status
        return f"<epode.Connection {self.service} {status.name if status is not None else 'new'} {self.jid}>"

    # Calls

    def _call(self, result: int) -> None:
        check(result, self._handle)

    def _drive(self, result: int) -> None:
        """Checks a call that may have run callbacks here, then raises what they raised."""
        self._call(result)
        self.raise_callback_errors()

    def raise_callback_errors(self) -> None:
        """Raises the oldest exception a callback raised since the last such
        raise, if any (the others wait for the next call)."""
        self._failures.raise_first()
        logs.process_failures.raise_first()

    def _status_thunk(self, callback: Optional[StatusCallback]) -> Any:
        failures, queues = self._failures, self._queues

        def on_status(_ud: Any, _conn: Any, status: int, condition: Optional[bytes], stanza: Any) -> None:
            if status == Status.DISCONNECTED:
                for queue in list(queues):
                    queue._end()
            if callback is not None:
                failures.guard("status", lambda: callback(Status(status), condition.decode() if condition else None,
                                                          _stanza_or_none(stanza)), None)

        return _callbacks.register(_lib.STATUS_CB, on_status)

    # Sessions

    def connect(self, jid: str, password: Optional[str] = None, callback: Optional[StatusCallback] = None,
                *, authcid: Optional[str] = None) -> None:
        """Logs in (Strophe's `connect`); `callback(status, condition, stanza)`
        hears every status. In sync mode it returns when the session is up
        or has failed."""
        cb, key = self._status_thunk(callback)
        self._drive(L.epode_conn_connect(self.handle, jid.encode(), c_str(password), c_str(authcid),
                                         cb, key, _callbacks.RELEASE))

    def attach(self, jid: str, sid: str, rid: int, callback: Optional[StatusCallback] = None) -> None:
        """Joins a BOSH session someone else created (prebinding); `rid` is
        the next rid to use. ATTACHED, or ATTACHFAIL when it is gone."""
        cb, key = self._status_thunk(callback)
        self._drive(L.epode_conn_attach(self.handle, jid.encode(), sid.encode(), rid, cb, key, _callbacks.RELEASE))

    def attach_shared(self, callback: Optional[StatusCallback] = None) -> None:
        """Joins the session of this connection's `worker`: ATTACHED (the JID
        is then readable), or ATTACHFAIL when no session is up."""
        cb, key = self._status_thunk(callback)
        self._drive(L.epode_conn_attach_shared(self.handle, cb, key, _callbacks.RELEASE))

    def restore(self, jid: Optional[str] = None, callback: Optional[StatusCallback] = None) -> None:
        """Attaches to the session the `keepalive` option kept; without one
        raises `epode.Error` with code NO_SESSION (then `connect`)."""
        cb, key = self._status_thunk(callback)
        self._drive(L.epode_conn_restore(self.handle, c_str(jid), cb, key, _callbacks.RELEASE))

    def bind(self) -> None:
        """Binds the resource after BINDREQUIRED (`explicitResourceBinding`)."""
        self._drive(L.epode_conn_bind(self.handle))

    def disconnect(self, reason: Optional[str] = None) -> None:
        """Starts a graceful disconnect (in sync mode: returns when
        DISCONNECTED). Once the connection is disconnecting or has no
        session any more, another call does nothing."""
        if self._handle and self._ended():
            return
        self._drive(L.epode_conn_disconnect(self.handle, c_str(reason)))

    def _ended(self) -> bool:
        """Whether a disconnect has nothing left to do: one is under way, or
        the session it would end is over."""
        status = self.status
        return self.disconnecting or (status is not None and not self.connected
                                      and status in (Status.DISCONNECTED, Status.DISCONNECTING))

    # Sending

    def _element(self, stanza: Sendable) -> Stanza:
        """`stanza` as an element to send. (A message, presence or iq
        without a namespace gets jabber:client from the library, as $msg,
        $pres and $iq give; the caller's stanza is not changed.)"""
        if isinstance(stanza, Builder):
            return stanza.tree()
        return stanza if isinstance(stanza, Stanza) else Stanza(stanza)

    def send(self, stanza: Sendable) -> None:
        """Sends a Stanza, a Builder's stanza or XML text (refused whole,
        with MALFORMED_XML, if it is not one well-formed element that XMPP
        allows)."""
        element = self._element(stanza)  # alive until the call returns
        self._drive(L.epode_conn_send(self.handle, element.handle))

    def send_raw(self, xml: str) -> None:
        """Sends XML text exactly as written; a message, presence or iq
        without a namespace gets jabber:client (and is then sent as the
        library serializes it)."""
        self._drive(L.epode_conn_send_raw(self.handle, xml.encode()))

    def _send_tracked(self, fn: Any, stanza: Sendable, on_result: Optional[IqCallback],
                      on_error: Optional[IqCallback], timeout: Optional[float]) -> str:
        failures = self._failures

        def thunk(callback: Optional[IqCallback], what: str) -> Any:
            if callback is None:
                return _lib.IQ_CB()  # NULL
            return _lib.IQ_CB(lambda _ud, _conn, answer: failures.guard(
                what, lambda: callback(_stanza_or_none(answer)), None))

        ok, err = thunk(on_result, "result"), thunk(on_error, "error")
        key = _callbacks.keep(ok, err)
        element = self._element(stanza)
        buf = ctypes.create_string_buffer(256)
        self._drive(fn(self.handle, element.handle, ok, err, key, _callbacks.RELEASE,
                       millis(timeout, "timeout"), buf, len(buf)))
        return buf.value.decode()

    def send_iq(self, iq: Sendable, on_result: Optional[IqCallback] = None, on_error: Optional[IqCallback] = None,
                timeout: Optional[float] = None) -> str:
        """Strophe's `sendIQ`: sends `iq` (an id is added when missing) and
        calls `on_result` or `on_error` once with the answer; `on_error` gets
        None after `timeout` seconds or when the session ends. Returns the id."""
        return self._send_tracked(L.epode_conn_send_iq, iq, on_result, on_error, timeout)

    def send_presence(self, presence: Sendable, on_result: Optional[IqCallback] = None,
                      on_error: Optional[IqCallback] = None, timeout: Optional[float] = None) -> str:
        """Strophe's `sendPresence`: as `send_iq`, for a presence."""
        return self._send_tracked(L.epode_conn_send_presence, presence, on_result, on_error, timeout)

    def pause(self) -> None:
        """Holds outgoing stanzas until `resume()` (Strophe's `pause`)."""
        self._call(L.epode_conn_pause(self.handle))

    def resume(self) -> None:
        """Sends what `pause()` held."""
        self._drive(L.epode_conn_resume(self.handle))

    def flush(self) -> None:
        """Writes everything queued now (in sync mode: returns when written)."""
        self._drive(L.epode_conn_flush(self.handle))

    # Handlers and hooks

    def add_handler(self, callback: StanzaHandler, *, ns: Optional[str] = None, name: Optional[str] = None,
                    type: Union[str, Iterable[str], None] = None, id: Optional[str] = None,
                    from_: Optional[str] = None, match_bare_from: bool = False,
                    ignore_ns_fragment: bool = False) -> int:
        """Strophe's `addHandler`: `callback(stanza)` for each stanza that
        matches every filter given (`ns` at any depth, one `type` or
        several, `from_` by full JID or, with `match_bare_from`, bare JID).
        It stays while it returns a true value. Returns the handler's id."""
        failures = self._failures
        types = type if type is None or isinstance(type, str) else _type_list(type)
        flags = (_lib.MATCH_BARE_FROM if match_bare_from else 0) | (_lib.IGNORE_NS_FRAGMENT if ignore_ns_fragment else 0)

        def on_stanza(_ud: Any, _conn: Any, stanza: Any) -> int:
            return failures.guard("handler", lambda: _keep(callback(Stanza._copy_of(stanza))), _lib.HANDLER_REMOVE)

        cb, key = _callbacks.register(_lib.HANDLER_CB, on_stanza)
        out = c_uint64()
        self._call(L.epode_conn_add_handler(self.handle, c_str(ns), c_str(name), c_str(types), c_str(id),
                                            c_str(from_), flags, cb, key, _callbacks.RELEASE, byref(out)))
        return out.value

    def delete_handler(self, handler_id: int) -> None:
        """Removes a handler by id (an unknown id is ignored)."""
        self._call(L.epode_conn_delete_handler(self.handle, handler_id))

    def add_timed_handler(self, period: float, callback: TimedHandler) -> int:
        """Strophe's `addTimedHandler`: `callback()` every `period` seconds
        while the session is up, while it returns a true value."""
        failures = self._failures
        cb, key = _callbacks.register(_lib.TIMED_CB, lambda _ud, _conn: failures.guard(
            "timed handler", lambda: _keep(callback()), _lib.HANDLER_REMOVE))
        out = c_uint64()
        self._call(L.epode_conn_add_timed_handler(self.handle, millis(period, "period"), cb, key,
                                                  _callbacks.RELEASE, byref(out)))
        return out.value

    def delete_timed_handler(self, handler_id: int) -> None:
        """Removes a timed handler by id."""
        self._call(L.epode_conn_delete_timed_handler(self.handle, handler_id))

    def add_protocol_error_handler(self, protocol: str, code: int, callback: ProtocolErrorHandler) -> None:
        """Strophe's `addProtocolErrorHandler`: `callback(code)` when the
        "websocket" close code or "HTTP" status `code` ends a request."""
        failures = self._failures
        cb, key = _callbacks.register(_lib.PROTOCOL_ERROR_CB, lambda _ud, _conn, got: failures.guard(
            "protocol error", lambda: callback(got), None))
        self._call(L.epode_conn_add_protocol_error_handler(self.handle, protocol.encode(), code, cb, key,
                                                           _callbacks.RELEASE))

    def _set_text_hook(self, setter: Any, what: str, hook: Optional[TextHook]) -> None:
        if hook is None:
            self._call(setter(self.handle, _lib.TEXT_CB(), None, _lib.FREE_CB()))
            return
        failures = self._failures
        cb, key = _callbacks.register(_lib.TEXT_CB, lambda _ud, _conn, text: failures.guard(
            what, lambda: hook(text.decode(errors="replace")), None))
        self._call(setter(self.handle, cb, key, _callbacks.RELEASE))

    def _set_xml_hook(self, setter: Any, what: str, hook: Optional[XmlHook]) -> None:
        if hook is None:
            self._call(setter(self.handle, _lib.XML_CB(), None, _lib.FREE_CB()))
            return
        failures = self._failures
        cb, key = _callbacks.register(_lib.XML_CB, lambda _ud, _conn, stanza: failures.guard(
            what, lambda: hook(Stanza._copy_of(stanza)), None))
        self._call(setter(self.handle, cb, key, _callbacks.RELEASE))

    def set_raw_input(self, hook: Optional[TextHook]) -> None:
        """Strophe's `rawInput`: `hook(text)` for everything received; None clears it."""
        self._set_text_hook(L.epode_conn_set_raw_input, "raw input", hook)

    def set_raw_output(self, hook: Optional[TextHook]) -> None:
        """Strophe's `rawOutput`: `hook(text)` for everything sent."""
        self._set_text_hook(L.epode_conn_set_raw_output, "raw output", hook)

    def set_xml_input(self, hook: Optional[XmlHook]) -> None:
        """Strophe's `xmlInput`: `hook(element)` for each element received."""
        self._set_xml_hook(L.epode_conn_set_xml_input, "xml input", hook)

    def set_xml_output(self, hook: Optional[XmlHook]) -> None:
        """Strophe's `xmlOutput`: `hook(element)` for each element sent."""
        self._set_xml_hook(L.epode_conn_set_xml_output, "xml output", hook)

    def set_unacked_handler(self, hook: Optional[XmlHook]) -> None:
        """`hook(stanza)` for each stanza that may not have arrived: the
        server had not acknowledged it when a lost session could not be
        resumed, or it was sent while reconnecting and reconnection gave up."""
        self._set_xml_hook(L.epode_conn_set_unacked_handler, "unacked", hook)

    def set_log_handler(self, handler: Optional[logs.LogHandler], level: Optional[logs.LogLevel] = None) -> None:
        """This connection's log goes to `handler` (a `logging.Logger` or
        `handler(level, message)`) from `level` up; None goes back to the
        process-wide handler."""
        handle = self.handle
        logs.set_handler(lambda lvl, cb, key, free: L.epode_conn_set_log_handler(handle, lvl, cb, key, free),
                         handler, level, self._failures)

    def register_mechanism(self, name: str, mechanism: sasl.Mechanism, *, priority: int,
                           client_first: bool = True) -> None:
        """A SASL mechanism in Python, chosen like a built-in one (PLAIN is
        50, SCRAM-SHA-256 70); a built-in's name replaces it."""
        cb, key = sasl.thunk(mechanism, self._failures)
        self._call(L.epode_conn_register_mechanism(self.handle, name.encode(), priority, client_first, cb, key,
                                                   _callbacks.RELEASE))

    def stanzas(self, *, ns: Optional[str] = None, name: Optional[str] = None,
                type: Union[str, Iterable[str], None] = None, id: Optional[str] = None,
                from_: Optional[str] = None, match_bare_from: bool = False,
                ignore_ns_fragment: bool = False) -> StanzaQueue:
        """The stanzas matching these filters (as for `add_handler`) as a
        queue to iterate over, for a loop rather than callbacks."""
        queue = StanzaQueue(self)
        queue.handler_id = self.add_handler(queue._put, ns=ns, name=name, type=type, id=id, from_=from_,
                                            match_bare_from=match_bare_from, ignore_ns_fragment=ignore_ns_fragment)
        self._queues.add(queue)
        return queue

    # The caller-driven loop

    @property
    def sync(self) -> bool:
        """Whether the engine runs inside this connection's calls (sync mode)."""
        return self.option("sync") == "true"

    @sync.setter
    def sync(self, on: bool) -> None:
        self.set_sync(on)

    def set_sync(self, on: bool) -> None:
        """Switches sync mode, also on a live connection (e.g. for a clean
        `disconnect()` that returns when it is over)."""
        self._call(L.epode_conn_set_sync(self.handle, on))

    def run_once(self, timeout: float = 0.1) -> None:
        """Sync mode: drives the engine on this thread for at most `timeout`
        seconds (callbacks run here)."""
        self._drive(L.epode_conn_run_once(self.handle, millis(timeout, "timeout")))

    # Pollable mode (option pollable=True): the caller's own loop drives

    def fileno(self) -> int:
        """Pollable mode: the descriptor to wait on for reading (selectors,
        `loop.add_reader`, poll). While it is readable, `run_once(0)` has
        work; it is the connection's and closes with it."""
        fd = c_int(-1)
        self._call(L.epode_conn_poll_fd(self.handle, byref(fd)))
        return fd.value

    def next_timeout(self) -> Optional[float]:
        """Pollable mode: seconds until `run_once(0)` is due for a timer
        even if the descriptor stays quiet; None when no timer is set."""
        ms = c_int64(-1)
        self._call(L.epode_conn_next_timeout(self.handle, byref(ms)))
        return None if ms.value < 0 else ms.value / 1000

    # Getters

    def _text(self, fn: Any, *args: Any) -> str:
        return read(fn, self.handle, *args, conn=self.handle)

    @property
    def jid(self) -> str:
        """The session's full JID ("" before connect)."""
        return self._text(L.epode_conn_jid)

    @property
    def authzid(self) -> str:
        """The bare JID given to `connect`."""
        return self._text(L.epode_conn_authzid)

    @property
    def domain(self) -> str:
        """The session's domain."""
        return self._text(L.epode_conn_domain)

    @property
    def service(self) -> str:
        """The service URL in use (absolute; after a redirect, where it led)."""
        return self._text(L.epode_conn_service)

    def option(self, key: str) -> str:
        """Option `key` as text that `Options.set` takes back."""
        return self._text(L.epode_conn_option, key.encode())

    def _flags(self) -> "tuple[bool, bool, bool, bool]":
        flags = [c_bool() for _ in range(4)]
        self._call(L.epode_conn_flags(self.handle, *(byref(f) for f in flags)))
        authenticated, connected, disconnecting, paused = (f.value for f in flags)
        return authenticated, connected, disconnecting, paused

    @property
    def authenticated(self) -> bool:
        return self._flags()[0]

    @property
    def connected(self) -> bool:
        """Whether a session is under way."""
        return self._flags()[1]

    @property
    def disconnecting(self) -> bool:
        return self._flags()[2]

    @property
    def paused(self) -> bool:
        return self._flags()[3]

    @property
    def status(self) -> Optional[Status]:
        """The last status reported, or None before any."""
        out = c_int()
        result = L.epode_conn_status(self.handle, byref(out))
        if result == Result.NOT_FOUND:
            return None
        self._call(result)
        return Status(out.value)

    @property
    def max_retries(self) -> int:
        """Strophe's `maxRetries`."""
        out = c_uint32()
        self._call(L.epode_conn_max_retries(self.handle, byref(out)))
        return out.value

    @property
    def disconnection_timeout(self) -> float:
        """How long `disconnect` waits for the server, in seconds."""
        out = c_uint64()
        self._call(L.epode_conn_disconnection_timeout(self.handle, byref(out)))
        return out.value / 1000

    # Stream management (XEP-0198)

    @property
    def resumed(self) -> bool:
        """Whether the session came back by resumption (nothing was lost)."""
        out = c_bool()
        self._call(L.epode_conn_resumed(self.handle, byref(out)))
        return out.value

    def sm_state(self) -> Optional[str]:
        """The state of a resumable session as text (it holds the
        unacknowledged stanzas: keep it private), or None."""
        try:
            return self._text(L.epode_conn_sm_state)
        except Error as e:
            if e.code is Result.NOT_FOUND:
                return None
            raise

    def set_sm_state(self, state: str) -> None:
        """Before `connect`: resume the session `state` describes."""
        self._call(L.epode_conn_set_sm_state(self.handle, state.encode()))
