"""Sessions that outlive a connection: attach (prebinding), restore
(keepalive), and the stanzas reported when resumption fails."""
import base64
import urllib.request

import pytest

import epode
from conftest import drive
from epode import Stanza

NS = "xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh'"


def prebind(server, user):
    """A BOSH session made with raw HTTP, as a web application's server side
    would: (full JID, sid, next rid)."""

    def post(body):
        request = urllib.request.Request(server.bosh, body.encode(), {"Content-Type": "text/xml; charset=utf-8"})
        with urllib.request.urlopen(request, timeout=15) as answer:
            return Stanza(answer.read().decode())

    rid = 7_000_000
    created = post(f"<body rid='{rid}' to='{server.domain}' wait='60' hold='1' ver='1.6' xml:lang='en' "
                   f"xmpp:version='1.0' {NS}/>")
    sid = created.get("sid")
    plain = base64.b64encode(f"\0{user}\0{server.password(user)}".encode()).decode()
    auth = post(f"<body rid='{rid + 1}' sid='{sid}' {NS}><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                f"mechanism='PLAIN'>{plain}</auth></body>")
    assert auth.find("success") is not None, str(auth)
    post(f"<body rid='{rid + 2}' sid='{sid}' to='{server.domain}' xml:lang='en' xmpp:restart='true' {NS}/>")
    bound = post(f"<body rid='{rid + 3}' sid='{sid}' {NS}><iq xmlns='jabber:client' type='set' id='pb'>"
                 "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq></body>")
    return bound.find("iq").find("bind").find_text("jid"), sid, rid + 4


def test_attach_to_a_prebound_session(server, recorder):
    full, sid, rid = prebind(server, "alice")
    rec = recorder()
    with epode.Connection(server.bosh, sync=True) as conn, epode.Connection(server.ws, sync=True) as bob:
        conn.attach(full, sid, rid, rec)
        drive(conn, lambda: rec.names)
        assert rec.names == ["ATTACHED"] and conn.jid == full and conn.authenticated
        bob.connect(server.jid("bob"), server.password("bob"))
        messages = conn.stanzas(name="message")
        bob.send(epode.msg(to=full, type="chat").c("body", text="to the attached session"))
        got = messages.get(timeout=15)
        assert got is not None and got.find_text("body") == "to the attached session"


def test_restore_a_kept_session(server, recorder, tmp_path):
    keep = str(tmp_path / "session")
    first = epode.Connection(server.bosh, sync=True, keepalive=True, keepalive_path=keep)
    first.connect(server.jid("bob"), server.password("bob"))
    full = first.jid
    first.close()  # no goodbye: the session stays on the server
    rec = recorder()
    with epode.Connection(server.bosh, sync=True, keepalive=True, keepalive_path=keep) as second:
        second.restore(server.jid("bob"), rec)
        drive(second, lambda: rec.names)
        assert rec.names == ["ATTACHED"] and second.jid == full
    with epode.Connection(server.bosh, sync=True, keepalive=True, keepalive_path=str(tmp_path / "none")) as third:
        with pytest.raises(epode.Error) as e:
            third.restore()
        assert e.value.code is epode.Result.NO_SESSION


def test_unacked_stanzas_are_reported_when_resumption_fails(server, recorder):
    with epode.Connection(server.ws, sync=True) as first:
        first.connect(server.jid("carol"), server.password("carol"))
        drive(first, lambda: first.sm_state() is not None)
        first.send(epode.msg(to=server.jid("dave"), type="chat").c("body", text="maybe lost"))
        state = first.sm_state()  # before the server's <a/> was read
        assert state is not None and "\nunacked " in state
    # the with block ended that session for good: resuming it must fail
    lost, rec = [], recorder()
    with epode.Connection(server.ws, sync=True) as second:
        second.set_sm_state(state)
        second.set_unacked_handler(lost.append)
        second.connect(server.jid("carol"), server.password("carol"), rec)
        assert rec.names[-1] == "CONNECTED" and not second.resumed
        assert [s.find_text("body") for s in lost] == ["maybe lost"]
        second.set_unacked_handler(None)
