//! The engine against a scripted WebSocket peer: SASL mechanisms no real
//! server here offers (SCRAM-SHA-384, OAUTHBEARER, EXTERNAL over
//! WebSocket), a tampered SCRAM server signature, and broken streams.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use common::fake_ws::{attr, serve, text, with_xmpp_protocol, Peer, SASL};
use common::recorder;
use epode::{Connection, Options, Status};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha384};
use std::time::Duration;

type HmacSha384 = Hmac<Sha384>;

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = HmacSha384::new_from_slice(key).unwrap();
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// The server side of SCRAM-SHA-384 for `password`; `tamper` flips a bit of
/// the server signature. Returns after sending <success/>.
fn scram_384_server(peer: &mut Peer, password: &str, tamper: bool) {
    let auth = peer.recv();
    assert_eq!(attr(&auth, "mechanism"), "SCRAM-SHA-384");
    let client_first = String::from_utf8(B64.decode(text(&auth)).unwrap()).unwrap();
    let bare = client_first.strip_prefix("n,,").expect("gs2 header n,,");
    let cnonce = bare.split(",r=").nth(1).unwrap();
    let salt = b"epode-test-salt";
    let server_first = format!("r={cnonce}srvnonce,s={},i=4096", B64.encode(salt));
    peer.send(&format!(
        "<challenge xmlns='{SASL}'>{}</challenge>",
        B64.encode(&server_first)
    ));
    let response = peer.recv();
    let client_final = String::from_utf8(B64.decode(text(&response)).unwrap()).unwrap();
    let (without_proof, proof) = client_final.rsplit_once(",p=").unwrap();
    let mut salted = [0u8; 48];
    pbkdf2::pbkdf2_hmac::<Sha384>(password.as_bytes(), salt, 4096, &mut salted);
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = Sha384::digest(&client_key);
    let auth_message = format!("{bare},{server_first},{without_proof}");
    let signature = hmac(&stored_key, auth_message.as_bytes());
    let expected: Vec<u8> = client_key
        .iter()
        .zip(&signature)
        .map(|(a, b)| a ^ b)
        .collect();
    if B64.decode(proof).unwrap() != expected {
        peer.send(&format!(
            "<failure xmlns='{SASL}'><not-authorized/></failure>"
        ));
        return;
    }
    let mut server_signature = hmac(&hmac(&salted, b"Server Key"), auth_message.as_bytes());
    if tamper {
        server_signature[0] ^= 1;
    }
    let v = format!("v={}", B64.encode(&server_signature));
    peer.send(&format!(
        "<success xmlns='{SASL}'>{}</success>",
        B64.encode(v)
    ));
}

fn connect(
    url: &str,
    jid: &str,
    password: Option<&str>,
    options: Options,
) -> (Connection, common::Recorder) {
    let conn = Connection::new(url, options).unwrap();
    let (rec, cb) = recorder();
    conn.connect(jid, password, cb).unwrap();
    (conn, rec)
}

#[test]
fn scram_sha_384_logs_in_and_verifies_the_server() {
    let (url, server) = serve(|peer| {
        peer.open();
        peer.features(&["PLAIN", "SCRAM-SHA-384", "SCRAM-SHA-1"]);
        scram_384_server(peer, "s3cret", false);
        peer.bind("alice@localhost/r1");
        let _ = peer.recv(); // unavailable presence or close
    });
    let (conn, mut rec) = connect(&url, "alice@localhost", Some("s3cret"), Options::default());
    rec.wait_for(Status::Connected, 10);
    assert_eq!(conn.jid(), "alice@localhost/r1");
    conn.disconnect(None).unwrap();
    rec.wait_for(Status::Disconnected, 10);
    server.join().unwrap();
}

#[test]
fn a_tampered_scram_server_signature_is_authfail_never_connected() {
    let (url, server) = serve(|peer| {
        peer.open();
        peer.features(&["SCRAM-SHA-384"]);
        scram_384_server(peer, "s3cret", true);
        // The client must not restart the stream: it closes instead.
        let next = peer.recv();
        assert!(
            next.starts_with("<close"),
            "client went on after a bad signature: {next}"
        );
    });
    let (conn, mut rec) = connect(&url, "alice@localhost", Some("s3cret"), Options::default());
    rec.wait_for(Status::Disconnected, 10);
    let statuses = rec.statuses();
    assert_eq!(
        statuses,
        vec![
            Status::Connecting,
            Status::Authenticating,
            Status::AuthFail,
            Status::Disconnected
        ]
    );
    assert!(!conn.authenticated());
    let condition = rec.seen[2].1.clone().unwrap_or_default();
    assert!(condition.contains("signature"), "{condition}");
    server.join().unwrap();
}

#[test]
fn oauthbearer_sends_rfc_7628_bytes() {
    let (url, server) = serve(|peer| {
        peer.open();
        peer.features(&["OAUTHBEARER"]);
        let auth = peer.recv();
        assert_eq!(attr(&auth, "mechanism"), "OAUTHBEARER");
        let raw = B64.decode(text(&auth)).unwrap();
        assert_eq!(raw, b"n,a=alice@localhost,\x01auth=Bearer tok-123\x01\x01");
        peer.send(&format!("<success xmlns='{SASL}'/>"));
        peer.bind("alice@localhost/oauth");
    });
    let mut o = Options::default();
    o.set("mechanisms", "OAUTHBEARER").unwrap();
    let (_conn, mut rec) = connect(&url, "alice@localhost", Some("tok-123"), o);
    rec.wait_for(Status::Connected, 10);
    server.join().unwrap();
}

/// EXTERNAL as Strophe sends it: the authzid, or an empty response ("=")
/// when the authcid is the authzid itself.
fn external_login(authcid: Option<&str>, expected: &'static str) {
    let (url, server) = serve(move |peer| {
        peer.open();
        peer.features(&["EXTERNAL"]);
        let auth = peer.recv();
        assert_eq!(attr(&auth, "mechanism"), "EXTERNAL");
        assert_eq!(text(&auth), expected);
        peer.send(&format!("<success xmlns='{SASL}'/>"));
        peer.bind("alice@localhost/cert");
    });
    let conn = Connection::new(&url, Options::default()).unwrap();
    let (mut rec, cb) = recorder();
    conn.connect_as("alice@localhost", None, authcid, cb)
        .unwrap();
    rec.wait_for(Status::Connected, 10);
    server.join().unwrap();
}

#[test]
fn external_sends_the_authzid_or_nothing() {
    external_login(None, "YWxpY2VAbG9jYWxob3N0"); // base64("alice@localhost")
    external_login(Some("alice@localhost"), "=");
}

#[test]
fn no_usable_mechanism_is_connfail_no_auth_mech() {
    let (url, server) = serve(|peer| {
        peer.open();
        peer.features(&["DIGEST-MD5", "X-UNKNOWN"]);
        let next = peer.recv();
        assert!(next.starts_with("<close"), "{next}");
    });
    let (_conn, mut rec) = connect(&url, "alice@localhost", Some("pw"), Options::default());
    rec.wait_for(Status::Disconnected, 10);
    assert_eq!(rec.seen[1], (Status::ConnFail, Some("no-auth-mech".into())));
    server.join().unwrap();
}

#[test]
fn a_stream_error_before_features_is_connfail_with_its_condition() {
    let (url, server) = serve(|peer| {
        peer.open();
        peer.send("<stream:error xmlns:stream='http://etherx.jabber.org/streams'><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>no such host</text></stream:error>");
    });
    let (_conn, mut rec) = connect(&url, "alice@nowhere", Some("pw"), Options::default());
    rec.wait_for(Status::Disconnected, 10);
    assert_eq!(
        rec.seen,
        vec![
            (Status::Connecting, None),
            (Status::ConnFail, Some("host-unknown".into())),
            (Status::Disconnected, Some("host-unknown".into()))
        ]
    );
    server.join().unwrap();
}

/// A server `<open/>` that is no RFC 7395 one: CONNFAIL with Strophe's
/// texts (the version check wins when both fail, as there).
#[test]
fn a_bad_open_is_connfail_with_strophes_condition() {
    let framing = "xmlns='urn:ietf:params:xml:ns:xmpp-framing'";
    let cases = [
        (
            "<open from='localhost' version='1.0'/>".to_string(),
            "Missing xmlns in <open />",
        ),
        (
            "<open xmlns='jabber:client' from='localhost' version='1.0'/>".to_string(),
            "Wrong xmlns in <open />: jabber:client",
        ),
        (
            format!("<open {framing} from='localhost'/>"),
            "Missing version in <open />",
        ),
        (
            format!("<open {framing} from='localhost' version='0.9'/>"),
            "Wrong version in <open />: 0.9",
        ),
        (
            "<open xmlns='jabber:client' from='localhost' version='2.0'/>".to_string(),
            "Wrong version in <open />: 2.0",
        ),
    ];
    for (open, condition) in cases {
        let (url, server) = serve(move |peer| {
            let _ = peer.recv();
            peer.send(&open);
        });
        let (_conn, mut rec) = connect(&url, "alice@localhost", Some("pw"), Options::default());
        rec.wait_for(Status::Disconnected, 10);
        assert_eq!(
            rec.seen,
            vec![
                (Status::Connecting, None),
                (Status::ConnFail, Some(condition.to_string())),
                (Status::Disconnected, Some(condition.to_string())),
            ]
        );
        server.join().unwrap();
    }
}

/// A WebSocket that cannot be opened: Strophe's fixed condition, which
/// applications compare; the error itself is in failure_detail (and, from
/// C, epode_conn_last_error) and the log.
#[test]
fn a_refused_websocket_is_connfail_with_strophes_text_and_the_detail() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }; // closed again: connecting is refused
    let url = format!("ws://127.0.0.1:{port}/xmpp-websocket");
    let (conn, mut rec) = connect(&url, "alice@localhost", Some("pw"), Options::default());
    rec.wait_for(Status::Disconnected, 10);
    let text = "The WebSocket connection could not be established or was disconnected.";
    assert_eq!(
        rec.seen,
        vec![
            (Status::Connecting, None),
            (Status::ConnFail, Some(text.into())),
            (Status::Disconnected, Some(text.into())),
        ]
    );
    let detail = conn.failure_detail().unwrap_or_default();
    assert!(
        detail.starts_with(&format!("{url}: I/O error")) && detail.contains("refused"),
        "{detail}"
    );
}

/// x-strophe-bad-non-anon-jid: as in Strophe, CONNFAIL then
/// DISCONNECTING (its disconnect()) then DISCONNECTED.
#[test]
fn a_domain_jid_with_only_plain_offered_is_connfail_then_disconnecting() {
    let (url, server) = serve(|peer| {
        peer.open();
        peer.features(&["PLAIN"]);
        let next = peer.recv();
        assert!(next.starts_with("<close"), "{next}");
        peer.send("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
    });
    let (_conn, mut rec) = connect(&url, "localhost", Some("pw"), Options::default());
    rec.wait_for(Status::Disconnected, 10);
    let condition = Some("x-strophe-bad-non-anon-jid".to_string());
    assert_eq!(
        rec.seen,
        vec![
            (Status::Connecting, None),
            (Status::ConnFail, condition.clone()),
            (Status::Disconnecting, condition),
            (Status::Disconnected, None),
        ]
    );
    server.join().unwrap();
}

#[test]
fn malformed_xml_from_the_server_ends_the_session_cleanly() {
    let (url, server) = serve(|peer| {
        peer.open();
        peer.send("<stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms></stream:features>");
    });
    let (_conn, mut rec) = connect(&url, "alice@localhost", Some("pw"), Options::default());
    rec.wait_for(Status::Disconnected, 10);
    assert_eq!(
        rec.statuses(),
        vec![Status::Connecting, Status::ConnFail, Status::Disconnected]
    );
    server.join().unwrap();
}

#[test]
fn a_close_code_reaches_the_protocol_error_handler() {
    let (url, server) = serve(|peer| {
        peer.log_in("alice@localhost/x");
        std::thread::sleep(std::time::Duration::from_millis(100));
        let frame = tungstenite::protocol::CloseFrame {
            code: tungstenite::protocol::frame::coding::CloseCode::Policy,
            reason: "go away".into(),
        };
        peer.ws.close(Some(frame)).unwrap();
        let _ = peer.ws.flush();
        std::thread::sleep(std::time::Duration::from_millis(200));
    });
    let conn = Connection::new(&url, Options::default()).unwrap();
    let (codes, codes_cb) = common::collector::<u16>();
    conn.add_protocol_error_handler("websocket", 1008, move |_, code| {
        codes_cb.lock().unwrap().push(code)
    })
    .unwrap();
    let (mut rec, cb) = recorder();
    conn.connect("alice@localhost", Some("pw"), cb).unwrap();
    rec.wait_for(Status::Disconnected, 10);
    assert_eq!(*codes.lock().unwrap(), vec![1008]);
    assert_eq!(
        rec.statuses(),
        vec![
            Status::Connecting,
            Status::Authenticating,
            Status::Connected,
            Status::Disconnected
        ]
    );
    server.join().unwrap();
}

#[test]
fn a_redirect_to_plain_http_is_refused() {
    let (url, server) = serve(|peer| {
        peer.open();
        peer.send("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing' see-other-uri='http://evil.example/bosh'/>");
    });
    let (_conn, mut rec) = connect(&url, "alice@localhost", Some("pw"), Options::default());
    rec.wait_for(Status::Disconnected, 10);
    assert_eq!(
        rec.statuses(),
        vec![Status::Connecting, Status::ConnFail, Status::Disconnected]
    );
    server.join().unwrap();
}

#[test]
fn legacy_session_establishment_when_the_server_requires_it() {
    let (url, server) = serve(|peer| {
        peer.authenticate();
        peer.open();
        peer.send("<stream:features xmlns:stream='http://etherx.jabber.org/streams'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></stream:features>");
        let bind = peer.recv();
        peer.send(&format!("<iq xmlns='jabber:client' type='result' id='{}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>a@localhost/s</jid></bind></iq>", attr(&bind, "id")));
        let session = peer.recv();
        assert!(
            session.contains("urn:ietf:params:xml:ns:xmpp-session"),
            "{session}"
        );
        peer.send(&format!(
            "<iq xmlns='jabber:client' type='result' id='{}'/>",
            attr(&session, "id")
        ));
    });
    let (_conn, mut rec) = connect(&url, "a@localhost", Some("pw"), Options::default());
    rec.wait_for(Status::Connected, 10);
    server.join().unwrap();
}

#[test]
fn disconnect_gives_up_waiting_after_the_disconnection_timeout() {
    let (url, server) = serve(|peer| {
        peer.log_in("a@localhost/t");
        // Never answer the close: read until the client goes.
        while peer.ws.read().is_ok() {}
    });
    let mut o = Options::default();
    o.set("disconnection_timeout", "300").unwrap();
    let (conn, mut rec) = connect(&url, "a@localhost", Some("pw"), o);
    rec.wait_for(Status::Connected, 10);
    let started = std::time::Instant::now();
    conn.disconnect(Some("bye")).unwrap();
    rec.wait_for(Status::Disconnected, 5);
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(290) && took < std::time::Duration::from_secs(2),
        "{took:?}"
    );
    assert_eq!(rec.seen[3], (Status::Disconnecting, Some("bye".into())));
    // Strophe: no answer to the close in time is CONNTIMEOUT.
    assert_eq!(
        rec.seen[4..],
        [(Status::ConnTimeout, None), (Status::Disconnected, None)]
    );
    server.join().unwrap();
}

#[test]
fn cookies_travel_in_the_websocket_handshake() {
    let (url, server) = serve(|peer| {
        peer.open();
        peer.features(&["PLAIN"]);
        let _ = peer.recv();
    });
    let mut o = Options::default();
    o.set("cookies", "session=abc; Path=/").unwrap();
    o.set("cookies", "other=no; Domain=example.com").unwrap();
    let (_conn, mut rec) = connect(&url, "a@localhost", Some("pw"), o);
    rec.wait_for(Status::Authenticating, 10);
    server.join().unwrap();
    let handshakes = common::fake_ws::HANDSHAKES.lock().unwrap().clone();
    let ours = handshakes
        .iter()
        .find(|h| h.iter().any(|l| l.starts_with("cookie:")))
        .unwrap_or_else(|| panic!("no handshake carried a cookie: {handshakes:?}"));
    assert!(
        ours.iter().any(|h| h == "cookie: session=abc"),
        "only the matching cookie: {ours:?}"
    );
    assert!(
        ours.iter().any(|h| h == "sec-websocket-protocol: xmpp"),
        "{ours:?}"
    );
}

#[test]
fn a_server_that_never_answers_the_handshake_is_conntimeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "ws://127.0.0.1:{}/ws",
        listener.local_addr().unwrap().port()
    );
    let silent = std::thread::spawn(move || {
        let (_stream, _) = listener.accept().unwrap();
        std::thread::sleep(std::time::Duration::from_secs(2));
    });
    let mut o = Options::default();
    o.set("connect_timeout", "300").unwrap();
    let started = std::time::Instant::now();
    let (_conn, mut rec) = connect(&url, "a@localhost", Some("pw"), o);
    rec.wait_for(Status::Disconnected, 10);
    assert_eq!(
        rec.statuses(),
        vec![
            Status::Connecting,
            Status::ConnTimeout,
            Status::Disconnected
        ]
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    silent.join().unwrap();
}

#[test]
fn inspection_hooks_see_raw_text_and_elements_both_ways() {
    let (url, server) = serve(|peer| {
        peer.log_in("a@localhost/h");
        let _ = peer.recv();
    });
    let conn = Connection::new(&url, Options::default()).unwrap();
    let (raw_in, ri) = common::collector::<String>();
    let (raw_out, ro) = common::collector::<String>();
    let (xml_in, xi) = common::collector::<String>();
    let (xml_out, xo) = common::collector::<String>();
    conn.set_raw_input(Some(move |_: &Connection, t: &str| {
        ri.lock().unwrap().push(t.to_string())
    }));
    conn.set_raw_output(Some(move |_: &Connection, t: &str| {
        ro.lock().unwrap().push(t.to_string())
    }));
    conn.set_xml_input(Some(move |_: &Connection, e: &epode::Element| {
        xi.lock().unwrap().push(e.name().to_string())
    }));
    conn.set_xml_output(Some(move |_: &Connection, e: &epode::Element| {
        xo.lock().unwrap().push(e.name().to_string())
    }));
    let (mut rec, cb) = recorder();
    conn.connect("a@localhost", Some("pw"), cb).unwrap();
    rec.wait_for(Status::Connected, 10);
    conn.disconnect(None).unwrap();
    rec.wait_for(Status::Disconnected, 10);
    server.join().unwrap();
    let (ri, ro) = (
        raw_in.lock().unwrap().clone(),
        raw_out.lock().unwrap().clone(),
    );
    assert!(ri.iter().any(|t| t.starts_with("<success")), "{ri:?}");
    assert!(
        ro.iter().any(|t| t.starts_with("<auth ")) && ro.iter().any(|t| t.starts_with("<open ")),
        "{ro:?}"
    );
    let (xi, xo) = (
        xml_in.lock().unwrap().clone(),
        xml_out.lock().unwrap().clone(),
    );
    assert!(
        xi.contains(&"open".to_string())
            && xi.contains(&"stream:features".to_string())
            && xi.contains(&"iq".to_string()),
        "{xi:?}"
    );
    assert!(
        xo.contains(&"auth".to_string())
            && xo.contains(&"iq".to_string())
            && xo.contains(&"presence".to_string()),
        "{xo:?}"
    );
}

/// A peer that logs the client in, then sends `hostile` as one message.
fn hostile_after_login(hostile: String, options: Options) -> common::Recorder {
    let (url, server) = serve(move |peer| {
        peer.log_in("a@localhost/x");
        peer.send(&hostile);
    });
    let (_conn, mut rec) = connect(&url, "a@localhost", Some("pw"), options);
    rec.wait_for(Status::Disconnected, 10);
    server.join().unwrap();
    rec
}

#[test]
fn hostile_stanzas_end_the_session_with_a_clear_condition() {
    // Over the stanza size limit.
    let mut o = Options::default();
    o.set("max_stanza_bytes", "65536").unwrap();
    let big = format!(
        "<message xmlns='jabber:client'><body>{}</body></message>",
        "x".repeat(200_000)
    );
    let rec = hostile_after_login(big, o);
    let error = rec.seen.iter().find(|(s, _)| *s == Status::Error).cloned();
    assert!(error.is_some(), "{:?}", rec.seen);

    // 10,000-deep nesting.
    let deep = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
    let rec = hostile_after_login(deep, Options::default());
    let (_, condition) = rec
        .seen
        .iter()
        .find(|(s, _)| *s == Status::Error)
        .cloned()
        .unwrap();
    assert!(
        condition.unwrap_or_default().contains("deep"),
        "{:?}",
        rec.seen
    );

    // Billion laughs: no DTD is ever read.
    let laughs = "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]><message>&lol2;</message>".to_string();
    let rec = hostile_after_login(laughs, Options::default());
    let (_, condition) = rec
        .seen
        .iter()
        .find(|(s, _)| *s == Status::Error)
        .cloned()
        .unwrap();
    assert!(
        condition.unwrap_or_default().to_lowercase().contains("dtd"),
        "{:?}",
        rec.seen
    );
}

/// A WebSocket server at 127.0.0.1 whose every connection answers the
/// `<open/>` (after `delay`) with a see-other-uri pointing back at itself.
/// Returns its URL and the number of connections it has accepted.
fn self_redirecting(delay: Duration) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "ws://127.0.0.1:{}/ws",
        listener.local_addr().unwrap().port()
    );
    let accepted = std::sync::Arc::new(AtomicUsize::new(0));
    let (count, me) = (std::sync::Arc::clone(&accepted), url.clone());
    std::thread::spawn(move || {
        // Bounded: a test that goes wrong stops here.
        for stream in listener.incoming().take(200).flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            let me = me.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let Ok(ws) = tungstenite::accept_hdr(stream, with_xmpp_protocol) else {
                    return;
                };
                let mut peer = Peer { ws };
                peer.open();
                std::thread::sleep(delay);
                let _ = peer.ws.send(tungstenite::Message::text(format!(
                    "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing' see-other-uri='{me}'/>"
                )));
                std::thread::sleep(Duration::from_millis(200));
            });
        }
    });
    (url, accepted)
}

/// Issue 13, item 6: a server whose see-other-uri points back at itself
/// made the client reconnect about 1,300 times a second for ever. Now five
/// redirects are followed, then the login is CONNFAIL, then DISCONNECTED.
#[test]
fn a_redirect_loop_ends_after_five_redirects() {
    let (url, accepted) = self_redirecting(Duration::ZERO);
    let mut o = Options::default();
    o.set("reconnect", "true").unwrap(); // a redirect loop is no reason to reconnect
    let (_conn, mut rec) = connect(&url, "alice@localhost", Some("pw"), o);
    rec.wait_for(Status::Disconnected, 10);
    let mut want = vec![Status::Connecting];
    for _ in 0..5 {
        want.extend([Status::Redirect, Status::Connecting]);
    }
    want.extend([Status::ConnFail, Status::Disconnected]);
    assert_eq!(rec.statuses(), want);
    let fail = rec.seen.iter().find(|e| e.0 == Status::ConnFail).unwrap();
    assert!(
        fail.1
            .as_deref()
            .unwrap_or("")
            .starts_with("too many redirects (5)"),
        "{:?}",
        rec.seen
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        6,
        "one login and five redirects"
    );
}

/// connect_timeout bounds the whole login, redirects included: hops of
/// 400 ms each never reach the redirect limit before 1 s is over.
#[test]
fn connect_timeout_bounds_a_login_with_redirects() {
    let (url, _accepted) = self_redirecting(Duration::from_millis(400));
    let mut o = Options::default();
    o.set("connect_timeout", "1000").unwrap();
    let t0 = std::time::Instant::now();
    let (_conn, mut rec) = connect(&url, "alice@localhost", Some("pw"), o);
    rec.wait_for(Status::Disconnected, 10);
    let took = t0.elapsed();
    let statuses = rec.statuses();
    assert_eq!(statuses.last(), Some(&Status::Disconnected));
    assert!(statuses.contains(&Status::ConnTimeout), "{:?}", rec.seen);
    assert!(statuses.contains(&Status::Redirect), "{:?}", rec.seen);
    assert!(
        took < Duration::from_millis(1900),
        "the login took {took:?} with connect_timeout=1000"
    );
}

#[test]
fn send_raw_refuses_what_xmpp_does_not_allow_and_sends_nothing_of_it() {
    const VALID: &str =
        "<message xmlns='jabber:client' to='b@localhost'><body>after</body></message>";
    let (url, server) = serve(|peer| {
        peer.log_in("a@localhost/r");
        // The first thing after the bind is the valid stanza, exactly as
        // written: nothing of the refused ones came before it.
        assert_eq!(peer.recv(), VALID);
        let _ = peer.recv(); // unavailable presence or close
    });
    let (conn, mut rec) = connect(&url, "a@localhost", Some("pw"), Options::default());
    rec.wait_for(Status::Connected, 10);
    for bad in [
        "<message xmlns='jabber:client' to='b@localhost'><!-- note --><body>x</body></message>",
        "<?xml version='1.0'?><message xmlns='jabber:client' to='b@localhost'/>",
        "<message xmlns='jabber:client'><body><![CDATA[x]]></body></message>",
        "<message xmlns='jabber:client' to='b@localhost'type='chat'/>",
        "<message xmlns='jabber:client'><body>half",
    ] {
        let err = conn.send_raw(bad).expect_err(bad);
        assert!(matches!(err, epode::Error::Xml(_)), "{bad}: {err:?}");
    }
    let err = conn
        .send_raw("<message xmlns='jabber:client'><!-- c --></message>")
        .unwrap_err();
    assert!(
        matches!(&err, epode::Error::Xml(epode::xml::XmlError::Restricted(_))),
        "{err:?}"
    );
    assert!(err.to_string().contains("comments"), "{err}");
    // The connection goes on as if the refused calls had not been made.
    assert!(conn.connected());
    conn.send_raw(VALID).unwrap();
    conn.disconnect(None).unwrap();
    rec.wait_for(Status::Disconnected, 10);
    server.join().unwrap();
    assert!(!rec.statuses().contains(&Status::Error), "{:?}", rec.seen);
}

/// Issue 14, item 1: a bind refused with `<conflict/>` is AUTHFAIL
/// "conflict" carrying the bind error `<iq/>`, as Strophe passes it.
#[test]
fn a_bind_conflict_is_authfail_with_the_error_iq() {
    let (url, server) = serve(|peer| {
        peer.authenticate();
        peer.open();
        peer.send("<stream:features xmlns:stream='http://etherx.jabber.org/streams'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>");
        let bind = peer.recv();
        peer.send(&format!(
            "<iq xmlns='jabber:client' type='error' id='{}'><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
            attr(&bind, "id")
        ));
        let next = peer.recv();
        assert!(next.starts_with("<close"), "{next}");
    });
    let conn = Connection::new(&url, Options::default()).unwrap();
    let (mut rec, cb, elements) = common::recorder_with_elements();
    conn.connect("a@localhost", Some("pw"), cb).unwrap();
    rec.wait_for(Status::Disconnected, 10);
    assert_eq!(
        rec.seen,
        vec![
            (Status::Connecting, None),
            (Status::Authenticating, None),
            (Status::AuthFail, Some("conflict".into())),
            (Status::Disconnected, None)
        ]
    );
    let elements = elements.lock().unwrap().clone();
    let iq = elements[2].1.as_deref().expect("AUTHFAIL carries the iq");
    let iq = epode::xml::parse_element(iq).unwrap();
    assert_eq!((iq.name(), iq.attr("type")), ("iq", Some("error")), "{iq}");
    assert!(iq
        .find_child("error", None)
        .and_then(|e| e.find_child("conflict", None))
        .is_some());
    assert!(
        elements
            .iter()
            .enumerate()
            .all(|(i, e)| i == 2 || e.1.is_none()),
        "{elements:?}"
    );
    server.join().unwrap();
}

/// Issue 14, item 2: a `<close/>` as the server's answer to our `<open/>`
/// (or after its `<open/>`, before any features) is CONNFAIL "Received
/// closing stream" then DISCONNECTED, as in Strophe.
#[test]
fn a_close_before_the_first_features_is_connfail() {
    for open_first in [false, true] {
        let (url, server) = serve(move |peer| {
            if open_first {
                peer.open();
            } else {
                let open = peer.recv();
                assert!(open.starts_with("<open"), "{open}");
            }
            peer.send("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
        });
        let (_conn, mut rec) = connect(&url, "alice@localhost", Some("pw"), Options::default());
        rec.wait_for(Status::Disconnected, 10);
        assert_eq!(
            rec.seen,
            vec![
                (Status::Connecting, None),
                (Status::ConnFail, Some("Received closing stream".into())),
                (Status::Disconnected, None)
            ],
            "open first: {open_first}"
        );
        server.join().unwrap();
    }
}

/// Issue 14, item 3: features after SASL without `<bind/>` are AUTHFAIL
/// (no condition), as in Strophe; then the stream is closed.
#[test]
fn features_after_sasl_without_bind_are_authfail() {
    let (url, server) = serve(|peer| {
        peer.authenticate();
        peer.open();
        peer.send("<stream:features xmlns:stream='http://etherx.jabber.org/streams'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></stream:features>");
        let next = peer.recv();
        assert!(next.starts_with("<close"), "{next}");
    });
    let (conn, mut rec) = connect(&url, "a@localhost", Some("pw"), Options::default());
    rec.wait_for(Status::Disconnected, 10);
    assert_eq!(
        rec.seen,
        vec![
            (Status::Connecting, None),
            (Status::Authenticating, None),
            (Status::AuthFail, None),
            (Status::Disconnected, None)
        ]
    );
    assert!(!conn.authenticated());
    server.join().unwrap();
}

/// Issue 14, item 4: `disconnect()` without a session is no error. As in
/// Strophe, DISCONNECTING (with the reason) and DISCONNECTED follow at
/// once: to nobody on a connection that never connected (the status getter
/// shows it), to the last status callback on one whose session is over.
#[test]
fn disconnect_without_a_session_reports_disconnecting_then_disconnected() {
    let never = Connection::new("ws://127.0.0.1:1/ws", Options::default()).unwrap();
    never.disconnect(Some("bye")).unwrap();
    common::eventually(5, "DISCONNECTED", || {
        never.status() == Some(Status::Disconnected)
    });
    assert!(!never.connected() && !never.disconnecting());

    let (url, server) = serve(|peer| {
        peer.log_in("a@localhost/d");
        let _ = peer.recv(); // unavailable presence
        let close = peer.recv();
        assert!(close.starts_with("<close"), "{close}");
        peer.send("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
    });
    let (conn, mut rec) = connect(&url, "a@localhost", Some("pw"), Options::default());
    rec.wait_for(Status::Connected, 10);
    conn.disconnect(None).unwrap();
    rec.wait_for(Status::Disconnected, 10);
    server.join().unwrap();
    let before = rec.seen.len();
    conn.disconnect(Some("again")).unwrap();
    common::eventually(5, "the second DISCONNECTED", || {
        while let Ok(e) = rec.rx.try_recv() {
            rec.seen.push(e);
        }
        rec.seen.len() >= before + 2
    });
    std::thread::sleep(Duration::from_millis(100));
    while let Ok(e) = rec.rx.try_recv() {
        rec.seen.push(e);
    }
    assert_eq!(
        rec.seen[before..],
        [
            (Status::Disconnecting, Some("again".into())),
            (Status::Disconnected, None)
        ]
    );
    assert_eq!(conn.status(), Some(Status::Disconnected));
}

/// Issue 14, item 5: ids added by sendPresence end in `:sendPresence`, by
/// sendIQ in `:sendIQ` (Strophe's getUniqueId suffixes); both answers reach
/// their callbacks.
#[test]
fn send_presence_and_send_iq_ids_carry_strophes_suffixes() {
    let (url, server) = serve(|peer| {
        peer.log_in("a@localhost/p");
        let pres = peer.recv();
        assert!(pres.starts_with("<presence"), "{pres}");
        let id = attr(&pres, "id");
        assert!(id.ends_with(":sendPresence"), "{pres}");
        peer.send(&format!(
            "<presence xmlns='jabber:client' from='a@localhost/p' to='a@localhost/p' id='{id}'/>"
        ));
        let iq = peer.recv();
        assert!(iq.starts_with("<iq"), "{iq}");
        let id = attr(&iq, "id");
        assert!(id.ends_with(":sendIQ"), "{iq}");
        peer.send(&format!(
            "<iq xmlns='jabber:client' type='result' from='localhost' id='{id}'/>"
        ));
        let _ = peer.recv(); // unavailable presence or close
    });
    let (conn, mut rec) = connect(&url, "a@localhost", Some("pw"), Options::default());
    rec.wait_for(Status::Connected, 10);
    let (answers, tx) = common::collector::<&'static str>();
    let tx2 = std::sync::Arc::clone(&tx);
    let pres = epode::Builder::pres([("to", "a@localhost/p")]).build();
    let pid = conn
        .send_presence(
            pres,
            move |_, _| tx.lock().unwrap().push("presence"),
            |_, e| panic!("presence error {e:?}"),
            Some(Duration::from_secs(5)),
        )
        .unwrap();
    assert!(pid.ends_with(":sendPresence"), "{pid}");
    let iq = epode::Builder::iq([("type", "get"), ("to", "localhost")])
        .c("ping", [("xmlns", "urn:xmpp:ping")])
        .build();
    let iid = conn
        .send_iq(
            iq,
            move |_, _| tx2.lock().unwrap().push("iq"),
            |_, e| panic!("iq error {e:?}"),
            Some(Duration::from_secs(5)),
        )
        .unwrap();
    assert!(iid.ends_with(":sendIQ"), "{iid}");
    common::eventually(5, "both answers", || answers.lock().unwrap().len() == 2);
    assert_eq!(*answers.lock().unwrap(), vec!["presence", "iq"]);
    conn.disconnect(None).unwrap();
    rec.wait_for(Status::Disconnected, 10);
    server.join().unwrap();
}

/// Issue 14, item 7: `paused()` is true as soon as `pause()` returns, and
/// false as soon as `resume()` returns (Strophe sets the flag at once),
/// while the engine thread runs a session; what pause held still goes out.
#[test]
fn paused_reads_true_right_after_pause() {
    const BODY: &str = "held";
    let (url, server) = serve(|peer| {
        peer.log_in("a@localhost/z");
        let msg = peer.recv();
        assert!(msg.contains(BODY), "{msg}");
        let _ = peer.recv(); // unavailable presence or close
    });
    let (conn, mut rec) = connect(&url, "a@localhost", Some("pw"), Options::default());
    rec.wait_for(Status::Connected, 10);
    for i in 0..100 {
        conn.pause();
        assert!(conn.paused(), "round {i}: not paused right after pause()");
        conn.resume().unwrap();
        assert!(!conn.paused(), "round {i}: paused right after resume()");
    }
    conn.pause();
    assert!(conn.paused());
    let msg = epode::Builder::msg([("to", "b@localhost")])
        .c_text("body", epode::xml::NO_ATTRS, BODY)
        .build();
    conn.send(&msg).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert!(conn.paused(), "the engine left the flag alone");
    conn.resume().unwrap();
    assert!(!conn.paused());
    conn.disconnect(None).unwrap();
    rec.wait_for(Status::Disconnected, 10);
    server.join().unwrap();
}

/// Issue 14, item 8: once the server refused `<enable/>` (`<failed/>`),
/// stream management is off and the client does not answer an `<r/>`.
#[test]
fn no_ack_after_the_server_refused_stream_management() {
    let (url, server) = serve(|peer| {
        peer.authenticate();
        peer.bind_offering("a@localhost/sm", "<sm xmlns='urn:xmpp:sm:3'/>");
        let enable = peer.recv();
        assert!(enable.starts_with("<enable"), "{enable}");
        peer.send("<failed xmlns='urn:xmpp:sm:3'><unexpected-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>");
        peer.send("<r xmlns='urn:xmpp:sm:3'/>");
        // Something the client must answer: the next thing it sends is
        // that answer, not an <a/>.
        peer.send("<iq xmlns='jabber:client' type='get' id='probe' from='localhost' to='a@localhost/sm'><query xmlns='urn:x-epode:nothing'/></iq>");
        let next = peer.recv();
        assert!(
            next.starts_with("<iq") && attr(&next, "id") == "probe",
            "the client answered the <r/> or sent something else: {next}"
        );
        let last = peer.recv(); // unavailable presence
        assert!(!last.starts_with("<a "), "{last}");
    });
    let (conn, mut rec) = connect(&url, "a@localhost", Some("pw"), Options::default());
    rec.wait_for(Status::Connected, 10);
    std::thread::sleep(Duration::from_millis(200));
    assert!(conn.sm_state().is_none());
    conn.disconnect(None).unwrap();
    rec.wait_for(Status::Disconnected, 10);
    server.join().unwrap();
}

/// Issue 14, item 11: the xmlOutput hook sees the `<open/>` of the stream
/// and of its restart, and the `<close/>`, in order with the stanzas (as
/// Strophe's WebSocket transport reports them).
#[test]
fn the_xml_output_hook_sees_open_and_close() {
    let (url, server) = serve(|peer| {
        peer.log_in("a@localhost/o");
        let _ = peer.recv(); // unavailable presence
        let close = peer.recv();
        assert!(close.starts_with("<close"), "{close}");
        peer.send("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
    });
    let conn = Connection::new(&url, Options::default()).unwrap();
    let (out, cb) = common::collector::<String>();
    conn.set_xml_output(Some(move |_: &Connection, e: &epode::Element| {
        let ns = e.attr("xmlns").unwrap_or("");
        cb.lock().unwrap().push(format!("{} {ns}", e.name()));
    }));
    let (mut rec, status_cb) = recorder();
    conn.connect("a@localhost", Some("pw"), status_cb).unwrap();
    rec.wait_for(Status::Connected, 10);
    conn.disconnect(None).unwrap();
    rec.wait_for(Status::Disconnected, 10);
    server.join().unwrap();
    let framing = "urn:ietf:params:xml:ns:xmpp-framing";
    assert_eq!(
        *out.lock().unwrap(),
        vec![
            format!("open {framing}"),
            format!("auth {SASL}"),
            format!("open {framing}"),
            "iq jabber:client".to_string(),
            "presence jabber:client".to_string(),
            format!("close {framing}"),
        ]
    );
}

/// Issue 14, item 11: after a see-other-uri redirect is followed,
/// `service()` is the new URL (still the old one while REDIRECT is
/// reported, as in Strophe), and stays so after the session.
#[test]
fn service_is_the_new_url_after_a_redirect() {
    let (target, second) = serve(|peer| {
        peer.log_in("a@localhost/moved");
        let _ = peer.recv(); // unavailable presence or close
    });
    let to = target.clone();
    let (url, first) = serve(move |peer| {
        peer.open();
        peer.send(&format!(
            "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing' see-other-uri='{to}'/>"
        ));
    });
    let conn = Connection::new(&url, Options::default()).unwrap();
    assert_eq!(conn.service(), url);
    let (seen, seen_cb) = common::collector::<(Status, String)>();
    let (mut rec, mut inner) = recorder();
    conn.connect("a@localhost", Some("pw"), move |c, s, cond, e| {
        seen_cb.lock().unwrap().push((s, c.service()));
        inner(c, s, cond, e);
    })
    .unwrap();
    rec.wait_for(Status::Connected, 10);
    assert_eq!(conn.service(), target);
    // Strophe's fixed condition: the new URL is service().
    assert!(rec.seen.contains(&(
        Status::Redirect,
        Some("Received see-other-uri, resetting connection".into())
    )));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            (Status::Connecting, url.clone()),
            (Status::Redirect, url.clone()),
            (Status::Connecting, target.clone()),
            (Status::Authenticating, target.clone()),
            (Status::Connected, target.clone()),
        ]
    );
    conn.disconnect(None).unwrap();
    rec.wait_for(Status::Disconnected, 10);
    assert_eq!(conn.service(), target);
    first.join().unwrap();
    second.join().unwrap();
}

/// A client waiting for the server's close while a stream-management ack
/// is still outstanding must sleep until the close or its timeout: the
/// ack timer belongs to the live stream. (It stayed due once the stream
/// was closing, so every wait was zero: a pollable loop stepped thousands
/// of times, an engine thread spun, until the server answered.)
#[test]
fn waiting_for_the_close_with_an_ack_outstanding_does_not_spin() {
    let (url, server) = serve(|peer| {
        peer.authenticate();
        peer.bind_offering("a@localhost/sm", "<sm xmlns='urn:xmpp:sm:3'/>");
        let enable = peer.recv();
        assert!(enable.starts_with("<enable"), "{enable}");
        peer.send("<enabled xmlns='urn:xmpp:sm:3'/>");
        // The message, the client's <a/>, its unavailable presence, its <close/>.
        let mut got = Vec::new();
        while !got.last().is_some_and(|m: &String| m.starts_with("<close")) {
            got.push(peer.recv());
        }
        assert!(got.iter().any(|m| m.starts_with("<presence")), "{got:?}");
        // Longer than the ack wait (1 s), shorter than disconnection_timeout.
        std::thread::sleep(Duration::from_millis(2000));
        peer.send("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
    });
    let mut o = Options::default();
    o.set("pollable", "true").unwrap();
    let (conn, mut rec) = connect(&url, "a@localhost", Some("pw"), o);
    let fd = conn.poll_fd().unwrap();
    // The caller's loop: wait on the descriptor up to the next timeout,
    // rounded up (rounded down, the last millisecond before a timer would
    // be spent in waits of zero).
    let mut turn = || {
        let ms = conn
            .next_timeout()
            .unwrap()
            .map_or(100, |t| t.as_micros().div_ceil(1000).min(100) as i32);
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one live pollfd.
        unsafe { libc::poll(&mut p, 1, ms) };
        conn.run_once(Duration::ZERO).unwrap();
        while let Ok(e) = rec.rx.try_recv() {
            rec.seen.push(e);
        }
        rec.seen.last().map(|e| e.0)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while turn() != Some(Status::Connected) {
        assert!(std::time::Instant::now() < deadline, "no login");
    }
    // A stanza the server has not acknowledged when the close begins.
    let msg = epode::Builder::msg([("to", "b@localhost")])
        .c_text("body", epode::xml::NO_ATTRS, "unacked")
        .build();
    conn.send(&msg).unwrap();
    conn.run_once(Duration::ZERO).unwrap();
    conn.disconnect(None).unwrap();
    let mut steps = 0;
    while turn() != Some(Status::Disconnected) {
        steps += 1;
        assert!(std::time::Instant::now() < deadline, "no end");
    }
    // A step per 100 ms cap, a few for the close: about 25.
    assert!(steps < 60, "{steps} steps while waiting 2 s for the close");
    assert_eq!(
        rec.statuses()[3..],
        [Status::Disconnecting, Status::Disconnected]
    );
    server.join().unwrap();
}

/// A handler's send is queued without waking the engine (it runs on the
/// engine's own thread), so the step that ran the handler must write it
/// before it returns: here the peer gets each reply while the client takes
/// no further step, and the descriptor shows nothing left to do.
#[test]
fn a_handler_reply_is_written_by_the_step_that_ran_the_handler() {
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    // The peer sends the next ping only when the client has looked.
    let (go, next) = std::sync::mpsc::channel::<()>();
    let (url, server) = serve(move |peer| {
        peer.authenticate();
        peer.bind("a@localhost/r");
        for n in 0..3 {
            if n > 0 {
                next.recv().unwrap();
            }
            peer.send(&format!(
                "<message xmlns='jabber:client' from='b@localhost/x' type='chat'><body>ping {n}</body></message>"
            ));
            let mut reply = peer.recv();
            while reply.starts_with("<presence") {
                reply = peer.recv();
            }
            tx.send(reply).unwrap();
        }
        let _ = peer.recv(); // the close
    });
    let mut o = Options::default();
    o.set("pollable", "true").unwrap();
    let (conn, mut rec) = connect(&url, "a@localhost", Some("pw"), o);
    conn.add_handler(epode::Matcher::new().name("message"), |c, m| {
        let body = m.child_text("body").unwrap_or_default();
        let reply = epode::Builder::msg([("to", "b@localhost/x")])
            .c_text("body", epode::xml::NO_ATTRS, &format!("pong {body}"))
            .build();
        c.send(&reply).unwrap();
        epode::Keep::Keep
    })
    .unwrap();
    let fd = conn.poll_fd().unwrap();
    let readable = |ms: i32| {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one live pollfd.
        unsafe { libc::poll(&mut p, 1, ms) == 1 }
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut replies = Vec::new();
    while replies.len() < 3 {
        assert!(std::time::Instant::now() < deadline, "got {replies:?}");
        if !readable(100) {
            continue;
        }
        conn.run_once(Duration::ZERO).unwrap();
        if let Ok(reply) = rx.recv_timeout(Duration::from_millis(500)) {
            // Written within that one step; nothing is left pending.
            assert!(!readable(0), "the step left work behind after {reply}");
            replies.push(reply);
            let _ = go.send(());
        }
    }
    for (n, reply) in replies.iter().enumerate() {
        assert!(reply.contains(&format!("pong ping {n}")), "{reply}");
    }
    conn.disconnect(None).unwrap();
    while !rec.seen.iter().any(|e| e.0 == Status::Disconnected) {
        assert!(std::time::Instant::now() < deadline, "no end");
        readable(100);
        conn.run_once(Duration::ZERO).unwrap();
        while let Ok(e) = rec.rx.try_recv() {
            rec.seen.push(e);
        }
    }
    server.join().unwrap();
}
