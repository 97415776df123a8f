"""XEP-0156 from Python: the URLs each server's host-meta lists (ejabberd's
mod_host_meta, Prosody's static host-meta.json), a login over each, and
the errors for a CA that does not vouch for the server and a plaintext
origin."""
import pytest

import epode
from conftest import Server


def test_host_meta_urls_log_in(server, recorder):
    origin = server["XMPP_HOST_META_ORIGIN"]
    methods = epode.discovery.host_meta(server.domain, origin, ca_file=server["XMPP_CA_FILE"])
    web = origin[len("https://"):]
    assert [u.split(web)[0] for u in methods.websocket + methods.bosh] == ["wss://", "https://"], methods
    for url in (methods.websocket[0], methods.bosh[0]):
        rec = recorder()
        with epode.Connection(url, sync=True, ca_file=server["XMPP_CA_FILE"]) as conn:
            conn.connect(server.jid("alice"), server.password("alice"), rec)
            assert conn.authenticated, (url, rec.seen)
            conn.disconnect()
        assert rec.names[-1] == "DISCONNECTED", (url, rec.seen)


def test_another_ca_and_plaintext_are_refused(server):
    other = Server("ejabberd" if server.name == "prosody" else "prosody")
    with pytest.raises(epode.Error) as e:
        epode.discovery.host_meta(server.domain, server["XMPP_HOST_META_ORIGIN"],
                                  ca_file=other["XMPP_CA_FILE"])
    assert e.value.code is epode.Result.TLS, e.value
    with pytest.raises(epode.Error) as e:
        epode.discovery.host_meta(server.domain, "http://127.0.0.1:1")
    assert e.value.code is epode.Result.INVALID_ARG, e.value
