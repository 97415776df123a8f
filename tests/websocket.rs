//! The engine over WebSocket against the real servers (Prosody, ejabberd).

mod common;

use common::{collect_bodies, collector, eventually, login, recorder, Server, CLEAN_SESSION};
use epode::{Builder, Connection, Keep, Matcher, Options, Status};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn servers() -> Vec<Server> {
    vec![Server::get("prosody"), Server::get("ejabberd")]
}

/// The mechanisms each server offers on WebSocket (reference/servers.md).
fn ws_mechanisms(server: &Server) -> Vec<&'static str> {
    match server.name().as_str() {
        "prosody" => vec!["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"],
        _ => vec!["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512"],
    }
}

/// Logs in with exactly one mechanism and returns the statuses and the
/// mechanism named in the <auth/> that went out.
fn login_with(
    server: &Server,
    url: &str,
    mechanism: &str,
    options: Options,
) -> (Vec<Status>, String) {
    let mut options = options;
    options.set("mechanisms", mechanism).unwrap();
    let conn = Connection::new(url, options).unwrap();
    let (auth_seen, auth_seen_cb) = collector::<String>();
    conn.set_raw_output(Some(move |_: &Connection, text: &str| {
        if text.starts_with("<auth ") {
            auth_seen_cb.lock().unwrap().push(text.to_string());
        }
    }));
    let (mut rec, cb) = recorder();
    conn.connect(&server.jid("alice"), Some(&server.password("alice")), cb)
        .unwrap();
    rec.wait_for(Status::Connected, 20);
    assert!(conn.authenticated());
    assert!(
        conn.jid().starts_with(&format!("{}/", server.jid("alice"))),
        "bound JID {}",
        conn.jid()
    );
    conn.disconnect(Some("done")).unwrap();
    rec.wait_for(Status::Disconnected, 10);
    assert!(!conn.authenticated());
    let auth = auth_seen.lock().unwrap().join("");
    (rec.statuses(), auth)
}

#[test]
fn every_offered_mechanism_logs_in_with_strophes_status_order() {
    for server in servers() {
        for mech in ws_mechanisms(&server) {
            let (statuses, auth) = login_with(&server, &server.ws(), mech, Options::default());
            assert_eq!(statuses, CLEAN_SESSION, "{} {mech}", server.name());
            assert!(
                auth.contains(&format!("mechanism=\"{mech}\"")),
                "{} {mech}: sent {auth}",
                server.name()
            );
        }
    }
}

#[test]
fn the_best_offered_mechanism_wins() {
    for server in servers() {
        let conn = Connection::new(&server.ws(), Options::default()).unwrap();
        let (auth_seen, auth_cb) = collector::<String>();
        conn.set_raw_output(Some(move |_: &Connection, t: &str| {
            if t.starts_with("<auth ") {
                auth_cb.lock().unwrap().push(t.to_string());
            }
        }));
        let (mut rec, cb) = recorder();
        conn.connect(&server.jid("bob"), Some(&server.password("bob")), cb)
            .unwrap();
        rec.wait_for(Status::Connected, 20);
        let want = if server.name() == "prosody" {
            "SCRAM-SHA-256"
        } else {
            "SCRAM-SHA-512"
        };
        assert!(
            auth_seen.lock().unwrap()[0].contains(want),
            "{}: {:?}",
            server.name(),
            auth_seen.lock().unwrap()
        );
    }
}

#[test]
fn wrong_password_is_authfail_then_disconnected() {
    for server in servers() {
        for mech in ["PLAIN", "SCRAM-SHA-1"] {
            let mut o = Options::default();
            o.set("mechanisms", mech).unwrap();
            let conn = Connection::new(&server.ws(), o).unwrap();
            let (mut rec, cb) = recorder();
            conn.connect(&server.jid("alice"), Some("wrong"), cb)
                .unwrap();
            rec.wait_for(Status::Disconnected, 20);
            assert_eq!(
                rec.seen,
                vec![
                    (Status::Connecting, None),
                    (Status::Authenticating, None),
                    (Status::AuthFail, Some("not-authorized".into())),
                    (Status::Disconnected, None)
                ],
                "{} {mech}",
                server.name()
            );
            assert!(!conn.connected());
        }
    }
}

/// Issue 14, item 1: AUTHFAIL carries the server's SASL `<failure/>` as
/// the status callback's element, as Strophe passes it; no other status
/// of the login carries one.
#[test]
fn authfail_carries_the_sasl_failure_element() {
    for server in servers() {
        for url in [server.ws(), server.bosh()] {
            let conn = Connection::new(&url, Options::default()).unwrap();
            let (mut rec, cb, elements) = common::recorder_with_elements();
            conn.connect(&server.jid("alice"), Some("wrong"), cb)
                .unwrap();
            rec.wait_for(Status::Disconnected, 20);
            let elements = elements.lock().unwrap().clone();
            let with: Vec<_> = elements.iter().filter(|(_, e)| e.is_some()).collect();
            assert_eq!(with.len(), 1, "{} {url}: {elements:?}", server.name());
            let (status, xml) = with[0];
            assert_eq!(*status, Status::AuthFail, "{} {url}", server.name());
            let failure = epode::xml::parse_element(xml.as_deref().unwrap()).unwrap();
            assert_eq!(failure.name(), "failure", "{xml:?}");
            assert_eq!(
                failure.attr("xmlns"),
                Some("urn:ietf:params:xml:ns:xmpp-sasl"),
                "{xml:?}"
            );
            assert!(
                failure.find_child("not-authorized", None).is_some(),
                "{} {url}: {xml:?}",
                server.name()
            );
        }
    }
}

#[test]
fn anonymous_login_gets_a_generated_jid() {
    for server in servers() {
        let conn = Connection::new(&server.ws(), Options::default()).unwrap();
        let (mut rec, cb) = recorder();
        conn.connect(&server.var("XMPP_ANON_DOMAIN"), None, cb)
            .unwrap();
        rec.wait_for(Status::Connected, 20);
        assert!(
            conn.jid().contains('@'),
            "{}: {}",
            server.name(),
            conn.jid()
        );
        assert!(conn.jid().contains(&server.var("XMPP_ANON_DOMAIN")));
    }
}

#[test]
fn x_oauth2_with_an_ejabberd_token() {
    let server = Server::get("ejabberd");
    let mut o = Options::default();
    o.set("mechanisms", "X-OAUTH2").unwrap();
    let conn = Connection::new(&server.ws(), o).unwrap();
    let (mut rec, cb) = recorder();
    conn.connect(
        &server.jid("alice"),
        Some(&server.var("XMPP_ALICE_OAUTH_TOKEN")),
        cb,
    )
    .unwrap();
    rec.wait_for(Status::Connected, 20);
}

#[test]
fn alice_sends_bob_a_message() {
    for server in servers() {
        let (alice, _ra) = login(&server, &server.ws(), "alice", Options::default());
        let (bob, _rb) = login(&server, &server.ws(), "bob", Options::default());
        let (got, got_cb) = collector::<(String, String)>();
        bob.add_handler(Matcher::new().name("message").type_("chat"), move |_, m| {
            got_cb.lock().unwrap().push((
                m.attr("from").unwrap_or_default().to_string(),
                m.child_text("body").unwrap_or_default(),
            ));
            Keep::Keep
        })
        .unwrap();
        // The handler is registered through the engine's inbox: give it a moment.
        std::thread::sleep(Duration::from_millis(50));
        let msg = Builder::msg([("to", bob.jid().as_str()), ("type", "chat")])
            .c_text("body", epode::xml::NO_ATTRS, "hello <bob> & \"friends\"")
            .build();
        alice.send(&msg).unwrap();
        eventually(10, "bob receives the message", || {
            !got.lock().unwrap().is_empty()
        });
        let (from, body) = got.lock().unwrap()[0].clone();
        assert_eq!(from, alice.jid());
        assert_eq!(body, "hello <bob> & \"friends\"");
    }
}

/// A stanza written without a namespace can only mean jabber:client: it
/// gets it, over both transports, instead of ending the stream (a
/// WebSocket server reads it as in no namespace, a BOSH body puts it in
/// httpbind's).
#[test]
fn stanzas_written_without_a_namespace_get_jabber_client() {
    for server in servers() {
        for url in [server.ws(), server.bosh()] {
            let (alice, rec) = login(&server, &url, "alice", Options::default());
            let got = collect_bodies(&alice);
            std::thread::sleep(Duration::from_millis(50));
            let me = alice.jid();
            alice
                .send_raw(&format!(
                    "<message to='{me}' type='chat'><body>raw</body></message>"
                ))
                .unwrap();
            let parsed = epode::xml::parse_element(&format!(
                "<message to='{me}' type='chat'><body>element</body></message>"
            ))
            .unwrap();
            alice.send(&parsed).unwrap();
            alice.send_raw("<presence/>").unwrap();
            eventually(10, "both messages come back", || {
                got.lock().unwrap().len() >= 2
            });
            std::thread::sleep(Duration::from_millis(300));
            assert_eq!(*got.lock().unwrap(), ["raw", "element"], "{url}");
            assert!(alice.connected(), "{url}: {:?}", rec.statuses());
            assert_eq!(rec.statuses().last(), Some(&Status::Connected), "{url}");
            alice.disconnect(None).unwrap();
        }
    }
}

/// rawOutput and xmlOutput run as the text goes out (as in Strophe), not
/// when the server next says something: here it says nothing.
#[test]
fn output_hooks_run_when_the_text_goes_out() {
    for (server, worker) in servers()
        .into_iter()
        .flat_map(|s| [(s.clone(), None), (s, Some("hooks"))])
    {
        let mut o = Options::default();
        o.set("streamManagement", "false").unwrap(); // no <r/>, no <a/>
        o.set("pingInterval", "0").unwrap();
        if let Some(w) = worker {
            // The shared connection's handle transport too.
            o.set(
                "worker",
                &format!("{w}-{}-{}", server.name(), std::process::id()),
            )
            .unwrap();
        }
        let (alice, _rec) = login(&server, &server.ws(), "alice", o);
        let (raw, raw_cb) = collector::<String>();
        alice.set_raw_output(Some(move |_: &Connection, t: &str| {
            raw_cb.lock().unwrap().push(t.to_string())
        }));
        let (xml, xml_cb) = collector::<String>();
        alice.set_xml_output(Some(move |_: &Connection, e: &epode::Element| {
            xml_cb.lock().unwrap().push(e.to_xml())
        }));
        std::thread::sleep(Duration::from_millis(100));
        // A directed presence to an account that is offline: no answer.
        let bob = server.jid("bob");
        alice
            .send(&Builder::pres([("to", bob.as_str())]).build())
            .unwrap();
        eventually(2, "the hooks see the presence", || {
            let seen = |v: &Arc<Mutex<Vec<String>>>| {
                v.lock().unwrap().iter().any(|t| t.contains("<presence"))
            };
            seen(&raw) && seen(&xml)
        });
        alice.disconnect(None).unwrap();
    }
}

#[test]
fn iq_round_trip_and_timeout() {
    for server in servers() {
        let (alice, _ra) = login(&server, &server.ws(), "alice", Options::default());
        let (answers, answers_cb) = collector::<String>();
        let ping = Builder::iq([("type", "get"), ("to", server.var("XMPP_DOMAIN").as_str())])
            .c("ping", [("xmlns", "urn:xmpp:ping")])
            .build();
        let (ok_cb, err_cb) = (answers_cb.clone(), answers_cb.clone());
        alice
            .send_iq(
                ping,
                move |_, e| {
                    ok_cb.lock().unwrap().push(format!(
                        "result {}",
                        e.and_then(|e| e.attr("type")).unwrap_or("")
                    ))
                },
                move |_, e| {
                    err_cb
                        .lock()
                        .unwrap()
                        .push(format!("error {}", e.is_some()))
                },
                Some(Duration::from_secs(5)),
            )
            .unwrap();
        eventually(10, "ping answer", || !answers.lock().unwrap().is_empty());
        assert_eq!(answers.lock().unwrap()[0], "result result");

        // bob swallows IQs: alice's IQ to him times out and on_error gets None.
        let (bob, _rb) = login(&server, &server.ws(), "bob", Options::default());
        bob.add_handler(Matcher::new().name("iq").type_("get"), |_, _| Keep::Keep)
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        answers.lock().unwrap().clear();
        let q = Builder::iq([("type", "get"), ("to", bob.jid().as_str())])
            .c("query", [("xmlns", "urn:example:silence")])
            .build();
        let (ok_cb, err_cb) = (answers_cb.clone(), answers_cb.clone());
        alice
            .send_iq(
                q,
                move |_, _| ok_cb.lock().unwrap().push("result".into()),
                move |_, e| {
                    err_cb
                        .lock()
                        .unwrap()
                        .push(format!("error {}", e.is_some()))
                },
                Some(Duration::from_millis(300)),
            )
            .unwrap();
        eventually(5, "IQ timeout", || !answers.lock().unwrap().is_empty());
        assert_eq!(answers.lock().unwrap()[0], "error false");
    }
}

/// Issue 14, item 9: a handler on the stanza-errors namespace catches the
/// server's IQ error, whose condition sits two levels down
/// (`<iq><error><service-unavailable xmlns=…stanzas/></error></iq>`), as in
/// Strophe since 3.1; a handler for the same namespace with "" as its name
/// (a wildcard) catches it too.
#[test]
fn a_handler_on_the_stanza_errors_namespace_catches_an_iq_error() {
    for server in servers() {
        let (alice, _ra) = login(&server, &server.ws(), "alice", Options::default());
        let (errors, cb) = collector::<String>();
        let cb2 = Arc::clone(&cb);
        alice
            .add_handler(
                Matcher::new().ns("urn:ietf:params:xml:ns:xmpp-stanzas"),
                move |_, iq| {
                    cb.lock().unwrap().push(iq.attr("id").unwrap_or("").into());
                    Keep::Keep
                },
            )
            .unwrap();
        alice
            .add_handler(
                Matcher::new()
                    .ns("urn:ietf:params:xml:ns:xmpp-stanzas")
                    .name("")
                    .id(""),
                move |_, iq| {
                    cb2.lock()
                        .unwrap()
                        .push(format!("wild {}", iq.attr("type").unwrap_or("")));
                    Keep::Keep
                },
            )
            .unwrap();
        // Sent with send(), not send_iq(): its answer goes to the handlers.
        let q = Builder::iq([
            ("type", "get"),
            ("id", "nsq1"),
            ("to", server.var("XMPP_DOMAIN").as_str()),
        ])
        .c("query", [("xmlns", "urn:x-epode:no-such-protocol")])
        .build();
        alice.send(&q).unwrap();
        eventually(10, "the IQ error", || errors.lock().unwrap().len() >= 2);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            *errors.lock().unwrap(),
            vec!["nsq1".to_string(), "wild error".to_string()],
            "{}",
            server.name()
        );
    }
}

#[test]
fn an_unhandled_iq_get_is_answered_service_unavailable() {
    for server in servers() {
        let (alice, _ra) = login(&server, &server.ws(), "alice", Options::default());
        let (bob, _rb) = login(&server, &server.ws(), "bob", Options::default());
        let (answers, cb) = collector::<String>();
        let q = Builder::iq([("type", "get"), ("to", bob.jid().as_str())])
            .c("query", [("xmlns", "urn:example:nobody-handles-this")])
            .build();
        let err_cb = cb.clone();
        alice
            .send_iq(
                q,
                move |_, _| cb.lock().unwrap().push("result".into()),
                move |_, e| {
                    let cond = e
                        .and_then(|e| e.find_child("error", None))
                        .and_then(|e| e.child_elements().next().map(|c| c.name().to_string()));
                    err_cb.lock().unwrap().push(cond.unwrap_or_default());
                },
                Some(Duration::from_secs(5)),
            )
            .unwrap();
        eventually(10, "error answer", || !answers.lock().unwrap().is_empty());
        assert_eq!(
            answers.lock().unwrap()[0],
            "service-unavailable",
            "{}",
            server.name()
        );
    }
}

#[test]
fn wss_verifies_the_servers_certificate() {
    for server in servers() {
        // With the servers' own CA: CONNECTED.
        let (conn, _r) = login(&server, &server.wss(), "carol", server.tls_options());
        assert!(conn.authenticated());
        // Without it: the certificate is not trusted, CONNFAIL then DISCONNECTED.
        let conn = Connection::new(&server.wss(), Options::default()).unwrap();
        let (mut rec, cb) = recorder();
        conn.connect(&server.jid("carol"), Some(&server.password("carol")), cb)
            .unwrap();
        rec.wait_for(Status::Disconnected, 20);
        assert_eq!(
            rec.statuses(),
            vec![Status::Connecting, Status::ConnFail, Status::Disconnected]
        );
        let why = rec.seen[1].1.clone().unwrap_or_default();
        assert!(
            why.to_lowercase().contains("certificate") || why.contains("TLS"),
            "{why}"
        );
    }
}

#[test]
fn a_kicked_session_reports_the_stream_error() {
    // Prosody: the admin shell closes alice's session with a stream error.
    // Only this session (full JID): other tests run as alice at the same time.
    let server = Server::get("prosody");
    let mut o = Options::default();
    o.set("resource", "kicked").unwrap();
    let (conn, mut rec) = login(&server, &server.ws(), "alice", o);
    let out = Command::new(server.var("XMPP_CTL"))
        .args([
            "shell",
            "c2s:close('alice@localhost/kicked', 'kicked by test', 'policy-violation')",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    rec.wait_for(Status::Disconnected, 10);
    assert_eq!(
        rec.seen[3..],
        [
            (Status::Error, Some("policy-violation".into())),
            (Status::Disconnected, Some("policy-violation".into()))
        ]
    );
    assert!(!conn.authenticated());

    // ejabberd: kick_session through its HTTP API gives <conflict/>.
    let server = Server::get("ejabberd");
    let mut o = Options::default();
    o.set("resource", "probe").unwrap();
    let (_conn, mut rec) = login(&server, &server.ws(), "bob", o);
    let out = Command::new("curl")
        .args([
            "-sS",
            "-d",
            r#"{"user":"bob","host":"localhost","resource":"probe","reason":"kicked by test"}"#,
            &format!("{}/kick_session", server.var("XMPP_API_URL")),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    rec.wait_for(Status::Disconnected, 10);
    assert_eq!(rec.seen[3].0, Status::Error, "{:?}", rec.seen);
    assert_eq!(rec.seen[3].1.as_deref(), Some("conflict"));
}

#[test]
fn see_other_uri_redirects_and_logs_in_again() {
    let server = Server::get("ejabberd");
    let mut o = Options::default();
    o.set("resource", "probe").unwrap();
    let (conn, mut rec) = login(&server, &server.ws(), "carol", o);
    let target = server.ws();
    let expr = format!(
        "P = ejabberd_sm:get_session_pid(<<\"carol\">>,<<\"localhost\">>,<<\"probe\">>), \
         ejabberd_c2s:send(P, {{xmlel, <<\"close\">>, [{{<<\"xmlns\">>, <<\"urn:ietf:params:xml:ns:xmpp-framing\">>}}, \
         {{<<\"see-other-uri\">>, <<\"{target}\">>}}], []}}), ejabberd_c2s:close(P)."
    );
    let out = Command::new(server.var("XMPP_EVAL"))
        .arg(&expr)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    rec.wait_for(Status::Redirect, 10);
    // The REDIRECT is followed by a fresh login on the new URI.
    let redirect_at = rec
        .statuses()
        .iter()
        .position(|s| *s == Status::Redirect)
        .unwrap();
    rec.seen.truncate(redirect_at + 1);
    let mut later = common::Recorder {
        rx: rec.rx,
        seen: Vec::new(),
    };
    later.wait_for(Status::Connected, 20);
    assert_eq!(
        later.statuses(),
        vec![
            Status::Connecting,
            Status::Authenticating,
            Status::Connected
        ]
    );
    assert!(conn.authenticated());
}

#[test]
fn handlers_added_in_a_handler_apply_from_the_next_stanza() {
    let server = Server::get("prosody");
    let (alice, _ra) = login(&server, &server.ws(), "alice", Options::default());
    let (bob, _rb) = login(&server, &server.ws(), "bob", Options::default());
    let order = Arc::new(Mutex::new(Vec::<String>::new()));
    let o1 = Arc::clone(&order);
    bob.add_handler(Matcher::new().name("message"), move |conn, m| {
        let body = m.child_text("body").unwrap_or_default();
        o1.lock().unwrap().push(format!("first {body}"));
        let o2 = Arc::clone(&o1);
        conn.add_handler(Matcher::new().name("message"), move |_, m| {
            o2.lock().unwrap().push(format!(
                "added {}",
                m.child_text("body").unwrap_or_default()
            ));
            Keep::Remove
        })
        .unwrap();
        Keep::from(body != "2")
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    for n in ["1", "2", "3"] {
        let msg = Builder::msg([("to", bob.jid().as_str())])
            .c_text("body", epode::xml::NO_ATTRS, n)
            .build();
        alice.send(&msg).unwrap();
    }
    let seen = Arc::clone(&order);
    eventually(10, "three messages handled", move || {
        let n = seen.lock().unwrap().len();
        if n < 4 {
            eprintln!("so far: {:?}", seen.lock().unwrap());
        }
        n >= 4
    });
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        *order.lock().unwrap(),
        vec!["first 1", "first 2", "added 2", "added 3"],
        "a handler added during dispatch starts with the next stanza; one returning Remove is gone"
    );
}

#[test]
fn explicit_resource_binding_stops_at_bindrequired_until_bind() {
    for server in servers() {
        let mut o = Options::default();
        o.set("explicitResourceBinding", "true").unwrap();
        o.set("resource", "explicit").unwrap();
        let conn = Connection::new(&server.ws(), o).unwrap();
        let (mut rec, cb) = recorder();
        conn.connect(&server.jid("carol"), Some(&server.password("carol")), cb)
            .unwrap();
        rec.wait_for(Status::BindRequired, 20);
        assert!(!conn.authenticated());
        assert!(
            conn.send(&Builder::pres(epode::xml::NO_ATTRS).build())
                .is_ok(),
            "stream-level setup may send"
        );
        conn.bind().unwrap();
        rec.wait_for(Status::Connected, 10);
        assert_eq!(
            rec.statuses(),
            vec![
                Status::Connecting,
                Status::Authenticating,
                Status::BindRequired,
                Status::Connected
            ]
        );
        assert!(conn.jid().ends_with("/explicit"), "{}", conn.jid());
    }
}

#[test]
fn timed_handlers_start_with_the_session_and_stop_when_told() {
    let server = Server::get("prosody");
    let conn = Connection::new(&server.ws(), Options::default()).unwrap();
    let (ticks, ticks_cb) = collector::<std::time::Instant>();
    // Added before login: it starts when the session is up.
    conn.add_timed_handler(Duration::from_millis(50), move |_| {
        let mut t = ticks_cb.lock().unwrap();
        t.push(std::time::Instant::now());
        Keep::from(t.len() < 3)
    });
    let (mut rec, cb) = recorder();
    let before = std::time::Instant::now();
    conn.connect(&server.jid("alice"), Some(&server.password("alice")), cb)
        .unwrap();
    rec.wait_for(Status::Connected, 20);
    let connected_at = std::time::Instant::now();
    eventually(5, "three ticks", || ticks.lock().unwrap().len() == 3);
    std::thread::sleep(Duration::from_millis(200));
    let ticks = ticks.lock().unwrap();
    assert_eq!(ticks.len(), 3, "returning Remove stops it");
    assert!(ticks[0] >= before + Duration::from_millis(50));
    assert!(
        ticks[0] + Duration::from_millis(10) >= connected_at,
        "not before the session was up"
    );
    for w in ticks.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            gap >= Duration::from_millis(45) && gap < Duration::from_millis(500),
            "{gap:?}"
        );
    }
}

#[test]
fn send_presence_tracks_the_answer_and_pause_holds_stanzas() {
    let server = Server::get("ejabberd");
    let (alice, _ra) = login(&server, &server.ws(), "alice", Options::default());
    let (bob, _rb) = login(&server, &server.ws(), "bob", Options::default());
    // A presence to a domain that does not exist bounces with an error.
    let (answers, cb) = collector::<String>();
    let err_cb = cb.clone();
    let probe = Builder::pres([("to", "nobody@nowhere.invalid")]).build();
    alice
        .send_presence(
            probe,
            move |_, _| cb.lock().unwrap().push("result".into()),
            move |_, e| {
                err_cb
                    .lock()
                    .unwrap()
                    .push(format!("error {}", e.is_some()))
            },
            Some(Duration::from_secs(5)),
        )
        .unwrap();
    eventually(10, "the bounced presence", || {
        !answers.lock().unwrap().is_empty()
    });
    assert_eq!(answers.lock().unwrap()[0], "error true");

    let got = collect_bodies(&bob);
    std::thread::sleep(Duration::from_millis(50));
    alice.pause();
    eventually(2, "paused", || alice.paused());
    for n in ["a", "b"] {
        let m = Builder::msg([("to", bob.jid().as_str())])
            .c_text("body", epode::xml::NO_ATTRS, n)
            .build();
        alice.send(&m).unwrap();
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(got.lock().unwrap().is_empty(), "held while paused");
    alice.resume().unwrap();
    eventually(10, "both after resume", || got.lock().unwrap().len() == 2);
    assert_eq!(*got.lock().unwrap(), vec!["a", "b"]);
    assert!(!alice.paused());
}

#[test]
fn a_custom_rust_mechanism_replaces_a_builtin() {
    use epode::sasl::{Credentials, Mechanism, SaslError};
    use std::sync::atomic::{AtomicUsize, Ordering};
    struct MyPlain(Arc<AtomicUsize>);
    impl Mechanism for MyPlain {
        fn name(&self) -> &str {
            "PLAIN"
        }
        fn priority(&self) -> i32 {
            99
        }
        fn is_client_first(&self) -> bool {
            true
        }
        fn test(&self, _: &Credentials) -> bool {
            true
        }
        fn start(&mut self, c: &Credentials) -> Result<Option<Vec<u8>>, SaslError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            let pw = c.password.clone().unwrap_or_default();
            Ok(Some(
                format!("\0{}\0{pw}", c.authcid.clone().unwrap_or_default()).into_bytes(),
            ))
        }
        fn challenge(&mut self, _: &Credentials, _: &[u8]) -> Result<Vec<u8>, SaslError> {
            Err(SaslError::Protocol("PLAIN has no challenge".into()))
        }
        fn success(&mut self, _: &Credentials, _: Option<&[u8]>) -> Result<(), SaslError> {
            Ok(())
        }
    }
    let server = Server::get("prosody");
    let used = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let conn = Connection::new(&server.ws(), Options::default()).unwrap();
    let u = Arc::clone(&used);
    conn.register_mechanism(move || Box::new(MyPlain(Arc::clone(&u))));
    for _ in 0..2 {
        let (mut rec, cb) = recorder();
        conn.connect(&server.jid("bob"), Some(&server.password("bob")), cb)
            .unwrap();
        rec.wait_for(Status::Connected, 20);
        conn.disconnect(None).unwrap();
        rec.wait_for(Status::Disconnected, 10);
    }
    assert_eq!(
        used.load(Ordering::SeqCst),
        2,
        "a fresh instance for each login"
    );
}

#[test]
fn a_panicking_callback_ends_the_session_with_error_not_the_process() {
    let server = Server::get("prosody");
    let (conn, mut rec) = login(&server, &server.ws(), "carol", Options::default());
    conn.add_handler(Matcher::new().name("message"), |_, _| {
        panic!("application bug")
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let me = conn.jid();
    let m = Builder::msg([("to", me.as_str())])
        .c_text("body", epode::xml::NO_ATTRS, "boom")
        .build();
    conn.send(&m).unwrap();
    rec.wait_for(Status::Disconnected, 10);
    let error = rec.seen.iter().find(|(s, _)| *s == Status::Error).cloned();
    let condition = error.and_then(|(_, c)| c).unwrap_or_default();
    assert!(condition.contains("application bug"), "{:?}", rec.seen);
    // The connection can log in again.
    let (mut again, cb) = recorder();
    conn.connect(&server.jid("carol"), Some(&server.password("carol")), cb)
        .unwrap();
    again.wait_for(Status::Connected, 20);
}

#[test]
fn accept_invalid_certs_must_be_asked_for_and_then_works() {
    let server = Server::get("prosody");
    let mut o = Options::default();
    o.set("accept_invalid_certs", "true").unwrap();
    let (conn, _r) = login(&server, &server.wss(), "bob", o);
    assert!(conn.authenticated());
}
