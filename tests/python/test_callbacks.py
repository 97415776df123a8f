"""What happens to an exception raised in a callback, and incoming stanzas
as a queue instead of callbacks."""
import logging
import threading
import time

import pytest

import epode
from conftest import drive
from epode import _callbacks


class Boom(Exception):
    pass


def boom(*_args):
    raise Boom("from the callback")


def test_a_raising_handler_is_logged_removed_and_raised_from_run_once(server, caplog):
    with epode.Connection(server.ws, sync=True) as conn:
        conn.connect(server.jid("alice"), server.password("alice"))
        calls, later = [], []
        conn.add_handler(lambda s: calls.append(s) or boom(), name="message")
        with caplog.at_level(logging.ERROR, logger="epode"), pytest.raises(Boom):
            # sending drives the engine too: the echo may come back in there
            conn.send(epode.msg(to=conn.jid, type="chat").c("body", text="one"))
            drive(conn, lambda: False)
        assert any(r.exc_info and r.exc_info[0] is Boom for r in caplog.records), caplog.records
        conn.add_handler(lambda s: later.append(s) or True, name="message")
        conn.send(epode.msg(to=conn.jid, type="chat").c("body", text="two"))
        drive(conn, lambda: later)
        assert len(calls) == 1, "a handler that raised is removed, as in Strophe"


def test_a_raising_status_callback_is_raised_from_connect_in_sync_mode(server):
    seen = []

    def on_status(status, condition, stanza):
        seen.append(status)
        if status is epode.Status.AUTHENTICATING:
            raise Boom("while authenticating")

    with epode.Connection(server.ws, sync=True) as conn:
        with pytest.raises(Boom):
            conn.connect(server.jid("bob"), server.password("bob"), on_status)
        assert seen[-1] is epode.Status.CONNECTED, "the session goes on"
        conn.raise_callback_errors()  # nothing left


def test_in_threaded_mode_the_exception_waits_for_the_next_driving_call(server):
    connected = threading.Event()
    with pytest.raises(Boom):
        with epode.Connection(server.ws) as conn:
            conn.connect(server.jid("carol"), server.password("carol"),
                         lambda s, c, st: s is epode.Status.CONNECTED and connected.set())
            assert connected.wait(10)
            answered = threading.Event()
            conn.send_iq(epode.iq(type="get", to=server.domain).c("ping", xmlns="urn:xmpp:ping"),
                         on_result=lambda s: (answered.set(), boom()), timeout=5)
            assert answered.wait(10)
            deadline = time.monotonic() + 10  # the engine thread records it just after set()
            while conn._failures.pending() == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert conn._failures.pending() == 1
        # leaving the block (goodbye, free) raises what the callback raised
    assert conn.closed


def test_every_kind_of_callback_is_guarded(server):
    """Hooks, timed handlers and IQ callbacks that raise never break the
    engine; each exception comes out, one per driving call."""
    with epode.Connection(server.ws, sync=True) as conn:
        conn.connect(server.jid("dave"), server.password("dave"))
        conn.set_xml_input(boom)
        conn.set_raw_output(boom)
        conn.add_timed_handler(0.01, boom)
        raised = 0
        for _ in range(6):
            try:
                conn.run_once(0.05)
                conn.send(epode.msg(to=conn.jid).c("body", text="x"))
            except Boom:
                raised += 1
        assert raised >= 3
        assert conn.status is epode.Status.CONNECTED
        conn.set_xml_input(None)
        conn.set_raw_output(None)
        while conn._failures.pending():
            with pytest.raises(Boom):
                conn.raise_callback_errors()


def test_callbacks_are_released_with_the_connection(server):
    before = _callbacks.live_count()
    conn = epode.Connection(server.ws, sync=True)
    conn.connect(server.jid("alice"), server.password("alice"))
    conn.add_handler(lambda s: True, name="message")
    conn.add_timed_handler(10, lambda: True)
    conn.set_raw_input(lambda t: None)
    assert _callbacks.live_count() >= before + 4
    conn.close()
    assert _callbacks.live_count() == before


def test_a_stanza_queue_in_sync_mode(server):
    with epode.Connection(server.ws, sync=True) as alice, epode.Connection(server.ws, sync=True) as bob:
        alice.connect(server.jid("alice"), server.password("alice"))
        bob.connect(server.jid("bob"), server.password("bob"))
        with alice.stanzas(name="message", from_=server.jid("bob"), match_bare_from=True) as messages:
            assert messages.get(timeout=0.1) is None
            for n in range(3):
                bob.send(epode.msg(to=alice.jid, type="chat").c("body", text=f"m{n}"))
            bodies = []
            for message in messages:
                bodies.append(message.find_text("body"))
                if len(bodies) == 3:
                    break
            assert bodies == ["m0", "m1", "m2"]
            bob.send(epode.msg(to=alice.jid, type="chat").c("body", text="last"))
            alice.disconnect()
            assert [m.find_text("body") for m in messages][-1:] in (["last"], []), "then the loop ends"
            assert messages.get(timeout=0.1) is None


def test_a_stanza_queue_in_threaded_mode_ends_with_the_session(server):
    with epode.Connection(server.ws) as alice, epode.Connection(server.ws, sync=True) as bob:
        up = threading.Event()
        alice.connect(server.jid("carol"), server.password("carol"),
                      lambda s, c, st: s is epode.Status.CONNECTED and up.set())
        assert up.wait(10)
        bob.connect(server.jid("dave"), server.password("dave"))
        messages = alice.stanzas(name="message")
        bob.send(epode.msg(to=alice.jid, type="chat").c("body", text="hello"))
        first = messages.get(timeout=10)
        assert first is not None and first.find_text("body") == "hello"
        assert threading.current_thread() is threading.main_thread()
        alice.disconnect()
        assert list(messages) == []
        messages.close()
