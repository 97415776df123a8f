"""The Python package against the private Prosody and ejabberd: logins
over WebSocket and BOSH, a handler, an IQ, errors, shared workers and
resumption (as before the package, now on its API)."""
import os
import threading

import pytest

import epode


@pytest.mark.parametrize("transport", ["XMPP_WS_URL", "XMPP_BOSH_URL"])
def test_sync_login_message_and_iq(env, transport):
    statuses = []
    with epode.Connection(env[transport], sync=True) as conn:
        conn.connect(env["XMPP_ALICE_JID"], env["XMPP_ALICE_PASSWORD"],
                     lambda status, cond, stanza: statuses.append(status.name))
        assert statuses == ["CONNECTING", "AUTHENTICATING", "CONNECTED"]
        assert conn.authenticated and conn.jid.startswith(env["XMPP_ALICE_JID"] + "/")

        got = []
        conn.add_handler(lambda s: got.append(s.find("body").text) or False, name="message")
        conn.send(f"<message xmlns='jabber:client' to='{conn.jid}' type='chat'><body>caf\u00e9 &amp; co</body></message>")
        answers = []
        conn.send_iq(epode.Stanza("<iq xmlns='jabber:client' type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>"),
                     on_result=lambda s: answers.append(s.get("type")),
                     on_error=lambda s: answers.append("error"), timeout=5)
        for _ in range(100):
            if got and answers:
                break
            conn.run_once(0.05)
        assert got == ["caf\u00e9 & co"]
        assert answers == ["result"]
        conn.disconnect()
        assert statuses[-2:] == ["DISCONNECTING", "DISCONNECTED"]


def test_threaded_callbacks_from_the_engine_thread(env):
    done = threading.Event()
    seen = []

    def on_status(status, cond, stanza):
        seen.append((status.name, threading.current_thread() is threading.main_thread()))
        if status in (epode.Status.CONNECTED, epode.Status.DISCONNECTED):
            done.set()

    with epode.Connection(env["XMPP_WS_URL"]) as conn:
        conn.connect(env["XMPP_BOB_JID"], env["XMPP_BOB_PASSWORD"], on_status)
        assert done.wait(10)
        assert seen[-1] == ("CONNECTED", False), "callbacks run on the engine thread"
        done.clear()
        conn.disconnect()
        assert done.wait(10)
        assert seen[-1][0] == "DISCONNECTED"


def test_errors_are_exceptions_with_the_librarys_message(env):
    with pytest.raises(epode.Error) as e:
        epode.Connection(env["XMPP_WS_URL"], no_such_option=1)
    assert e.value.code is epode.Result.UNKNOWN_OPTION and "no_such_option" in e.value.message
    with pytest.raises(epode.Error) as e:
        epode.Connection("/relative")
    assert e.value.code is epode.Result.INVALID_ARG and "origin" in str(e.value)
    with epode.Connection(env["XMPP_WS_URL"], sync=True) as conn:
        with pytest.raises(epode.Error) as e:
            conn.send("<message/>")
        assert e.value.code is epode.Result.WRONG_STATE
        conn.connect(env["XMPP_CAROL_JID"], env["XMPP_CAROL_PASSWORD"])
        with pytest.raises(epode.Error) as e:
            conn.send("<message><body>half")
        assert e.value.code is epode.Result.MALFORMED_XML
        conn.disconnect()
    statuses = []
    with epode.Connection(env["XMPP_WS_URL"], sync=True) as conn:
        conn.connect(env["XMPP_ALICE_JID"], "wrong", lambda s, c, _: statuses.append((s.name, c)))
    assert ("AUTHFAIL", "not-authorized") in statuses
    with pytest.raises(epode.Error):
        epode.Stanza("<a><b></a>")


def test_two_handles_share_one_worker(env):
    """worker=NAME: the second handle attaches to the first one's session."""
    worker = f"py-{env['XMPP_SERVER']}-{os.getpid()}"
    first, second = [], []
    with epode.Connection(env["XMPP_WS_URL"], worker=worker, sync=True) as a, \
            epode.Connection(env["XMPP_WS_URL"], worker=worker, sync=True) as b:
        b.attach_shared(lambda status, cond, stanza: second.append(status.name))
        assert second == ["ATTACHFAIL", "DISCONNECTED"]
        a.connect(env["XMPP_CAROL_JID"], env["XMPP_CAROL_PASSWORD"],
                  lambda status, cond, stanza: first.append((status.name, cond)))
        assert [s for s, _ in first] == ["CONNECTING", "AUTHENTICATING", "CONNECTED"]
        second.clear()
        b.attach_shared(lambda status, cond, stanza: second.append(status.name))
        assert second == ["ATTACHED"]
        assert b.jid == a.jid
        b.disconnect()
        for _ in range(100):
            if first[-1][0] == "DISCONNECTED":
                break
            a.run_once(0.05)
        assert first[-1] == ("DISCONNECTED", "the shared session was ended by another handle")


def test_a_session_resumed_from_its_state_by_another_connection(env):
    """XEP-0198: the state of a live session, taken over by a new connection."""
    with epode.Connection(env["XMPP_WS_URL"], sync=True) as first, \
            epode.Connection(env["XMPP_WS_URL"], sync=True) as second:
        first.connect(env["XMPP_CAROL_JID"], env["XMPP_CAROL_PASSWORD"])
        assert first.sm_state() is None or first.sm_state().startswith("epode-sm 1")
        for _ in range(50):
            if first.sm_state():
                break
            first.run_once(0.1)
        state = first.sm_state()
        assert state and state.startswith("epode-sm 1\n")
        with pytest.raises(epode.Error) as bad:
            second.set_sm_state("not a state")
        assert bad.value.code is epode.Result.INVALID_ARG
        second.set_sm_state(state)
        seen = []
        second.connect(env["XMPP_CAROL_JID"], env["XMPP_CAROL_PASSWORD"],
                       lambda status, cond, stanza: seen.append((status.name, cond)))
        assert seen[-1] == ("CONNECTED", "resumed")
        assert second.resumed and not first.resumed
        assert second.jid == first.jid
        second.disconnect()
