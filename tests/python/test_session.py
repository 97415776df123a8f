"""The rest of the connection API against the real servers: the context
manager's goodbye, hooks, getters, flow control, handlers and their flags,
timed and protocol-error handlers, presence tracking, explicit binding."""
import threading

import pytest

import epode
from conftest import drive


def test_with_block_says_goodbye_then_frees(server, recorder):
    rec, sent = recorder(), []
    conn = epode.Connection(server.ws)  # threaded: the goodbye takes the engine onto this thread
    with conn:
        conn.set_raw_output(sent.append)
        done = threading.Event()
        conn.connect(server.jid("alice"), server.password("alice"),
                     lambda s, c, st: (rec(s, c, st), s is epode.Status.CONNECTED and done.set()))
        assert done.wait(10)
    assert rec.names[-2:] == ["DISCONNECTING", "DISCONNECTED"]
    assert any("<close" in text for text in sent), sent[-3:]
    assert conn.closed and repr(conn) == "<epode.Connection closed>"
    conn.close()  # twice: nothing
    with pytest.raises(ValueError):
        conn.jid


def test_with_block_waits_for_a_disconnect_under_way(server, recorder):
    rec, up = recorder(), threading.Event()
    with epode.Connection(server.ws) as conn:
        conn.connect(server.jid("carol"), server.password("carol"),
                     lambda s, c, st: (rec(s, c, st), s is epode.Status.CONNECTED and up.set()))
        assert up.wait(10)
        conn.disconnect()  # threaded: returns at once, the close exchange goes on
    assert rec.names[-2:] == ["DISCONNECTING", "DISCONNECTED"]


def test_a_second_disconnect_does_nothing(server, recorder):
    rec = recorder()
    with epode.Connection(server.ws, sync=True) as conn:
        conn.connect(server.jid("bob"), server.password("bob"), rec)
        conn.disconnect()
        conn.disconnect()
        assert rec.names == ["CONNECTING", "AUTHENTICATING", "CONNECTED", "DISCONNECTING", "DISCONNECTED"]


def test_stanza_text_without_a_namespace_is_sent_as_jabber_client(server, recorder):
    rec, out, back = recorder(), [], []
    with epode.Connection(server.ws, sync=True) as conn:
        conn.set_xml_output(out.append)
        conn.connect(server.jid("carol"), server.password("carol"), rec)
        conn.add_handler(lambda s: back.append(s) or True, name="presence", from_=conn.jid)
        conn.send("<presence/>")
        drive(conn, lambda: back)
        presences = [e for e in out if e.name == "presence"]
        assert [str(e) for e in presences] == ['<presence xmlns="jabber:client"/>']
        own = epode.Stanza("<presence><status>s</status></presence>")
        conn.send(own)
        assert own.get("xmlns") is None, "the caller's stanza is not changed"
        drive(conn, lambda: len(back) == 2)
        assert back[1].find_text("status") == "s"
        assert conn.status is epode.Status.CONNECTED, rec.seen


def test_hooks_see_the_traffic_and_getters_read_the_session(server):
    raw_in, raw_out, xml_in, xml_out = [], [], [], []
    with epode.Connection(server.bosh, sync=True, wait=5, maxRetries=3, disconnection_timeout=2500) as conn:
        assert conn.status is None and conn.jid == "" and not conn.connected
        conn.set_raw_input(raw_in.append)
        conn.set_raw_output(raw_out.append)
        conn.set_xml_input(xml_in.append)
        conn.set_xml_output(xml_out.append)
        conn.connect(server.jid("dave"), server.password("dave"))
        assert any("<success" in t for t in raw_in) and any("<auth" in t for t in raw_out)
        assert "dave-pass" not in "".join(raw_out), "the password travels only base64-encoded in SASL"
        assert any(e.name == "body" for e in xml_in) and any(e.name == "body" for e in xml_out)
        assert conn.status is epode.Status.CONNECTED
        assert conn.authenticated and conn.connected and not conn.disconnecting and not conn.paused
        assert epode.jid.bare(conn.jid) == server.jid("dave") and conn.authzid == server.jid("dave")
        assert conn.domain == server.domain and conn.service == server.bosh
        assert conn.max_retries == 3 and conn.disconnection_timeout == 2.5
        assert conn.option("wait") == "5" and conn.sync
        assert server.name in repr(conn) or "CONNECTED" in repr(conn)
        for hook in (conn.set_raw_input, conn.set_raw_output, conn.set_xml_input, conn.set_xml_output):
            hook(None)
        count = len(raw_in)
        conn.send_iq(epode.iq(type="get", to=server.domain).c("ping", xmlns="urn:xmpp:ping"), timeout=5)
        conn.run_once(0.2)
        assert len(raw_in) == count, "a cleared hook hears nothing"
        with pytest.raises(epode.Error) as e:
            conn.option("nope")
        assert e.value.code is epode.Result.UNKNOWN_OPTION


def test_pause_resume_flush_and_switching_sync(server):
    out = []
    with epode.Connection(server.ws, sync=True) as conn:
        conn.set_raw_output(out.append)
        conn.connect(server.jid("alice"), server.password("alice"))
        conn.pause()
        assert conn.paused
        conn.send(epode.msg(to=server.jid("bob")).c("body", text="held"))
        conn.flush()
        assert not any("held" in text for text in out)
        conn.resume()
        assert not conn.paused
        # In sync mode resume() returns once what pause() held is written.
        assert any("held" in text for text in out), out[-3:]
        conn.sync = False  # the engine gets its own thread
        assert not conn.sync
        with pytest.raises(epode.Error) as e:
            conn.run_once(0.01)
        assert e.value.code is epode.Result.WRONG_STATE
        conn.set_sync(True)
        assert conn.sync
        conn.run_once(0.01)


def test_handler_flags_and_return_values(server):
    """Bare-JID matching, namespace fragments, several types, and a handler
    staying only while it returns a true value."""
    with epode.Connection(server.ws, sync=True) as alice, epode.Connection(server.ws, sync=True) as bob:
        alice.connect(server.jid("alice"), server.password("alice"))
        bob.connect(server.jid("bob"), server.password("bob"))
        by_full, by_bare, by_fragment, by_types, once = [], [], [], [], []
        alice.add_handler(lambda s: by_full.append(s) or True, name="message", from_=server.jid("bob"))
        alice.add_handler(lambda s: by_bare.append(s) or True, name="message", from_=server.jid("bob"),
                          match_bare_from=True)
        alice.add_handler(lambda s: by_fragment.append(s) or True, ns="http://jabber.org/protocol/muc",
                          ignore_ns_fragment=True)
        alice.add_handler(lambda s: by_types.append(s.get("type")) or epode.KEEP, name="message",
                          type=["chat", "headline"])
        untyped = []  # "" in a type list: a stanza without a type (Strophe)
        alice.add_handler(lambda s: untyped.append(str(s)) or epode.KEEP,
                          name="message", type=[""])
        gone = alice.add_handler(lambda s: once.append(s), name="message")  # None: removed after one
        for kind in ("chat", "headline", "normal", None):
            bob.send(epode.msg(to=alice.jid, type=kind).c("body", text=str(kind)).up()
                     .c("x", xmlns="http://jabber.org/protocol/muc#user"))
        drive(alice, lambda: len(by_bare) == 4)
        assert by_full == [], "from_ is a full JID unless match_bare_from"
        assert len(by_fragment) == 4 and len(once) == 1
        assert by_types == ["chat", "headline"]
        # ejabberd drops type='normal', the default, on the way.
        bodies = [epode.Stanza(x).find_text("body") for x in untyped]
        assert "None" in bodies and set(bodies) <= {"None", "normal"}, untyped
        alice.delete_handler(gone)  # already removed: ignored
        alice.delete_handler(123456)


def test_timed_handlers(server):
    with epode.Connection(server.ws, sync=True) as conn:
        conn.connect(server.jid("carol"), server.password("carol"))
        ticks, three = [], []
        tid = conn.add_timed_handler(0.02, lambda: ticks.append(1) or True)
        conn.add_timed_handler(0.02, lambda: three.append(1) or len(three) < 3)
        drive(conn, lambda: len(ticks) >= 6)
        assert len(three) == 3, "removed once it returned False"
        conn.delete_timed_handler(tid)
        count = len(ticks)
        for _ in range(5):
            conn.run_once(0.02)
        assert len(ticks) == count
        with pytest.raises(ValueError):
            conn.add_timed_handler(-1, lambda: True)


def test_protocol_error_handler_hears_the_http_status(recorder):
    from conftest import Server

    server = Server("prosody")  # ejabberd answers any path under its BOSH port
    codes, rec = [], recorder()
    with epode.Connection(server.bosh.replace("http-bind", "no-such-path"), sync=True) as conn:
        conn.add_protocol_error_handler("HTTP", 404, codes.append)
        conn.connect(server.jid("alice"), server.password("alice"), rec)
    assert codes == [404]
    assert rec.seen[-3:] == [("CONNFAIL", "HTTP 404"), ("DISCONNECTING", None), ("DISCONNECTED", "HTTP 404")]
    with epode.Connection(server.ws) as conn, pytest.raises(epode.Error) as e:
        conn.add_protocol_error_handler("gopher", 1, codes.append)
    assert e.value.code is epode.Result.INVALID_ARG


def test_send_presence_tracks_the_answer(server):
    with epode.Connection(server.ws, sync=True) as conn:
        conn.connect(server.jid("dave"), server.password("dave"))
        got = []
        pid = conn.send_presence(epode.pres(), on_result=got.append, on_error=lambda s: got.append(None), timeout=5)
        assert pid.endswith(":sendPresence")
        drive(conn, lambda: got)
        assert got[0] is not None and got[0].get("id") == pid


def test_explicit_resource_binding(server, recorder):
    rec = recorder()
    with epode.Connection(server.ws, sync=True, explicitResourceBinding=True, resource="py-bind") as conn:
        conn.connect(server.jid("bob"), server.password("bob"), rec)
        assert rec.names == ["CONNECTING", "AUTHENTICATING", "BINDREQUIRED"]
        assert not conn.authenticated
        conn.bind()
        assert rec.names[-1] == "CONNECTED" and conn.jid == server.jid("bob") + "/py-bind"


def test_send_raw_sends_exactly_as_written(server):
    out = []
    with epode.Connection(server.ws, sync=True) as conn:
        conn.set_raw_output(out.append)
        conn.connect(server.jid("dave"), server.password("dave"))
        text = "<message xmlns='jabber:client' to='bob@localhost'  type='chat'><body>as is</body></message>"
        conn.send_raw(text)
        drive(conn, lambda: text in out)
        with pytest.raises(epode.Error) as e:
            conn.send_raw("<message><body>half")
        assert e.value.code is epode.Result.MALFORMED_XML
        conn.send_iq(epode.iq(type="get", to=server.domain).c("ping", xmlns="urn:xmpp:ping"), timeout=5)
        assert conn.status is epode.Status.CONNECTED
