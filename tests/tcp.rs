//! The TCP transport (RFC 6120 with STARTTLS, and direct TLS as XEP-0368
//! says) against the real servers: every mechanism each offers there,
//! certificates, the stream it writes, stanzas both ways.

mod common;

use common::{collect_bodies, collector, eventually, login, recorder, Server};
use epode::{Builder, Connection, Options, Status};
use std::time::Duration;

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
                let (sent, sent_cb) = collector::<String>();
                conn.set_raw_output(Some(move |_: &Connection, t: &str| {
                    sent_cb.lock().unwrap().push(t.to_string())
                }));
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
                assert_eq!(
                    rec.statuses(),
                    vec![
                        Status::Connecting,
                        Status::Authenticating,
                        Status::Connected,
                        Status::Disconnecting,
                        Status::Disconnected
                    ],
                    "{what}"
                );
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
            let (sent, sent_cb) = collector::<String>();
            conn.set_raw_output(Some(move |_: &Connection, t: &str| {
                sent_cb.lock().unwrap().push(t.to_string())
            }));
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
