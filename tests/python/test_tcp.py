"""The TCP transport from Python: tcp:// (STARTTLS) and tls:// (direct
TLS) services against both servers, with the certificate checked against
the server's CA, and refused without it."""
import epode
from conftest import drive


def test_login_over_starttls_and_direct_tls_in_sync_mode(server, recorder):
    for service in (f"tcp://127.0.0.1:{server['XMPP_C2S_PORT']}",
                    f"tls://127.0.0.1:{server['XMPP_C2S_TLS_PORT']}"):
        rec, got = recorder(), []
        with epode.Connection(service, sync=True, ca_file=server["XMPP_CA_FILE"]) as conn:
            assert conn.service == service
            conn.connect(server.jid("alice"), server.password("alice"), rec)
            assert conn.authenticated, rec.seen
            conn.add_handler(lambda st: (got.append(st.find_text("body")), True)[1], name="message")
            conn.send(epode.msg(to=conn.jid, type="chat").c("body", text=f"over {service}"))
            drive(conn, lambda: got)
            assert got == [f"over {service}"]
            conn.disconnect()
        assert rec.names == ["CONNECTING", "AUTHENTICATING", "CONNECTED", "DISCONNECTING", "DISCONNECTED"], service


def test_a_certificate_nobody_vouches_for_is_connfail(server, recorder):
    rec = recorder()
    with epode.Connection(f"tls://127.0.0.1:{server['XMPP_C2S_TLS_PORT']}", sync=True) as conn:
        try:
            conn.connect(server.jid("alice"), server.password("alice"), rec)
        except epode.Error:
            pass  # sync mode: connect() may report the failure itself
        drive(conn, lambda: "DISCONNECTED" in rec.names)
    assert rec.names[:2] == ["CONNECTING", "CONNFAIL"], rec.seen
    assert "TLS error" in (rec.seen[1][1] or ""), rec.seen
