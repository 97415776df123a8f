//! The BOSH transport against the real servers (Prosody, ejabberd).

mod common;

use common::{
    collect_bodies, collect_output, collector, eventually, login, recorder, Server, CLEAN_SESSION,
};
use epode::{Builder, Connection, Options, Status};
use std::time::{Duration, Instant};

fn servers() -> Vec<Server> {
    vec![Server::get("prosody"), Server::get("ejabberd")]
}

/// The mechanisms each server offers over BOSH (reference/servers.md).
fn bosh_mechanisms(server: &Server) -> Vec<&'static str> {
    match server.name().as_str() {
        "prosody" => vec!["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"],
        _ => vec!["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512"],
    }
}

#[test]
fn every_offered_mechanism_logs_in_over_http_and_https() {
    for server in servers() {
        for (url, options) in [
            (server.bosh(), Options::default()),
            (server.bosh_https(), server.tls_options()),
        ] {
            for mech in bosh_mechanisms(&server) {
                let mut o = options.clone();
                o.set("mechanisms", mech).unwrap();
                let conn = Connection::new(&url, o).unwrap();
                let sent = collect_output(&conn);
                let (mut rec, cb) = recorder();
                conn.connect(&server.jid("alice"), Some(&server.password("alice")), cb)
                    .unwrap();
                rec.wait_for(Status::Connected, 20);
                conn.disconnect(None).unwrap();
                rec.wait_for(Status::Disconnected, 10);
                assert_eq!(
                    rec.statuses(),
                    CLEAN_SESSION,
                    "{} {url} {mech}",
                    server.name()
                );
                let sent = sent.lock().unwrap().join("\n");
                assert!(
                    sent.contains(&format!("mechanism=\"{mech}\"")),
                    "{mech}: {sent}"
                );
                // Session creation, restart and terminate as XEP-0124/0206 say.
                assert!(
                    sent.contains("ver=\"1.6\"") && sent.contains("xmpp:version=\"1.0\""),
                    "{sent}"
                );
                assert!(sent.contains("xmpp:restart=\"true\""), "{sent}");
                assert!(sent.contains("type=\"terminate\""), "{sent}");
            }
        }
    }
}

#[test]
fn rids_start_random_and_increase_by_one() {
    let server = Server::get("prosody");
    let conn = Connection::new(&server.bosh(), Options::default()).unwrap();
    let sent = collect_output(&conn);
    let (mut rec, cb) = recorder();
    conn.connect(&server.jid("bob"), Some(&server.password("bob")), cb)
        .unwrap();
    rec.wait_for(Status::Connected, 20);
    conn.disconnect(None).unwrap();
    rec.wait_for(Status::Disconnected, 10);
    let rids: Vec<u64> = sent
        .lock()
        .unwrap()
        .iter()
        .map(|b| {
            let e = epode::xml::parse_element(b).unwrap();
            e.attr("rid").unwrap().parse().unwrap()
        })
        .collect();
    assert!(rids.len() >= 5, "{rids:?}");
    let mut sorted = rids.clone();
    sorted.sort();
    for w in sorted.windows(2) {
        assert_eq!(w[1], w[0] + 1, "rids must be consecutive: {rids:?}");
    }
    assert!(rids[0] < (1 << 53));
}

#[test]
fn bosh_and_websocket_clients_talk() {
    for server in servers() {
        let (bosh_alice, _ra) = login(&server, &server.bosh(), "alice", Options::default());
        let (ws_bob, _rb) = login(&server, &server.ws(), "bob", Options::default());
        let at_bob = collect_bodies(&ws_bob);
        let at_alice = collect_bodies(&bosh_alice);
        std::thread::sleep(Duration::from_millis(50));
        let to_bob = Builder::msg([("to", ws_bob.jid().as_str()), ("type", "chat")])
            .c_text("body", epode::xml::NO_ATTRS, "over BOSH")
            .build();
        bosh_alice.send(&to_bob).unwrap();
        eventually(10, "bob gets alice's BOSH message", || {
            !at_bob.lock().unwrap().is_empty()
        });
        let to_alice = Builder::msg([("to", bosh_alice.jid().as_str()), ("type", "chat")])
            .c_text("body", epode::xml::NO_ATTRS, "over WebSocket")
            .build();
        ws_bob.send(&to_alice).unwrap();
        eventually(10, "alice gets bob's message through the long poll", || {
            !at_alice.lock().unwrap().is_empty()
        });
        assert_eq!(at_bob.lock().unwrap()[0], "over BOSH");
        assert_eq!(at_alice.lock().unwrap()[0], "over WebSocket");
    }
}

#[test]
fn iq_round_trip_over_bosh() {
    for server in servers() {
        let (conn, _r) = login(&server, &server.bosh(), "carol", Options::default());
        let (answers, cb) = collector::<String>();
        let ping = Builder::iq([("type", "get"), ("to", server.var("XMPP_DOMAIN").as_str())])
            .c("ping", [("xmlns", "urn:xmpp:ping")])
            .build();
        let err_cb = cb.clone();
        conn.send_iq(
            ping,
            move |_, e| cb.lock().unwrap().push(format!("result {}", e.is_some())),
            move |_, _| err_cb.lock().unwrap().push("error".into()),
            Some(Duration::from_secs(5)),
        )
        .unwrap();
        eventually(10, "ping answer", || !answers.lock().unwrap().is_empty());
        assert_eq!(answers.lock().unwrap()[0], "result true");
    }
}

#[test]
fn sync_disconnect_returns_after_the_terminate_is_answered() {
    for server in servers() {
        let mut o = Options::default();
        o.set("sync", "true").unwrap();
        let conn = Connection::new(&server.bosh(), o).unwrap();
        let (mut rec, cb) = recorder();
        // In sync mode connect() returns with the session up.
        conn.connect(&server.jid("bob"), Some(&server.password("bob")), cb)
            .unwrap();
        assert!(conn.authenticated());
        rec.wait_for(Status::Connected, 0);
        let started = Instant::now();
        conn.disconnect(None).unwrap();
        // Returned: DISCONNECTED was already reported, on this thread.
        assert!(!conn.connected());
        rec.wait_for(Status::Disconnected, 0);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }
}

/// Sync mode's sends from many threads: while one of them drives the
/// engine the others wait for it, so one request carries the stanzas of
/// several senders (Strophe's queue, sent at the next request), rather
/// than one request each.
#[test]
fn sync_senders_on_many_threads_share_requests() {
    const THREADS: usize = 8;
    const EACH: usize = 50;
    for server in servers() {
        let mut o = Options::default();
        o.set("sync", "true").unwrap();
        let (conn, _rec) = login(&server, &server.bosh(), "dave", o);
        let conn = std::sync::Arc::new(conn);
        let got = collect_bodies(&conn);
        let (bodies, bodies_cb) = collector::<usize>();
        conn.set_raw_output(Some(move |_: &Connection, t: &str| {
            bodies_cb
                .lock()
                .unwrap()
                .push(t.matches("<message").count())
        }));
        let me = conn.jid();
        let senders: Vec<_> = (0..THREADS)
            .map(|t| {
                let (conn, me) = (std::sync::Arc::clone(&conn), me.clone());
                std::thread::spawn(move || {
                    for i in 0..EACH {
                        let m = Builder::msg([("to", me.as_str()), ("type", "chat")])
                            .c_text("body", epode::xml::NO_ATTRS, &format!("{t}-{i}"))
                            .build();
                        conn.send(&m).unwrap();
                    }
                })
            })
            .collect();
        for s in senders {
            s.join().unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while got.lock().unwrap().len() < THREADS * EACH && Instant::now() < deadline {
            conn.run_once(Duration::from_millis(50)).unwrap();
        }
        let got = got.lock().unwrap().clone();
        assert_eq!(got.len(), THREADS * EACH, "{}", server.name());
        // Each thread's messages arrive once each, in the order it sent them.
        for t in 0..THREADS {
            let mine: Vec<String> = got
                .iter()
                .filter(|b| b.starts_with(&format!("{t}-")))
                .cloned()
                .collect();
            let want: Vec<String> = (0..EACH).map(|i| format!("{t}-{i}")).collect();
            assert_eq!(mine, want, "{} thread {t}", server.name());
        }
        let bodies = bodies.lock().unwrap().clone();
        let carrying = bodies.iter().filter(|n| **n > 0).count();
        assert_eq!(bodies.iter().sum::<usize>(), THREADS * EACH);
        eprintln!(
            "{}: {carrying} requests carried the messages",
            server.name()
        );
        assert!(
            carrying * 2 <= THREADS * EACH,
            "{}: {carrying} requests carried the {} messages",
            server.name(),
            THREADS * EACH
        );
        conn.disconnect(None).unwrap();
    }
}

#[test]
fn switching_to_sync_on_a_live_connection_for_a_clean_exit() {
    let server = Server::get("ejabberd");
    let (conn, mut rec) = login(&server, &server.bosh(), "alice", Options::default());
    conn.set_sync(true).unwrap();
    conn.disconnect(Some("exiting")).unwrap();
    assert!(!conn.connected());
    rec.wait_for(Status::Disconnected, 0);
}

#[test]
fn pause_batches_stanzas_into_one_request() {
    let server = Server::get("prosody");
    let (alice, _ra) = login(&server, &server.bosh(), "alice", Options::default());
    let (bob, _rb) = login(&server, &server.ws(), "bob", Options::default());
    let got = collect_bodies(&bob);
    let (bodies, bodies_cb) = collector::<String>();
    alice.set_raw_output(Some(move |_: &Connection, t: &str| {
        bodies_cb.lock().unwrap().push(t.to_string())
    }));
    std::thread::sleep(Duration::from_millis(50));
    alice.pause();
    for n in 0..3 {
        let m = Builder::msg([("to", bob.jid().as_str())])
            .c_text("body", epode::xml::NO_ATTRS, &n.to_string())
            .build();
        alice.send(&m).unwrap();
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        got.lock().unwrap().is_empty(),
        "nothing leaves while paused"
    );
    alice.resume().unwrap();
    eventually(10, "three messages", || got.lock().unwrap().len() == 3);
    assert_eq!(*got.lock().unwrap(), vec!["0", "1", "2"]);
    eventually(5, "the request's raw output", || {
        bodies
            .lock()
            .unwrap()
            .iter()
            .any(|b| b.contains("<message"))
    });
    let with_messages: Vec<String> = bodies
        .lock()
        .unwrap()
        .iter()
        .filter(|b| b.contains("<message"))
        .cloned()
        .collect();
    assert_eq!(
        with_messages.len(),
        1,
        "one request carries all three: {with_messages:?}"
    );
    assert_eq!(with_messages[0].matches("<message").count(), 3);
}

#[test]
fn restore_attaches_to_a_kept_session() {
    for server in servers() {
        let dir = std::env::temp_dir().join(format!(
            "epode-restore-{}-{}",
            server.name(),
            std::process::id()
        ));
        let path = dir.join("session");
        let mut o = Options::default();
        o.set("keepalive", "true").unwrap();
        o.set("keepalive_path", path.to_str().unwrap()).unwrap();
        // Without a stored session, restore is a clear error.
        let fresh = Connection::new(&server.bosh(), o.clone()).unwrap();
        let err = fresh.restore(None, |_, _, _, _| {}).unwrap_err();
        assert!(matches!(err, epode::Error::NoSession(_)), "{err:?}");

        let (first, _r1) = login(&server, &server.bosh(), "carol", o.clone());
        let first_out = collect_output(&first);
        let jid = first.jid();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the session file is private");
        // Leave without terminating, as a process that exits would.
        first.close().unwrap();
        drop(first);

        // Somebody else's JID does not get the session.
        let other = Connection::new(&server.bosh(), o.clone()).unwrap();
        assert!(matches!(
            other.restore(Some(&server.jid("bob")), |_, _, _, _| {}),
            Err(epode::Error::NoSession(_))
        ));

        // A JID that is none is a clear error, not "somebody else".
        assert!(matches!(
            other.restore(Some("carol smith@localhost"), |_, _, _, _| {}),
            Err(epode::Error::InvalidJid(_))
        ));

        // The account written in another case is the same account (issue 20).
        let second = Connection::new(&server.bosh(), o.clone()).unwrap();
        let (mut rec, cb) = recorder();
        // Both directions, to tell which side went quiet if no answer comes.
        let (traffic, log) = collector::<String>();
        let log_in = log.clone();
        second.set_raw_output(Some(move |_: &Connection, t: &str| {
            log.lock().unwrap().push(format!("out {t}"))
        }));
        second.set_raw_input(Some(move |_: &Connection, t: &str| {
            log_in.lock().unwrap().push(format!("in  {t}"))
        }));
        let kept = std::fs::read_to_string(&path).unwrap_or_default();
        let shouted = format!("CAROL@{}", server.var("XMPP_DOMAIN").to_uppercase());
        second.restore(Some(&shouted), cb).unwrap();
        let attached = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rec.wait_for(Status::Attached, 20)
        }));
        assert!(
            attached.is_ok(),
            "{}: no ATTACHED; the kept session: {kept:?}; the first connection's last \
             bodies: {:#?}; the restored one's traffic: {:#?}",
            server.name(),
            first_out.lock().unwrap(),
            traffic.lock().unwrap()
        );
        assert_eq!(second.jid(), jid);
        // A message still flows on the restored session.
        let (ws_bob, _rb) = login(&server, &server.ws(), "bob", Options::default());
        let got = collect_bodies(&second);
        std::thread::sleep(Duration::from_millis(50));
        let m = Builder::msg([("to", jid.as_str()), ("type", "chat")])
            .c_text("body", epode::xml::NO_ATTRS, "still here")
            .build();
        ws_bob.send(&m).unwrap();
        eventually(15, "the restored session receives", || {
            !got.lock().unwrap().is_empty()
        });
        second.disconnect(None).unwrap();
        rec.wait_for(Status::Disconnected, 10);
        assert!(!path.exists(), "disconnect forgets the stored session");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn an_iq_sent_right_after_login_is_answered_every_time() {
    // Regression: the first poll and an IQ sent at once went out on two
    // HTTP connections and could overtake each other; ejabberd then waited
    // for the missing rid and the IQ timed out (seen 1 login in 20).
    let server = Server::get("ejabberd");
    for (url, tls) in [(server.bosh(), false), (server.bosh_https(), true)] {
        for round in 0..15 {
            let mut o = if tls {
                server.tls_options()
            } else {
                Options::default()
            };
            o.set("mechanisms", "PLAIN").unwrap();
            let (conn, _r) = login(&server, &url, "carol", o);
            let (answers, cb) = collector::<bool>();
            let ping = Builder::iq([("type", "get"), ("to", "localhost")])
                .c("ping", [("xmlns", "urn:xmpp:ping")])
                .build();
            let err_cb = cb.clone();
            conn.send_iq(
                ping,
                move |_, _| cb.lock().unwrap().push(true),
                move |_, _| err_cb.lock().unwrap().push(false),
                Some(Duration::from_secs(3)),
            )
            .unwrap();
            eventually(10, "an answer", || !answers.lock().unwrap().is_empty());
            assert!(
                answers.lock().unwrap()[0],
                "{url} round {round}: the IQ went unanswered"
            );
        }
    }
}

#[test]
fn a_hundred_sessions_log_in_one_after_another() {
    // Regression: a mailbox drain could eat the wake-up of a BOSH answer
    // that arrived meanwhile; the engine then slept on it (1 login in ~100).
    let server = Server::get("prosody");
    let mut conns = Vec::new();
    for i in 0..100 {
        let mut o = Options::default();
        o.set("mechanisms", "PLAIN").unwrap();
        let user = ["alice", "bob", "carol"][i % 3];
        let conn = Connection::new(&server.bosh(), o).unwrap();
        let (mut rec, cb) = recorder();
        conn.connect(&server.jid(user), Some(&server.password(user)), cb)
            .unwrap();
        rec.wait_for(Status::Connected, 10);
        conns.push(conn);
    }
}

/// Prebinds a BOSH session with raw HTTP requests, as a web application's
/// server side would: returns (full JID, sid, next rid).
fn prebind(server: &Server, user: &str) -> (String, String, u64) {
    let url = server.bosh();
    let post = |body: String| -> epode::Element {
        let text = ureq::post(&url)
            .header("Content-Type", "text/xml; charset=utf-8")
            .send(body)
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        epode::xml::parse_received(&text).unwrap()
    };
    let domain = server.var("XMPP_DOMAIN");
    let mut rid = 5_000_000u64;
    let created = post(format!(
        "<body rid='{rid}' to='{domain}' wait='60' hold='1' ver='1.6' xml:lang='en' xmpp:version='1.0' \
         xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh'/>"
    ));
    let sid = created.attr("sid").unwrap().to_string();
    use base64::Engine as _;
    let plain = base64::engine::general_purpose::STANDARD
        .encode(format!("\0{user}\0{}", server.password(user)));
    let body = |rid: u64, inner: &str, extra: &str| {
        format!("<body rid='{rid}' sid='{sid}' {extra} xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh'>{inner}</body>")
    };
    rid += 1;
    let auth = post(body(
        rid,
        &format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{plain}</auth>"),
        "",
    ));
    assert!(auth.find_child("success", None).is_some(), "{auth}");
    rid += 1;
    post(body(
        rid,
        "",
        &format!("to='{domain}' xml:lang='en' xmpp:restart='true'"),
    ));
    rid += 1;
    let bound = post(body(
        rid,
        "<iq xmlns='jabber:client' type='set' id='pb'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>",
        "",
    ));
    let jid = bound
        .find_child("iq", None)
        .and_then(|iq| iq.find_child("bind", None))
        .and_then(|b| b.child_text("jid"))
        .unwrap();
    (jid, sid, rid + 1)
}

#[test]
fn attach_to_a_prebound_session() {
    for server in servers() {
        let (jid, sid, rid) = prebind(&server, "alice");
        let conn = Connection::new(&server.bosh(), Options::default()).unwrap();
        let (mut rec, cb) = recorder();
        conn.attach(&jid, &sid, rid, cb).unwrap();
        rec.wait_for(Status::Attached, 15);
        assert_eq!(rec.statuses(), vec![Status::Attached]);
        assert!(conn.authenticated());
        assert_eq!(conn.jid(), jid);
        let got = collect_bodies(&conn);
        let (bob, _rb) = login(&server, &server.ws(), "bob", Options::default());
        std::thread::sleep(Duration::from_millis(50));
        let m = Builder::msg([("to", jid.as_str()), ("type", "chat")])
            .c_text("body", epode::xml::NO_ATTRS, "to the attached session")
            .build();
        bob.send(&m).unwrap();
        eventually(15, "the attached session receives", || {
            !got.lock().unwrap().is_empty()
        });
        conn.disconnect(None).unwrap();
        rec.wait_for(Status::Disconnected, 10);
    }
}

#[test]
fn xml_hooks_see_bodies_unless_strip() {
    let server = Server::get("prosody");
    for strip in [false, true] {
        let mut o = Options::default();
        o.set("strip", if strip { "true" } else { "false" })
            .unwrap();
        let conn = Connection::new(&server.bosh(), o).unwrap();
        let (ins, ins_cb) = collector::<String>();
        let (outs, outs_cb) = collector::<String>();
        conn.set_xml_input(Some(move |_: &Connection, e: &epode::Element| {
            ins_cb.lock().unwrap().push(e.name().to_string())
        }));
        conn.set_xml_output(Some(move |_: &Connection, e: &epode::Element| {
            outs_cb.lock().unwrap().push(e.name().to_string())
        }));
        let (mut rec, cb) = recorder();
        conn.connect(&server.jid("bob"), Some(&server.password("bob")), cb)
            .unwrap();
        rec.wait_for(Status::Connected, 20);
        conn.disconnect(None).unwrap();
        rec.wait_for(Status::Disconnected, 10);
        let (ins, outs) = (ins.lock().unwrap().clone(), outs.lock().unwrap().clone());
        if strip {
            assert!(
                !ins.iter().any(|n| n == "body") && ins.iter().any(|n| n == "stream:features"),
                "{ins:?}"
            );
            assert!(
                !outs.iter().any(|n| n == "body") && outs.iter().any(|n| n == "auth"),
                "{outs:?}"
            );
        } else {
            assert!(ins.iter().all(|n| n == "body") && ins.len() >= 4, "{ins:?}");
            assert!(
                outs.iter().all(|n| n == "body") && outs.len() >= 5,
                "{outs:?}"
            );
        }
    }
}

/// A second login with the same full JID replaces the first (both servers'
/// default): the BOSH session it displaces ends with Strophe's condition
/// `conflict`, however the server wraps it in its terminate body, and
/// CONNFAIL rather than a clean logout.
#[test]
fn a_login_that_takes_the_resource_ends_the_bosh_session_with_conflict() {
    for server in servers() {
        let mut o = Options::default();
        o.set("resource", "taken").unwrap();
        let (first, mut rec) = login(&server, &server.bosh(), "dave", o.clone());
        let (received, cb) = collector::<String>();
        first.set_raw_input(Some(move |_: &Connection, t: &str| {
            cb.lock().unwrap().push(t.to_string())
        }));
        let (second, _r2) = login(&server, &server.ws(), "dave", o);
        let events = rec.wait_for(Status::Disconnected, 20);
        assert_eq!(
            rec.seen[3..],
            [
                (Status::ConnFail, Some("conflict".into())),
                (Status::Disconnected, Some("conflict".into()))
            ],
            "{}: {events:?} {:?}",
            server.name(),
            received.lock().unwrap()
        );
        assert!(!first.authenticated());
        assert!(second.authenticated(), "{}", server.name());
        second.disconnect(None).unwrap();
    }
}
