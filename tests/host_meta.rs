//! XEP-0156: a domain's WebSocket and BOSH URLs from its host-meta, from
//! the real servers (ejabberd's mod_host_meta serves both documents;
//! Prosody, which has no such module, a static host-meta.json), and then
//! a login over each URL found. A scripted HTTP peer plays the faults.

mod common;

use common::fake_http::{self, Reply};
use common::{login, Server, CLEAN_SESSION};
use epode::discovery::{ConnectionMethods, HostMeta};
use epode::{Error, Options, Status};
use std::time::{Duration, Instant};

fn servers() -> Vec<Server> {
    vec![Server::get("prosody"), Server::get("ejabberd")]
}

fn lookup(server: &Server, options: &Options) -> epode::Result<ConnectionMethods> {
    HostMeta::from_options(options)
        .origin(&server.var("XMPP_HOST_META_ORIGIN"))
        .connection_methods(&server.var("XMPP_DOMAIN"))
}

#[test]
fn the_urls_found_in_host_meta_log_in_over_websocket_and_bosh() {
    for server in servers() {
        let found = lookup(&server, &server.tls_options()).unwrap();
        let web = server.var("XMPP_HOST_META_ORIGIN").replace("https://", "");
        // Each server's own paths, as its host-meta names them.
        let (ws_path, bosh_path) = match server.name().as_str() {
            "prosody" => ("/xmpp-websocket", "/http-bind"),
            _ => ("/ws", "/bosh"),
        };
        assert_eq!(
            found,
            ConnectionMethods {
                websocket: vec![format!("wss://{web}{ws_path}")],
                bosh: vec![format!("https://{web}{bosh_path}")],
            },
            "{}",
            server.name()
        );
        for url in [&found.websocket[0], &found.bosh[0]] {
            let (conn, mut rec) = login(&server, url, "alice", server.tls_options());
            conn.disconnect(None).unwrap();
            rec.wait_for(Status::Disconnected, 20);
            assert_eq!(
                rec.statuses(),
                CLEAN_SESSION,
                "{} over {url}",
                server.name()
            );
        }
    }
}

#[test]
fn another_ca_is_a_tls_error_and_no_urls() {
    let (prosody, ejabberd) = (Server::get("prosody"), Server::get("ejabberd"));
    for (server, other) in [(&prosody, &ejabberd), (&ejabberd, &prosody)] {
        match lookup(server, &other.tls_options()) {
            Err(Error::Tls { message, .. }) => {
                assert!(message.contains("host-meta"), "{message}")
            }
            other => panic!("{}: {other:?}", server.name()),
        }
    }
}

/// A plaintext peer on loopback; its host-meta documents answer as
/// `script` says, by path.
fn peer(script: impl Fn(&str) -> Reply + Send + Sync + 'static) -> (HostMeta, fake_http::Log) {
    let (url, log) = fake_http::serve(move |req, _| script(&req.path));
    let origin = url.trim_end_matches("/http-bind").to_string();
    let lookup = HostMeta::new()
        .origin(&origin)
        .allow_plaintext(true)
        .timeout(Duration::from_secs(2));
    (lookup, log)
}

fn paths(log: &fake_http::Log) -> Vec<String> {
    log.lock().unwrap().iter().map(|r| r.path.clone()).collect()
}

const JRD: &str =
    r#"{"links":[{"rel":"urn:xmpp:alt-connections:websocket","href":"wss://x.example/ws"}]}"#;

#[test]
fn a_missing_or_broken_xml_host_meta_falls_back_to_the_json_one() {
    for xml in [
        Reply::status(404),
        Reply::ok("<html>It works!</html>"),
        Reply::ok("<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'/>"),
    ] {
        let xml = std::sync::Mutex::new(Some(xml));
        let (lookup, log) = peer(move |path| match path {
            "/.well-known/host-meta" => xml.lock().unwrap().take().unwrap(),
            _ => Reply::ok(JRD),
        });
        let found = lookup.connection_methods("x.example").unwrap();
        assert_eq!(found.websocket, ["wss://x.example/ws"]);
        assert_eq!(
            paths(&log),
            ["/.well-known/host-meta", "/.well-known/host-meta.json"]
        );
    }
}

#[test]
fn a_server_without_links_errors_and_says_why() {
    let (lookup, _) = peer(|path| match path {
        "/.well-known/host-meta" => Reply::status(404),
        _ => Reply::status(500),
    });
    let err = lookup.connection_methods("x.example").unwrap_err();
    assert!(err.to_string().contains("HTTP 500"), "{err}");

    let (lookup, _) = peer(|_| Reply::ok("{}"));
    match lookup.connection_methods("x.example") {
        Err(Error::Io { kind, .. }) => assert_eq!(kind, Some(std::io::ErrorKind::NotFound)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_server_that_loops_floods_or_hangs_is_left_within_the_timeout() {
    let redirect = |path: &str| {
        let mut r = Reply::status(302);
        r.headers.push(("Location".into(), path.to_string()));
        r
    };
    let (lookup, log) = peer(move |path| redirect(path));
    let err = lookup.connection_methods("x.example").unwrap_err();
    assert!(err.to_string().contains("redirect"), "{err}");
    // 5 redirects at most, for each of the two documents.
    assert_eq!(paths(&log).len(), 12, "{:?}", paths(&log));

    let huge = format!("{{\"links\":[], \"pad\":\"{}\"}}", "x".repeat(100_000));
    let (lookup, _) = peer(move |_| Reply::ok(&huge));
    let err = lookup.connection_methods("x.example").unwrap_err();
    assert!(err.to_string().contains("limit"), "{err}");

    let (lookup, _) = peer(|_| {
        let mut r = Reply::ok(JRD);
        r.delay = Duration::from_secs(30);
        r
    });
    let started = Instant::now();
    let err = lookup.connection_methods("x.example").unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn plaintext_is_refused_before_anything_is_asked() {
    let (lookup, log) = peer(|_| Reply::ok(JRD));
    let strict = lookup.allow_plaintext(false);
    assert!(matches!(
        strict.connection_methods("x.example"),
        Err(Error::InvalidArgument(_))
    ));
    assert!(paths(&log).is_empty());
}
