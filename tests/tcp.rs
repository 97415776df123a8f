//! The TCP transport (RFC 6120 with STARTTLS, and direct TLS as XEP-0368
//! says) against the real servers: every mechanism each offers there,
//! certificates, the stream it writes, stanzas both ways.

mod common;

use common::{
    collect_bodies, collect_output, collector, eventually, login, recorder, Server, CLEAN_SESSION,
};
use epode::{Builder, Connection, Options, Status};
use std::time::{Duration, Instant};

fn servers() -> Vec<Server> {
    vec![Server::get("prosody"), Server::get("ejabberd")]
}

/// What each server offers over TCP after TLS (reference/servers.md),
/// less what epode does not speak (DIGEST-MD5; -PLUS needs channel
/// binding, which native-tls does not give).
fn tcp_mechanisms(server: &Server) -> Vec<&'static str> {
    match server.name().as_str() {
        "prosody" => vec!["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"],
        _ => vec![
            "PLAIN",
            "SCRAM-SHA-1",
            "SCRAM-SHA-256",
            "SCRAM-SHA-512",
            "X-OAUTH2",
        ],
    }
}

fn password_for(server: &Server, mech: &str) -> String {
    if mech == "X-OAUTH2" {
        server.var("XMPP_ALICE_OAUTH_TOKEN")
    } else {
        server.password("alice")
    }
}

#[test]
fn every_offered_mechanism_logs_in_over_starttls_and_direct_tls() {
    for server in servers() {
        for (url, starttls) in [(server.tcp(), true), (server.tls(), false)] {
            for mech in tcp_mechanisms(&server) {
                let mut o = server.tls_options();
                o.set("mechanisms", mech).unwrap();
                let conn = Connection::new(&url, o).unwrap();
                let sent = collect_output(&conn);
                let (mut rec, cb) = recorder();
                conn.connect(&server.jid("alice"), Some(&password_for(&server, mech)), cb)
                    .unwrap();
                rec.wait_for(Status::Connected, 20);
                let what = format!("{} {url} {mech}", server.name());
                assert!(
                    conn.jid().starts_with("alice@localhost/"),
                    "{what}: {}",
                    conn.jid()
                );
                conn.disconnect(None).unwrap();
                rec.wait_for(Status::Disconnected, 10);
                assert_eq!(rec.statuses(), CLEAN_SESSION, "{what}");
                let sent = sent.lock().unwrap().clone();
                let all = sent.join("\n");
                assert!(
                    all.contains(&format!("mechanism=\"{mech}\"")),
                    "{what}: {all}"
                );
                // The stream as RFC 6120 writes it: a header for the domain
                // (again after TLS and after SASL), STARTTLS only on the
                // STARTTLS port, and the close.
                let headers = sent
                    .iter()
                    .filter(|t| t.contains("<stream:stream "))
                    .count();
                assert_eq!(headers, if starttls { 3 } else { 2 }, "{what}: {all}");
                assert!(
                    sent[0].starts_with(
                        "<?xml version='1.0'?><stream:stream to='localhost' version='1.0'"
                    ),
                    "{what}: {}",
                    sent[0]
                );
                assert_eq!(
                    all.contains("urn:ietf:params:xml:ns:xmpp-tls"),
                    starttls,
                    "{what}"
                );
                assert!(
                    sent.last().unwrap().contains("</stream:stream>"),
                    "{what}: {all}"
                );
            }
        }
    }
}

#[test]
fn anonymous_and_external_log_in_over_tcp() {
    for server in servers() {
        let anon = format!("anon.{}", server.var("XMPP_DOMAIN"));
        let conn = Connection::new(&server.tcp(), server.tls_options()).unwrap();
        let (mut rec, cb) = recorder();
        conn.connect(&anon, None, cb).unwrap();
        rec.wait_for(Status::Connected, 20);
        assert!(conn.jid().contains(&format!("@{anon}/")), "{}", conn.jid());
        conn.disconnect(None).unwrap();
        rec.wait_for(Status::Disconnected, 10);

        // SASL EXTERNAL: the client certificate is the credential.
        let mut o = server.tls_options();
        o.set("client_cert", &server.var("XMPP_CLIENT_CERT"))
            .unwrap();
        o.set("client_key", &server.var("XMPP_CLIENT_KEY")).unwrap();
        o.set("mechanisms", "EXTERNAL").unwrap();
        let url = format!("tcp://127.0.0.1:{}", server.var("XMPP_EXTERNAL_PORT"));
        let conn = Connection::new(&url, o).unwrap();
        let (mut rec, cb) = recorder();
        conn.connect(&server.var("XMPP_CLIENT_CERT_JID"), None, cb)
            .unwrap();
        rec.wait_for(Status::Connected, 20);
        let bare = server.var("XMPP_CLIENT_CERT_JID");
        assert!(
            conn.jid().starts_with(&format!("{bare}/")),
            "{} {}",
            server.name(),
            conn.jid()
        );
        conn.disconnect(None).unwrap();
        rec.wait_for(Status::Disconnected, 10);
    }
}

#[test]
fn a_certificate_the_ca_did_not_sign_is_connfail_on_both_ports() {
    let other_ca = Server::get("ejabberd").var("XMPP_CA_FILE");
    let server = Server::get("prosody");
    for url in [server.tcp(), server.tls()] {
        for options in [
            {
                let mut o = Options::default();
                o.set("ca_file", &other_ca).unwrap();
                o
            },
            // The system's roots do not know the test CA either.
            Options::default(),
        ] {
            let conn = Connection::new(&url, options).unwrap();
            let sent = collect_output(&conn);
            let (mut rec, cb) = recorder();
            conn.connect(&server.jid("alice"), Some(&server.password("alice")), cb)
                .unwrap();
            let seen = rec.wait_for(Status::Disconnected, 20);
            assert_eq!(
                rec.statuses(),
                vec![Status::Connecting, Status::ConnFail, Status::Disconnected],
                "{url}"
            );
            let why = seen[1].1.clone().unwrap_or_default();
            assert!(why.contains("TLS error"), "{url}: {why}");
            let sent = sent.lock().unwrap().join("");
            assert!(
                !sent.contains("<auth"),
                "{url}: credentials went out: {sent}"
            );
        }
    }
}

#[test]
fn stanzas_handlers_and_iqs_work_over_tcp() {
    for server in servers() {
        for url in [server.tcp(), server.tls()] {
            let (alice, _ra) = login(&server, &url, "alice", server.tls_options());
            let (bob, _rb) = login(&server, &url, "bob", server.tls_options());
            let got = collect_bodies(&bob);
            for n in 0..20 {
                let m = Builder::msg([("to", bob.jid().as_str()), ("type", "chat")])
                    .c_text("body", epode::xml::NO_ATTRS, &n.to_string())
                    .build();
                alice.send(&m).unwrap();
            }
            eventually(10, "20 messages", || got.lock().unwrap().len() == 20);
            let want: Vec<String> = (0..20).map(|n| n.to_string()).collect();
            assert_eq!(*got.lock().unwrap(), want, "{} {url}", server.name());
            let (answers, answers_cb) = collector::<String>();
            let ping = Builder::iq([("type", "get"), ("to", "localhost")])
                .c("ping", [("xmlns", "urn:xmpp:ping")])
                .build();
            let on_error = answers_cb.clone();
            alice
                .send_iq(
                    ping,
                    move |_, r| {
                        answers_cb
                            .lock()
                            .unwrap()
                            .push(format!("result {}", r.is_some()))
                    },
                    move |_, _| on_error.lock().unwrap().push("error".into()),
                    Some(Duration::from_secs(10)),
                )
                .unwrap();
            eventually(10, "ping answer", || !answers.lock().unwrap().is_empty());
            assert_eq!(answers.lock().unwrap()[0], "result true");
            alice.disconnect(None).unwrap();
            bob.disconnect(None).unwrap();
        }
    }
}

#[test]
fn sync_mode_drives_a_tcp_connection_on_the_callers_thread() {
    for server in servers() {
        let mut o = server.tls_options();
        o.set("sync", "true").unwrap();
        let conn = Connection::new(&server.tcp(), o).unwrap();
        let (mut rec, cb) = recorder();
        conn.connect(&server.jid("carol"), Some(&server.password("carol")), cb)
            .unwrap();
        // In sync mode connect() returns with the session up.
        assert!(conn.authenticated());
        rec.wait_for(Status::Connected, 0);
        let got = collect_bodies(&conn);
        let me = conn.jid();
        let m = Builder::msg([("to", me.as_str()), ("type", "chat")])
            .c_text("body", epode::xml::NO_ATTRS, "to myself")
            .build();
        conn.send(&m).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while got.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
            conn.run_once(Duration::from_millis(50)).unwrap();
        }
        assert_eq!(*got.lock().unwrap(), vec!["to myself".to_string()]);
        conn.disconnect(None).unwrap();
        assert!(!conn.connected());
        rec.wait_for(Status::Disconnected, 0);
    }
}

/// A scripted server on loopback that answers the stream header with
/// `features` and then records whatever the client sends. Faults no real
/// server produces on demand: a stripped or refused STARTTLS.
fn scripted(
    features: &'static str,
    then: &'static str,
) -> (u16, std::sync::mpsc::Receiver<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let mut answered = 0;
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got).into_owned();
            if answered == 0 && text.contains("<stream:stream ") {
                answered = 1;
                let header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
                    xmlns:stream='http://etherx.jabber.org/streams' from='localhost' id='s1' version='1.0'>";
                let _ = s.write_all(format!("{header}{features}").as_bytes());
            } else if answered == 1 && text.contains("<starttls") {
                answered = 2;
                let _ = s.write_all(then.as_bytes());
            }
        }
        let _ = tx.send(String::from_utf8_lossy(&got).into_owned());
    });
    (port, rx)
}

const NO_STARTTLS: &str = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
    <mechanism>PLAIN</mechanism></mechanisms></stream:features>";

#[test]
fn a_server_that_offers_no_starttls_gets_no_credentials_unless_plaintext_is_allowed() {
    let (port, got) = scripted(NO_STARTTLS, "");
    let conn = Connection::new(&format!("tcp://127.0.0.1:{port}"), Options::default()).unwrap();
    let (mut rec, cb) = recorder();
    conn.connect("alice@localhost", Some("secret"), cb).unwrap();
    let seen = rec.wait_for(Status::Disconnected, 10);
    assert_eq!(
        rec.statuses(),
        vec![Status::Connecting, Status::ConnFail, Status::Disconnected]
    );
    let why = seen[1].1.clone().unwrap_or_default();
    assert!(why.contains("offers no STARTTLS"), "{why}");
    let sent = got.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(sent.contains("<stream:stream "), "{sent}");
    assert!(
        !sent.contains("<auth"),
        "credentials went out in plaintext: {sent}"
    );

    // Asked for by name, the login goes on in plaintext.
    let (port, got) = scripted(NO_STARTTLS, "");
    let mut o = Options::default();
    o.set("allow_plaintext", "true").unwrap();
    let conn = Connection::new(&format!("tcp://127.0.0.1:{port}"), o).unwrap();
    let (mut rec, cb) = recorder();
    conn.connect("alice@localhost", Some("secret"), cb).unwrap();
    rec.wait_for(Status::Authenticating, 10);
    let sent = got.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        sent.contains("<auth xmlns=\"urn:ietf:params:xml:ns:xmpp-sasl\" mechanism=\"PLAIN\""),
        "{sent}"
    );
    rec.wait_for(Status::Disconnected, 10);
}

#[test]
fn a_refused_or_garbled_starttls_is_connfail_before_any_credential() {
    let offers = "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\
        <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms>\
        </stream:features>";
    for (then, want) in [
        (
            "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
            "refused STARTTLS",
        ),
        (
            "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>not TLS at all",
            "TLS error",
        ),
        (
            "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
            "answered STARTTLS with <success>",
        ),
    ] {
        let (port, got) = scripted(offers, then);
        let mut o = Options::default();
        o.set("allow_plaintext", "true").unwrap(); // never a way around a failed STARTTLS
        let conn = Connection::new(&format!("tcp://127.0.0.1:{port}"), o).unwrap();
        let (mut rec, cb) = recorder();
        conn.connect("alice@localhost", Some("secret"), cb).unwrap();
        let seen = rec.wait_for(Status::Disconnected, 10);
        assert_eq!(
            rec.statuses(),
            vec![Status::Connecting, Status::ConnFail, Status::Disconnected],
            "{then}"
        );
        let why = seen[1].1.clone().unwrap_or_default();
        assert!(why.contains(want), "{then}: {why}");
        drop(conn);
        let sent = got.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(!sent.contains("<auth"), "{then}: {sent}");
    }
}

/// Tells the server to end `user`'s session with
/// `<see-other-host>to</see-other-host>`.
fn see_other_host(server: &Server, user: &str, resource: &str, to_port: &str) {
    let ok = match server.name().as_str() {
        "prosody" => std::process::Command::new(server.var("XMPP_CTL"))
            .arg("shell")
            .arg(format!(
                ">local st=require\"util.stanza\" for _,s in pairs(prosody.full_sessions) do \
                 if s.username==\"{user}\" then s:close(st.stanza(\"stream:error\"):tag(\"see-other-host\",\
                 {{xmlns=\"urn:ietf:params:xml:ns:xmpp-streams\"}}):text(\"127.0.0.1:{to_port}\")) end end"
            ))
            .stdout(std::process::Stdio::null())
            .status(),
        _ => std::process::Command::new(server.var("XMPP_EVAL"))
            .arg(format!(
                "ejabberd_c2s:send(ejabberd_sm:get_session_pid(<<\"{user}\">>,<<\"localhost\">>,<<\"{resource}\">>), \
                 {{stream_error, {{'see-other-host', {{<<\"127.0.0.1\">>, {to_port}}}}}, []}})"
            ))
            .stdout(std::process::Stdio::null())
            .status(),
    };
    assert!(ok.unwrap().success(), "{}: see-other-host", server.name());
}

#[test]
fn see_other_host_is_a_redirect_to_that_host_in_the_same_tls_mode() {
    for server in servers() {
        let port = server.var("XMPP_C2S_PORT");
        let mut o = server.tls_options();
        o.set("resource", "probe").unwrap();
        // Through a proxy, so that the redirect visibly goes elsewhere.
        let proxy = common::proxy::Proxy::start(port.parse().unwrap());
        let conn = Connection::new(&proxy.url(&server.tcp()), o).unwrap();
        let (mut rec, cb) = recorder();
        conn.connect(&server.jid("dave"), Some(&server.password("dave")), cb)
            .unwrap();
        rec.wait_for(Status::Connected, 20);
        see_other_host(&server, "dave", "probe", &port);
        let seen = rec.wait_for(Status::Redirect, 20);
        let n = seen.len();
        rec.seen.clear();
        rec.wait_for(Status::Connected, 20);
        assert_eq!(
            rec.statuses(),
            vec![
                Status::Connecting,
                Status::Authenticating,
                Status::Connected
            ],
            "{} after {:?}",
            server.name(),
            &seen[..n]
        );
        assert_eq!(
            conn.service(),
            format!("tcp://127.0.0.1:{port}"),
            "{}",
            server.name()
        );
        // Not on the proxy any more: cutting its links changes nothing.
        proxy.cut();
        std::thread::sleep(Duration::from_millis(300));
        rec.seen.extend(rec.rx.try_iter());
        assert_eq!(rec.statuses().len(), 3, "{}: {:?}", server.name(), rec.seen);
        assert!(conn.authenticated());
        conn.disconnect(None).unwrap();
        rec.wait_for(Status::Disconnected, 10);
    }
}

#[test]
fn a_server_that_trickles_whitespace_and_never_offers_features_is_conntimeout() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf);
        let _ = s.write_all(
            b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
              xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
        );
        // A space every 50 ms: every read returns, none completes anything.
        while s.write_all(b" ").is_ok() {
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let mut o = Options::default();
    o.set("connect_timeout", "1500").unwrap();
    let conn = Connection::new(&format!("tcp://127.0.0.1:{port}"), o).unwrap();
    let (mut rec, cb) = recorder();
    let started = std::time::Instant::now();
    conn.connect("alice@localhost", Some("secret"), cb).unwrap();
    rec.wait_for(Status::Disconnected, 10);
    let took = started.elapsed();
    assert_eq!(
        rec.statuses(),
        vec![
            Status::Connecting,
            Status::ConnTimeout,
            Status::Disconnected
        ]
    );
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

#[test]
fn hooks_pause_and_explicit_binding_work_over_tcp() {
    for server in servers() {
        let mut o = server.tls_options();
        o.set("explicitResourceBinding", "true").unwrap();
        o.set("resource", "hooked").unwrap();
        let conn = Connection::new(&server.tls(), o).unwrap();
        let (xml_in, xml_in_cb) = collector::<String>();
        conn.set_xml_input(Some(move |_: &Connection, e: &epode::Element| {
            xml_in_cb.lock().unwrap().push(e.name().to_string())
        }));
        let (xml_out, xml_out_cb) = collector::<String>();
        conn.set_xml_output(Some(move |_: &Connection, e: &epode::Element| {
            xml_out_cb.lock().unwrap().push(e.name().to_string())
        }));
        let (raw_in, raw_in_cb) = collector::<String>();
        conn.set_raw_input(Some(move |_: &Connection, t: &str| {
            raw_in_cb.lock().unwrap().push(t.to_string())
        }));
        let (mut rec, cb) = recorder();
        conn.connect(&server.jid("carol"), Some(&server.password("carol")), cb)
            .unwrap();
        rec.wait_for(Status::BindRequired, 20);
        conn.bind().unwrap();
        rec.wait_for(Status::Connected, 10);
        assert!(conn.jid().ends_with("/hooked"), "{}", conn.jid());
        let what = server.name();
        // The hooks see the stream: our headers, the server's features and
        // answers, element by element; the raw input is the text itself.
        let out = xml_out.lock().unwrap().clone();
        assert_eq!(
            out.iter().filter(|n| *n == "stream:stream").count(),
            2,
            "{what}: {out:?}"
        );
        assert!(
            out.contains(&"auth".to_string()) && out.contains(&"iq".to_string()),
            "{what}: {out:?}"
        );
        assert!(
            xml_in
                .lock()
                .unwrap()
                .contains(&"stream:features".to_string()),
            "{what}"
        );
        assert!(
            raw_in.lock().unwrap().join("").contains("<stream:stream"),
            "{what}"
        );

        // Paused, stanzas wait; resumed, they go out in order.
        let got = collect_bodies(&conn);
        conn.pause();
        let me = conn.jid();
        for n in 0..3 {
            let m = Builder::msg([("to", me.as_str()), ("type", "chat")])
                .c_text("body", epode::xml::NO_ATTRS, &n.to_string())
                .build();
            conn.send(&m).unwrap();
        }
        std::thread::sleep(Duration::from_millis(300));
        assert!(got.lock().unwrap().is_empty(), "{what}: sent while paused");
        conn.resume().unwrap();
        eventually(10, "the held messages", || got.lock().unwrap().len() == 3);
        assert_eq!(*got.lock().unwrap(), vec!["0", "1", "2"], "{what}");
        conn.disconnect(None).unwrap();
        rec.wait_for(Status::Disconnected, 10);
        assert!(
            xml_out
                .lock()
                .unwrap()
                .contains(&"/stream:stream".to_string()),
            "{what}"
        );
    }
}

/// Strophe's rule holds on TCP too: a server that closes its stream before
/// offering any features refused the connection, which must not look like a
/// clean logout.
#[test]
fn a_stream_closed_before_the_first_features_is_connfail() {
    let (port, got) = scripted("</stream:stream>", "");
    let conn = Connection::new(&format!("tcp://127.0.0.1:{port}"), Options::default()).unwrap();
    let (mut rec, cb) = recorder();
    conn.connect("alice@localhost", Some("secret"), cb).unwrap();
    rec.wait_for(Status::Disconnected, 10);
    assert_eq!(
        rec.seen,
        [
            (Status::Connecting, None),
            (Status::ConnFail, Some("Received closing stream".into())),
            (Status::Disconnected, None)
        ]
    );
    let sent = got.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        !sent.contains("secret") && !sent.contains("<auth"),
        "{sent}"
    );
}

/// XEP-0368: direct TLS offers ALPN `xmpp-client`. `openssl s_server`
/// (with the test server's own certificate) reports what the client's
/// hello advertised, and shows the stream header that followed the
/// verified handshake.
#[test]
fn direct_tls_advertises_alpn_xmpp_client() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let server = Server::get("prosody");
    let tls = std::path::Path::new(&server.var("XMPP_CA_FILE"))
        .parent()
        .unwrap()
        .to_path_buf();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut openssl = Command::new("openssl")
        .args([
            "s_server",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-naccept",
            "1",
        ])
        .arg("-cert")
        .arg(tls.join("server.crt"))
        .arg("-key")
        .arg(tls.join("server.key"))
        .args(["-alpn", "xmpp-client"])
        .stdin(Stdio::piped()) // kept open: s_server ends when its stdin does
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_server");
    // Its output as it comes (the stream header ends in no newline).
    let mut out = openssl.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0
                || tx
                    .send(String::from_utf8_lossy(&buf[..n]).into_owned())
                    .is_err()
            {
                break;
            }
        }
    });
    let mut seen = String::new();
    let mut wait_for = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !seen.contains(what) {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(text) => seen.push_str(&text),
                Err(_) => return Err(seen.clone()),
            }
        }
        Ok(())
    };
    wait_for("ACCEPT\n").expect("s_server listening");
    let conn = Connection::new(&format!("tls://127.0.0.1:{port}"), server.tls_options()).unwrap();
    let (_rec, cb) = recorder();
    conn.connect("alice@localhost", Some("unused"), cb).unwrap();
    let header = wait_for("<stream:stream");
    let _ = openssl.kill();
    let _ = openssl.wait();
    drop(conn);
    let seen = header.map(|_| seen).unwrap_or_else(|s| s);
    assert!(
        seen.contains("ALPN protocols advertised by the client: xmpp-client\n"),
        "{seen}"
    );
    assert!(
        seen.contains("<stream:stream"),
        "no stream header after the handshake: {seen}"
    );
}
