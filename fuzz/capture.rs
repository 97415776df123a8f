//! Captures the fuzz targets' seed corpus from real server traffic: logs
//! in to each private test server over WebSocket and BOSH with the
//! rawInput hook set, exchanges a few ordinary stanzas, and writes what
//! the servers sent as seeds under `fuzz/corpus/<target>/`.
//!
//!   tests/servers/prosody.sh start /tmp/p 20222; tests/servers/ejabberd.sh start /tmp/e 20322
//!   cargo run --example fuzz_capture -- /tmp/p /tmp/e
//!
//! Only server → client traffic is kept (no credentials are in it); the
//! SCRAM seeds are the servers' server-first messages with the client
//! nonce swapped for the one the fuzz target's client uses.

use epode::{Builder, Connection, Element, Keep, Matcher, Options, Status};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The nonce `src/fuzzing.rs` gives its SCRAM client.
const SCRAM_NONCE: &str = "fyko+d2lbbFgONRv9qkxdawL";

fn server_env(dir: &str) -> HashMap<String, String> {
    let text = std::fs::read_to_string(format!("{dir}/env")).expect("DIR/env of a test server");
    text.lines()
        .filter_map(|l| l.trim_start_matches("export ").split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

/// One session over `url`: SCRAM-SHA-1 login as alice, a few stanzas,
/// disconnect. Returns every raw text the server sent.
fn session(url: &str, domain: &str) -> Vec<String> {
    let mut o = Options::default();
    o.set("mechanisms", "SCRAM-SHA-1").unwrap();
    let conn = Connection::new(url, o).unwrap();
    let raw = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&raw);
    conn.set_raw_input(Some(move |_: &Connection, t: &str| {
        sink.lock().unwrap().push(t.to_string())
    }));
    let (tx, rx) = channel();
    let tx = Mutex::new(tx);
    conn.connect(
        &format!("alice@{domain}"),
        Some("alice-pass"),
        move |_, s, _, _| {
            let _ = tx.lock().unwrap().send(s);
        },
    )
    .unwrap();
    let wait = |want: Status| loop {
        let s = rx.recv_timeout(Duration::from_secs(20)).expect("a status");
        assert!(s != Status::AuthFail && s != Status::ConnFail, "{url}: {s}");
        if s == want {
            break;
        }
    };
    wait(Status::Connected);
    let (got_tx, got) = channel();
    let got_tx = Mutex::new(got_tx);
    conn.add_handler(Matcher::new().name("message"), move |_, _| {
        let _ = got_tx.lock().unwrap().send(());
        Keep::Remove
    })
    .unwrap();
    let me = conn.jid(); // the full JID: a bare one would go to offline storage
    let stanzas: Vec<Element> = vec![
        Builder::iq([("type", "get"), ("id", "r1")])
            .c("query", [("xmlns", "jabber:iq:roster")])
            .build(),
        Builder::iq([("type", "get"), ("id", "d1"), ("to", domain)])
            .c(
                "query",
                [("xmlns", "http://jabber.org/protocol/disco#info")],
            )
            .build(),
        Builder::iq([("type", "get"), ("id", "p1"), ("to", domain)])
            .c("ping", [("xmlns", "urn:xmpp:ping")])
            .build(),
        Builder::iq([("type", "get"), ("id", "v1"), ("to", domain)])
            .c("no-such-thing", [("xmlns", "urn:example:unknown")])
            .build(),
        Builder::pres(epode::xml::NO_ATTRS).build(),
        Builder::msg([("to", me.as_str()), ("type", "chat"), ("id", "m1")])
            .c_text(
                "body",
                epode::xml::NO_ATTRS,
                "<hello> & \"welcome\" — ünïcödé ✓",
            )
            .build(),
    ];
    for s in &stanzas {
        conn.send(s).unwrap();
    }
    got.recv_timeout(Duration::from_secs(10))
        .expect("our message back");
    std::thread::sleep(Duration::from_millis(500));
    conn.disconnect(None).unwrap();
    wait(Status::Disconnected);
    let texts = raw.lock().unwrap().clone();
    texts
}

fn write_seed(target: &str, name: &str, data: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    std::fs::create_dir_all(&dir).unwrap();
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, data).unwrap();
}

/// The decoded server-first-message of a `<challenge>`, if `text` is one.
fn server_first(text: &str) -> Option<String> {
    use base64::Engine as _;
    let e = epode::xml::parse_received(text).ok()?;
    let e = if e.local_name() == "body" {
        e.child_elements().next()?.clone()
    } else {
        e
    };
    if e.local_name() != "challenge" {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(e.text().trim())
        .ok()?;
    let first = String::from_utf8(bytes).ok()?;
    // r=<client nonce><server part>,s=…,i=… : keep the server's part.
    let rest = first.strip_prefix("r=")?;
    let (nonce, tail) = rest.split_once(',')?;
    let server_part = nonce.get(nonce.len().saturating_sub(16)..)?;
    Some(format!("r={SCRAM_NONCE}{server_part},{tail}"))
}

/// Seeds no server sends on its own: the RFC 5802 exchange, JIDs, and
/// the hostile inputs of issue #8.
fn written_seeds() {
    let first = "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
    for (name, last) in [
        ("rfc5802", "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="),
        ("rfc5802-error", "e=invalid-proof"),
    ] {
        // The target splits server-first from server-final at the byte 0xff.
        let seed = [first.as_bytes(), &[0xff], last.as_bytes()].concat();
        write_seed("scram", name, &seed);
    }
    let jids = [
        "alice@localhost/res",
        "localhost",
        "d'artagnan@musketeers.lit/a b",
        "space\\20cadet@example.com",
        "call\\3a5c@example.com/\\5cr",
        "@example.com",
        "example.com/",
        "a@b@c/d/e",
        " \\2plus\\2is\\4 ",
    ];
    for (i, jid) in jids.iter().enumerate() {
        write_seed("jid", &format!("jid-{i:02}"), jid.as_bytes());
    }
    let hostile = [
        ("deep", format!("{}{}", "<a>".repeat(40), "</a>".repeat(40))),
        (
            "dtd",
            "<!DOCTYPE x [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;\">]><x>&b;</x>".into(),
        ),
        (
            "entities",
            "<m a='&lt;&#x41;&#65;&amp;'>&quot;&apos;&gt;<![CDATA[<&>]]><!--c--><?pi x?></m>"
                .into(),
        ),
        ("big", format!("<m>{}</m>", "x".repeat(5000))),
    ];
    for (name, xml) in &hostile {
        write_seed("c_stanza_parse", name, xml.as_bytes());
        write_seed("websocket_message", name, xml.as_bytes());
        write_seed("xml_stream", name, format!("\x01{xml}").as_bytes());
    }
}

fn main() {
    let dirs: Vec<String> = std::env::args().skip(1).collect();
    assert!(!dirs.is_empty(), "usage: fuzz_capture SERVER_DIR...");
    written_seeds();
    for dir in &dirs {
        let env = server_env(dir);
        let server = &env["XMPP_SERVER"];
        let domain = &env["XMPP_DOMAIN"];
        for (transport, url) in [("ws", &env["XMPP_WS_URL"]), ("bosh", &env["XMPP_BOSH_URL"])] {
            let texts = session(url, domain);
            let mut stream = String::new();
            for (i, text) in texts.iter().enumerate() {
                let name = format!("{server}-{transport}-{i:02}");
                let target = if transport == "ws" {
                    "websocket_message"
                } else {
                    "bosh_body"
                };
                write_seed(target, &name, text.as_bytes());
                if transport == "bosh" {
                    // A body is also a stream of its own for the stream parser.
                    write_seed("xml_stream", &name, format!("\x03{text}").as_bytes());
                }
                if transport == "ws" {
                    write_seed("c_stanza_parse", &name, text.as_bytes());
                    if !text.starts_with("<open") && !text.starts_with("<close") {
                        stream.push_str(text);
                    }
                }
                if let Some(first) = server_first(text) {
                    // Server-first, then the RFC 5802 server-final of user/pencil.
                    let mut seed = first.into_bytes();
                    seed.push(0xff);
                    seed.extend_from_slice(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
                    write_seed("scram", &format!("{server}-{transport}"), &seed);
                }
            }
            if transport == "ws" {
                // The same stanzas as one TCP-style stream, chunk seed 7.
                let header = format!("\x07<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='{domain}' id='s1' version='1.0' xml:lang='en'>");
                let whole = format!("{header}{stream}</stream:stream>");
                write_seed("xml_stream", &format!("{server}-stream"), whole.as_bytes());
            }
        }
        eprintln!("captured {server}");
    }
}
