//! BOSH against a scripted HTTP peer: headers and cookies as the server
//! sees them, and the faults a real server will not produce on demand.

mod common;

use common::fake_http::{serve, session_script, Reply};
use common::{collector, recorder, Recorder};
use epode::{Connection, Options, Status};
use std::time::{Duration, Instant};

fn anonymous(url: &str, options: Options) -> (Connection, Recorder) {
    let conn = Connection::new(url, options).unwrap();
    let (rec, cb) = recorder();
    conn.connect("localhost", None, cb).unwrap();
    (conn, rec)
}

#[test]
fn custom_headers_cookies_and_content_type_reach_the_server() {
    let (url, log) = serve(|req, _| session_script(req, None));
    let mut o = Options::default();
    o.set("customHeaders", "X-App-Version: 2.1.0").unwrap();
    o.set("customHeaders", "X-Request-ID: abc123").unwrap();
    o.set("cookies", "authToken=eyJ; Domain=127.0.0.1; Path=/")
        .unwrap();
    o.set("cookies", "elsewhere=no; Domain=example.com")
        .unwrap();
    o.set("contentType", "text/plain").unwrap();
    let (conn, mut rec) = anonymous(&url, o);
    rec.wait_for(Status::Connected, 10);
    conn.disconnect(None).unwrap();
    rec.wait_for(Status::Disconnected, 10);
    let log = log.lock().unwrap();
    assert!(log.len() >= 5, "{} requests", log.len());
    for req in log.iter() {
        assert_eq!(req.header("X-App-Version"), Some("2.1.0"));
        assert_eq!(req.header("X-Request-ID"), Some("abc123"));
        assert_eq!(
            req.header("Cookie"),
            Some("authToken=eyJ"),
            "only the matching cookie"
        );
        assert_eq!(req.header("Content-Type"), Some("text/plain"));
    }
    // Issue 14, item 6: contentType is the header only; the session
    // request's `content` attribute stays Strophe's text/xml.
    let first = epode::xml::parse_element(&log[0].body).unwrap();
    assert_eq!(first.attr("content"), Some("text/xml; charset=utf-8"));
}

#[test]
fn with_credentials_keeps_and_returns_the_servers_cookie() {
    let (url, log) = serve(|req, i| session_script(req, (i == 0).then_some("node=n7; Path=/")));
    let mut o = Options::default();
    o.set("withCredentials", "true").unwrap();
    let (_conn, mut rec) = anonymous(&url, o);
    rec.wait_for(Status::Connected, 10);
    let log = log.lock().unwrap();
    assert_eq!(log[0].header("Cookie"), None);
    for req in &log[1..] {
        assert_eq!(
            req.header("Cookie"),
            Some("node=n7"),
            "sticky cookie sent back"
        );
    }
}

#[test]
fn five_503s_in_a_row_are_conntimeout_and_retransmit_the_same_rid() {
    let (url, log) = serve(|_, _| Reply::status(503));
    // The retries wait 0.1 s, then sends³ s, each at most TIMEOUT × wait:
    // with wait=2 they span about 6 s (about 100 s with the default 60).
    let mut o = Options::default();
    o.set("wait", "2").unwrap();
    let conn = Connection::new(&url, o).unwrap();
    let t0 = std::time::Instant::now();
    let (codes, codes_cb) = collector::<u16>();
    conn.add_protocol_error_handler("HTTP", 503, move |_, c| codes_cb.lock().unwrap().push(c))
        .unwrap();
    let (mut rec, cb) = recorder();
    conn.connect("localhost", None, cb).unwrap();
    rec.wait_for(Status::Disconnected, 20);
    assert_eq!(
        rec.statuses(),
        vec![
            Status::Connecting,
            Status::ConnTimeout,
            Status::Disconnected
        ]
    );
    assert!(
        rec.seen[1]
            .1
            .as_deref()
            .unwrap_or("")
            .starts_with("giving-up"),
        "{:?}",
        rec.seen
    );
    let span = t0.elapsed();
    assert!(
        span >= std::time::Duration::from_millis(6000),
        "the retries spanned only {span:?}"
    );
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 5, "5 attempts, then it gives up");
    let rid = log[0].rid();
    assert!(
        log.iter().all(|r| r.rid() == rid && r.body == log[0].body),
        "retransmissions reuse rid and body"
    );
    assert_eq!(*codes.lock().unwrap(), vec![503; 5]);
}

#[test]
fn a_stalled_server_times_out_by_the_primary_timeout() {
    // wait=1: the primary timeout is floor(1.1 × 1) = 1 s per attempt.
    let (url, log) = serve(|_, _| {
        let mut r = Reply::ok("<body xmlns='http://jabber.org/protocol/httpbind'/>");
        r.delay = Duration::from_secs(30);
        r
    });
    let mut o = Options::default();
    o.set("wait", "1").unwrap();
    let started = Instant::now();
    let (_conn, mut rec) = anonymous(&url, o);
    rec.wait_for(Status::Disconnected, 30);
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
        took >= Duration::from_secs(5) && took < Duration::from_secs(15),
        "{took:?}"
    );
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 5);
    assert!(log.iter().all(|r| r.rid() == log[0].rid()));
}

#[test]
fn a_malformed_body_is_connfail_bad_format() {
    let (url, _log) = serve(|_, _| {
        Reply::ok("<body xmlns='http://jabber.org/protocol/httpbind'><unclosed></body>")
    });
    let (_conn, mut rec) = anonymous(&url, Options::default());
    rec.wait_for(Status::Disconnected, 10);
    assert_eq!(
        rec.seen,
        vec![
            (Status::Connecting, None),
            (Status::ConnFail, Some("bad-format".into())),
            (Status::Disconnected, Some("bad-format".into()))
        ]
    );
}

/// Issue 14: as in Strophe, an HTTP 4xx runs the protocol error handler,
/// then DISCONNECTING and DISCONNECTED; epode says CONNFAIL first (a
/// refused session must not look like a logout).
#[test]
fn a_404_calls_the_protocol_error_handler_then_connfail_disconnecting() {
    let (url, _log) = serve(|_, _| Reply::status(404));
    let conn = Connection::new(&url, Options::default()).unwrap();
    let (order, order_cb) = collector::<String>();
    let order_in_handler = order_cb.clone();
    conn.add_protocol_error_handler("HTTP", 404, move |_, c| {
        order_in_handler
            .lock()
            .unwrap()
            .push(format!("handler {c}"))
    })
    .unwrap();
    let (mut rec, mut inner) = recorder();
    conn.connect("localhost", None, move |c, s, cond, e| {
        order_cb.lock().unwrap().push(s.to_string());
        inner(c, s, cond, e);
    })
    .unwrap();
    rec.wait_for(Status::Disconnected, 10);
    assert_eq!(
        *order.lock().unwrap(),
        [
            "CONNECTING",
            "handler 404",
            "CONNFAIL",
            "DISCONNECTING",
            "DISCONNECTED"
        ]
    );
    assert_eq!(rec.seen[1].1.as_deref(), Some("HTTP 404"));
}

#[test]
fn a_terminate_with_a_condition_is_connfail_with_it() {
    // Also what a server says to a wrong sid (item-not-found).
    let (url, _log) = serve(|req, _| {
        if req.body.contains("<auth") {
            Reply::ok("<body xmlns='http://jabber.org/protocol/httpbind' type='terminate' condition='item-not-found'/>")
        } else {
            session_script(req, None)
        }
    });
    let (_conn, mut rec) = anonymous(&url, Options::default());
    rec.wait_for(Status::Disconnected, 10);
    assert_eq!(
        rec.seen[2..],
        [
            (Status::ConnFail, Some("item-not-found".into())),
            (Status::Disconnected, Some("item-not-found".into()))
        ]
    );
}

#[test]
fn attach_to_a_dead_session_is_attachfail() {
    let (url, _log) = serve(|_, _| {
        Reply::ok("<body xmlns='http://jabber.org/protocol/httpbind' type='terminate' condition='item-not-found'/>")
    });
    let conn = Connection::new(&url, Options::default()).unwrap();
    let (mut rec, cb) = recorder();
    conn.attach("alice@localhost/r", "gone", 42, cb).unwrap();
    rec.wait_for(Status::Disconnected, 10);
    assert_eq!(
        rec.statuses(),
        vec![Status::AttachFail, Status::Disconnected]
    );
}

#[test]
fn a_polling_session_spaces_its_empty_requests() {
    // hold='0' polling='1': the server answers every request at once, and
    // the client must not send empty ones more often than once a second.
    let (url, log) = serve(|req, _| {
        if !req.body.contains("sid=") {
            Reply::ok("<body xmlns='http://jabber.org/protocol/httpbind' sid='P1' wait='60' hold='0' polling='1' requests='2' ver='1.6'><stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>ANONYMOUS</mechanism></mechanisms></stream:features></body>")
        } else {
            let mut r = session_script(req, None);
            r.delay = Duration::ZERO; // no long-polling here
            r
        }
    });
    let (_conn, mut rec) = anonymous(&url, Options::default());
    rec.wait_for(Status::Connected, 10);
    let connected = Instant::now();
    std::thread::sleep(Duration::from_millis(2500));
    let log = log.lock().unwrap();
    let empties = log
        .iter()
        .filter(|r| r.body.ends_with("/>") && r.body.contains("sid="))
        .count();
    assert!(
        (2..=4).contains(&empties),
        "{empties} empty requests in {:?}: polling not respected",
        connected.elapsed()
    );
}

/// Issue 14, item 10: a terminate with condition='remote-stream-error' and
/// a `<conflict/>` inside (bare, or in a `<stream:error>`) is condition
/// "conflict", as in Strophe (another login took the resource); without
/// the conflict it stays remote-stream-error.
#[test]
fn a_remote_stream_error_with_a_conflict_is_condition_conflict() {
    for (inside, want) in [
        ("<conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>", "conflict"),
        (
            "<stream:error xmlns:stream='http://etherx.jabber.org/streams'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Replaced by new connection</text></stream:error>",
            "conflict",
        ),
        (
            "<stream:error xmlns:stream='http://etherx.jabber.org/streams'><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
            "remote-stream-error",
        ),
    ] {
        let (url, _log) = serve(move |req, _| {
            if req.body.contains("<auth") {
                Reply::ok(&format!("<body xmlns='http://jabber.org/protocol/httpbind' type='terminate' condition='remote-stream-error'>{inside}</body>"))
            } else {
                session_script(req, None)
            }
        });
        let (_conn, mut rec) = anonymous(&url, Options::default());
        rec.wait_for(Status::Disconnected, 10);
        assert_eq!(
            rec.seen[2..],
            [
                (Status::ConnFail, Some(want.into())),
                (Status::Disconnected, Some(want.into()))
            ],
            "{inside}"
        );
    }
}

/// With `reconnect` on, a BOSH terminate that is the server's will
/// (`conflict`: another login took the resource) ends the session instead
/// of reconnecting, which would have two clients displace each other for
/// ever; a `system-shutdown` is worth coming back from.
#[test]
fn a_conflict_terminate_is_not_fought_with_a_reconnection() {
    for (condition, reconnects) in [("conflict", false), ("system-shutdown", true)] {
        let (url, _log) = serve(move |req, _| {
            if req.body.contains("<presence") && !req.body.contains("unavailable") {
                Reply::ok(&format!("<body xmlns='http://jabber.org/protocol/httpbind' type='terminate' condition='{condition}'/>"))
            } else {
                session_script(req, None)
            }
        });
        let mut o = Options::default();
        o.set("reconnect", "true").unwrap();
        o.set("maxRetries", "1").unwrap();
        let (conn, mut rec) = anonymous(&url, o);
        rec.wait_for(Status::Connected, 10);
        conn.send(&epode::Builder::pres(epode::xml::NO_ATTRS).build())
            .unwrap();
        if reconnects {
            rec.wait_for(Status::Reconnecting, 10);
            conn.disconnect(None).ok();
        } else {
            rec.wait_for(Status::Disconnected, 10);
            assert_eq!(
                rec.seen[rec.seen.len() - 2..],
                [
                    (Status::ConnFail, Some(condition.into())),
                    (Status::Disconnected, Some(condition.into()))
                ]
            );
        }
        assert_eq!(
            rec.statuses().contains(&Status::Reconnecting),
            reconnects,
            "{condition}: {:?}",
            rec.seen
        );
    }
}

/// Issue 14: a BOSH server that never answers the terminate: as in
/// Strophe, CONNTIMEOUT after disconnection_timeout, then DISCONNECTED.
#[test]
fn a_frozen_server_makes_disconnect_conntimeout() {
    let (url, _log) = serve(|req, _| {
        let mut reply = session_script(req, None);
        if req.body.contains("terminate") {
            reply.delay = Duration::from_secs(20);
        }
        reply
    });
    let mut o = Options::default();
    o.set("disconnection_timeout", "500").unwrap();
    let (conn, mut rec) = anonymous(&url, o);
    rec.wait_for(Status::Connected, 10);
    let asked = Instant::now();
    conn.disconnect(None).unwrap();
    rec.wait_for(Status::Disconnected, 10);
    let took = asked.elapsed();
    assert!(
        took >= Duration::from_millis(490) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(
        rec.statuses()[rec.seen.len() - 3..],
        [
            Status::Disconnecting,
            Status::ConnTimeout,
            Status::Disconnected
        ]
    );
}

/// A kept session (keepalive) saved by a close that came right after a
/// request went out resumes after that request: its rid reached the server,
/// and a restore that sent it again would wait on a server that may never
/// answer a repeated rid. Whatever the race between the write and the
/// close, the stored rid is one past the last rid the server received.
#[test]
fn a_close_right_after_a_send_stores_the_rid_after_the_last_one_received() {
    for round in 0..10 {
        let (url, log) = serve(|req, _| {
            if req.body.contains("<message") {
                let mut r = Reply::ok("<body xmlns='http://jabber.org/protocol/httpbind'/>");
                r.delay = Duration::from_secs(2); // held, as a long poll
                r
            } else {
                session_script(req, None)
            }
        });
        let dir =
            std::env::temp_dir().join(format!("epode-kept-rid-{}-{round}", std::process::id()));
        let path = dir.join("session");
        let mut o = Options::default();
        o.set("keepalive", "true").unwrap();
        o.set("keepalive_path", path.to_str().unwrap()).unwrap();
        let (conn, mut rec) = anonymous(&url, o);
        rec.wait_for(Status::Connected, 10);
        let msg = epode::Builder::msg([("to", "b@localhost")])
            .c_text("body", epode::xml::NO_ATTRS, "just before the close")
            .build();
        conn.send(&msg).unwrap();
        conn.close().unwrap();
        drop(conn);
        // What the server got, once anything still in flight has landed.
        std::thread::sleep(Duration::from_millis(300));
        let received = log
            .lock()
            .unwrap()
            .iter()
            .filter_map(|r| epode::xml::parse_element(&r.body).ok())
            .filter_map(|b| b.attr("rid").and_then(|r| r.parse::<u64>().ok()))
            .max()
            .unwrap();
        let stored = std::fs::read_to_string(&path).unwrap();
        let rid: u64 = stored
            .lines()
            .find_map(|l| l.strip_prefix("rid="))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(rid, received + 1, "round {round}: {stored}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The engine's own HTTP client (src/transport/bosh/client.rs) reads a
/// chunked answer, its extensions and trailers too, as any server or
/// proxy may send one.
#[test]
fn chunked_answers_with_extensions_and_trailers_are_read() {
    let (url, log) = serve(|req, _| {
        let mut reply = session_script(req, None);
        reply.chunked = true;
        reply
    });
    let (conn, mut rec) = anonymous(&url, Options::default());
    rec.wait_for(Status::Connected, 10);
    assert_eq!(conn.jid(), "anon@localhost/r");
    conn.disconnect(None).unwrap();
    rec.wait_for(Status::Disconnected, 10);
    assert!(log.lock().unwrap().len() >= 4);
}

/// A server that drops every connection right after its answer (an idle
/// keep-alive closed as it is reused): each request goes again at once on
/// a new connection, without a BOSH-level retry (100 ms each) and without
/// the server seeing any rid twice.
#[test]
fn a_kept_connection_the_server_dropped_is_replaced_at_once() {
    let (url, log) = serve(|req, _| {
        let mut reply = session_script(req, None);
        reply.close_after = true;
        reply
    });
    let started = Instant::now();
    let (conn, mut rec) = anonymous(&url, Options::default());
    rec.wait_for(Status::Connected, 10);
    let took = started.elapsed();
    assert_eq!(
        rec.seen,
        [
            (Status::Connecting, None),
            (Status::Authenticating, None),
            (Status::Connected, None)
        ]
    );
    let log = log.lock().unwrap();
    let login: Vec<_> = log.iter().take(4).collect();
    let rids: Vec<u64> = login.iter().map(|r| r.rid()).collect();
    assert_eq!(
        rids,
        (rids[0]..rids[0] + 4).collect::<Vec<_>>(),
        "every rid once, in order"
    );
    let connections: Vec<usize> = login.iter().map(|r| r.connection).collect();
    let mut distinct = connections.clone();
    distinct.dedup();
    assert_eq!(distinct, connections, "a new connection for each request");
    // Three reused connections turned out closed: a BOSH-level retry of
    // each would have taken 300 ms or more.
    assert!(took < Duration::from_millis(250), "login took {took:?}");
    drop(log);
    drop(conn);
}

/// A redirect is not followed (it would turn the POST into a GET or move
/// the session): CONNFAIL at once, after one request, not five retries.
#[test]
fn a_redirect_is_connfail_at_once() {
    let (url, log) = serve(|_, _| {
        let mut reply = Reply::status(302);
        reply
            .headers
            .push(("Location".into(), "http://127.0.0.1:1/elsewhere".into()));
        reply
    });
    let (_conn, mut rec) = anonymous(&url, Options::default());
    rec.wait_for(Status::Disconnected, 10);
    assert_eq!(rec.seen[1], (Status::ConnFail, Some("HTTP 302".into())));
    assert_eq!(log.lock().unwrap().len(), 1);
}
