//! The log handler against the real servers: what a session logs at each
//! level, and that no password or SASL payload ever reaches a log line.

mod common;

use base64::Engine as _;
use common::{collect_bodies, collector, eventually, recorder, Server, Shared};
use epode::{Connection, Element, LogLevel, Options, Status};
use std::sync::Arc;

fn servers() -> Vec<Server> {
    vec![Server::get("prosody"), Server::get("ejabberd")]
}

/// A connection limited to `mechanism`, with a handler at `level` that
/// keeps "LEVEL message" lines.
fn logged_conn(url: &str, mechanism: &str, level: LogLevel) -> (Connection, Shared<String>) {
    let mut options = Options::default();
    options.set("mechanisms", mechanism).unwrap();
    let conn = Connection::new(url, options).unwrap();
    let (lines, sink) = collector::<String>();
    conn.set_log_handler(level, move |l, m| {
        sink.lock().unwrap().push(format!("{l} {m}"))
    })
    .unwrap();
    (conn, lines)
}

/// Logs `user` in (or tries to) with `mechanism`, disconnects, and returns
/// the log lines and the statuses.
fn session(
    url: &str,
    jid: &str,
    password: &str,
    mechanism: &str,
    level: LogLevel,
) -> (Vec<String>, Vec<Status>) {
    let (conn, lines) = logged_conn(url, mechanism, level);
    let (mut rec, cb) = recorder();
    conn.connect(jid, Some(password), cb).unwrap();
    let statuses = rec.wait_for(Status::Disconnected, 20);
    drop(conn);
    let lines = lines.lock().unwrap().clone();
    (lines, statuses.into_iter().map(|(s, _)| s).collect())
}

/// Keeps the text of every SASL element inside `elem` (the payloads).
fn sasl_payloads(elem: &Element, out: &mut Vec<String>) {
    if elem.xmlns() == Some("urn:ietf:params:xml:ns:xmpp-sasl") && elem.text().len() > 1 {
        out.push(elem.text());
    }
    for child in elem.child_elements() {
        sasl_payloads(child, out);
    }
}

/// Logs in, sends a message to itself, disconnects; returns the log lines
/// and the SASL payloads that really went over the wire in each direction.
fn full_session(
    server: &Server,
    url: &str,
    mechanism: &str,
    level: LogLevel,
) -> (Vec<String>, Vec<String>) {
    let (conn, lines) = logged_conn(url, mechanism, level);
    let (payloads, sink_in) = collector::<String>();
    let sink_out = Arc::clone(&sink_in);
    conn.set_xml_input(Some(move |_: &Connection, e: &Element| {
        sasl_payloads(e, &mut sink_in.lock().unwrap())
    }));
    conn.set_xml_output(Some(move |_: &Connection, e: &Element| {
        sasl_payloads(e, &mut sink_out.lock().unwrap())
    }));
    let (mut rec, cb) = recorder();
    conn.connect(&server.jid("alice"), Some(&server.password("alice")), cb)
        .unwrap();
    rec.wait_for(Status::Connected, 20);
    let got = collect_bodies(&conn);
    conn.send_raw(&format!(
        "<message xmlns='jabber:client' to='{}' type='chat'><body>logged body</body></message>",
        conn.jid()
    ))
    .unwrap();
    // Back before the logout: left in flight, ejabberd keeps it offline and
    // hands it to the account's next login (another test's).
    eventually(10, "the message comes back", || {
        !got.lock().unwrap().is_empty()
    });
    conn.disconnect(None).unwrap();
    rec.wait_for(Status::Disconnected, 20);
    drop(conn);
    let lines = lines.lock().unwrap().clone();
    let payloads = payloads.lock().unwrap().clone();
    (lines, payloads)
}

/// Every form in which a password could leak into a log line.
fn secrets(user: &str, password: &str) -> Vec<String> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    vec![
        password.to_string(),
        b64(password),
        b64(&format!("\0{user}\0{password}")),
        b64(&format!("{user}@localhost\0{user}\0{password}")),
    ]
}

fn assert_no_secret(lines: &[String], user: &str, password: &str, what: &str) {
    for secret in secrets(user, password) {
        for line in lines {
            assert!(!line.contains(&secret), "{what}: {secret:?} in {line:?}");
        }
    }
}

#[test]
fn debug_logs_the_session_but_never_the_password_or_sasl_payloads() {
    for server in servers() {
        for (url, transport) in [(server.ws(), "ws"), (server.bosh(), "bosh")] {
            for mech in ["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"] {
                let what = format!("{} {transport} {mech}", server.name());
                let (lines, payloads) = full_session(&server, &url, mech, LogLevel::Debug);
                assert_no_secret(&lines, "alice", &server.password("alice"), &what);
                // The client's <auth/> and (SCRAM) the server's challenges
                // and its final message were on the wire, but not in the log.
                let least = if mech == "PLAIN" { 1 } else { 3 };
                assert!(payloads.len() >= least, "{what}: {payloads:?}");
                for p in &payloads {
                    assert!(lines.iter().all(|l| !l.contains(p.as_str())), "{what}: {p}");
                }
                let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
                assert!(has(&format!("INFO opening {url}")), "{what}: {lines:#?}");
                assert!(has(&format!("INFO SASL mechanism {mech}")), "{what}");
                assert!(has("INFO status CONNECTED"), "{what}");
                assert!(has("INFO status DISCONNECTED"), "{what}");
                // The <auth/> is logged by name and mechanism only.
                assert!(
                    has(&format!("(SASL payload not logged) mechanism {mech}")),
                    "{what}: {lines:#?}"
                );
                assert!(has("DEBUG SENT <message"), "{what}");
                assert!(has("logged body</body>"), "{what}");
                assert!(has("DEBUG RECV <iq"), "{what}: the bind result");
                if mech.starts_with("SCRAM") {
                    assert!(has("DEBUG RECV <challenge "), "{what}");
                }
            }
        }
    }
}

#[test]
fn info_leaves_out_traffic_and_a_wrong_password_is_a_warning() {
    for server in servers() {
        let what = server.name();
        let (lines, statuses) = session(
            &server.ws(),
            &server.jid("bob"),
            "wrong-pass",
            "PLAIN",
            LogLevel::Info,
        );
        assert!(statuses.contains(&Status::AuthFail), "{what}: {statuses:?}");
        assert!(lines.iter().all(|l| !l.starts_with("DEBUG")), "{lines:#?}");
        assert!(
            lines.contains(&"WARN status AUTHFAIL (not-authorized)".to_string()),
            "{what}: {lines:#?}"
        );
        assert_no_secret(&lines, "bob", "wrong-pass", &what);
        // WARN keeps only the failure.
        let (lines, _) = session(
            &server.ws(),
            &server.jid("bob"),
            "wrong-pass",
            "PLAIN",
            LogLevel::Warn,
        );
        assert_eq!(lines, ["WARN status AUTHFAIL (not-authorized)"], "{what}");
    }
}

/// The only test here that uses the process-wide default handler.
#[test]
fn the_default_handler_gets_connections_without_their_own() {
    let server = Server::get("prosody");
    let (default_lines, sink) = collector::<String>();
    epode::log::set_default_handler(LogLevel::Info, move |l, m| {
        sink.lock().unwrap().push(format!("{l} {m}"))
    })
    .unwrap();
    // A connection with its own handler: nothing reaches the default.
    let (own, _) = full_session(&server, &server.ws(), "PLAIN", LogLevel::Info);
    assert!(own.iter().any(|l| l == "INFO status CONNECTED"));
    assert!(default_lines.lock().unwrap().is_empty());
    // One without: the default gets its INFO lines (and no DEBUG).
    let conn = Connection::new(&server.ws(), Options::default()).unwrap();
    let (mut rec, cb) = recorder();
    conn.connect(&server.jid("carol"), Some("carol-pass"), cb)
        .unwrap();
    rec.wait_for(Status::Connected, 20);
    conn.disconnect(None).unwrap();
    rec.wait_for(Status::Disconnected, 20);
    drop(conn);
    epode::log::clear_default_handler().unwrap();
    let lines = default_lines.lock().unwrap().clone();
    assert!(
        lines.contains(&"INFO status CONNECTED".to_string()),
        "{lines:#?}"
    );
    assert!(lines.iter().all(|l| !l.starts_with("DEBUG")));
    assert_no_secret(&lines, "carol", "carol-pass", "default");
}
