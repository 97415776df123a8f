//! Issue 20 against real Prosody and ejabberd: addresses written otherwise
//! than the server writes them (`Alice@LocalHost` for `alice@localhost`)
//! are the same addresses, for handlers' `from` and for sendIQ answers.

mod common;

use common::{collector, eventually, recorder, Recorder, Server, Shared};
use epode::{Builder, Connection, Element, Keep, Matcher, Options, Status};
use std::time::Duration;

fn servers() -> Vec<Server> {
    vec![Server::get("prosody"), Server::get("ejabberd")]
}

/// Logs `user` in over WebSocket, asking for `resource` (each test its
/// own: a second session with the same resource would replace the first).
fn login_with(server: &Server, user: &str, resource: &str) -> (Connection, Recorder) {
    let conn = Connection::new(&server.ws(), Options::default()).unwrap();
    let (mut rec, cb) = recorder();
    let jid = format!("{}/{resource}", server.jid(user));
    conn.connect(&jid, Some(&server.password(user)), cb)
        .unwrap();
    rec.wait_for(Status::Connected, 20);
    assert_eq!(
        conn.jid(),
        jid,
        "{}: the server bound another resource",
        server.name()
    );
    (conn, rec)
}

/// `alice` → `Alice`, `localhost` → `LocalHost`-like: every other letter up.
fn other_case(text: &str) -> String {
    text.chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

/// A ping to the server, answered: the engine has processed every command
/// posted before it (handlers added), as commands run in order.
fn settle(conn: &Connection, server: &Server) {
    let (done, cb) = collector::<bool>();
    let ping = Builder::iq([("type", "get"), ("to", server.var("XMPP_DOMAIN").as_str())])
        .c("ping", [("xmlns", "urn:xmpp:ping")])
        .build();
    let on_error = cb.clone();
    conn.send_iq(
        ping,
        move |_, _| cb.lock().unwrap().push(true),
        move |_, _| on_error.lock().unwrap().push(false),
        Some(Duration::from_secs(10)),
    )
    .unwrap();
    eventually(15, "the settling ping", || !done.lock().unwrap().is_empty());
    assert_eq!(*done.lock().unwrap(), [true], "{}", server.name());
}

/// A handler that records the bodies of the messages it matches.
fn record(conn: &Connection, matcher: Matcher) -> Shared<String> {
    let (got, cb) = collector::<String>();
    conn.add_handler(matcher, move |_, m| {
        cb.lock()
            .unwrap()
            .push(m.child_text("body").unwrap_or_default());
        Keep::Keep
    })
    .unwrap();
    got
}

fn by_bare(from: &str) -> Matcher {
    Matcher {
        match_bare_from_jid: true,
        ..Matcher::new().name("message").from(from)
    }
}

#[test]
fn handlers_match_a_from_written_in_another_case() {
    for server in servers() {
        let domain = server.var("XMPP_DOMAIN");
        let (alice, _ra) = login_with(&server, "alice", "Phone");
        let (bob, _rb) = login_with(&server, "bob", "desk");
        // The server writes alice@localhost/Phone; each handler writes her
        // in another case.
        let bare = record(&bob, by_bare(&format!("Alice@{}", other_case(&domain))));
        let full = record(
            &bob,
            Matcher::new()
                .name("message")
                .from(&format!("ALICE@{}/Phone", domain.to_uppercase())),
        );
        // Controls: a resource keeps its case; another account is another.
        let other_resource = record(
            &bob,
            Matcher::new()
                .name("message")
                .from(&format!("alice@{domain}/phone")),
        );
        let carol = record(&bob, by_bare(&format!("Carol@{}", other_case(&domain))));
        // Every handler has seen a stanza once this one has.
        let all = record(&bob, Matcher::new().name("message"));
        settle(&bob, &server);

        let msg = Builder::msg([("to", bob.jid().as_str()), ("type", "chat")])
            .c_text("body", epode::xml::NO_ATTRS, "hi bob")
            .build();
        alice.send(&msg).unwrap();
        eventually(10, "bob gets the message", || {
            !all.lock().unwrap().is_empty()
        });
        let name = server.name();
        assert_eq!(*bare.lock().unwrap(), ["hi bob"], "{name}: by bare JID");
        assert_eq!(*full.lock().unwrap(), ["hi bob"], "{name}: by full JID");
        assert!(other_resource.lock().unwrap().is_empty(), "{name}");
        assert!(carol.lock().unwrap().is_empty(), "{name}");
    }
}

#[test]
fn a_from_that_is_no_jid_is_refused_when_the_handler_is_added() {
    let server = Server::get("prosody");
    let conn = Connection::new(&server.ws(), Options::default()).unwrap();
    let err = conn
        .add_handler(Matcher::new().from("alice smith@localhost"), |_, _| {
            Keep::Keep
        })
        .unwrap_err();
    assert!(matches!(err, epode::Error::InvalidJid(_)), "{err}");
    assert!(err.to_string().contains("U+0020"), "{err}");
}

/// What became of an IQ: "result", "error" (the server's answer) or
/// "timeout" (no answer matched).
fn ask(conn: &Connection, to: &str, payload: Element) -> String {
    let (outcome, cb) = collector::<String>();
    let iq = {
        let mut iq = Builder::iq([("type", "get"), ("to", to)]).build();
        iq.append_child(payload);
        iq
    };
    let on_error = cb.clone();
    conn.send_iq(
        iq,
        move |_, _| cb.lock().unwrap().push("result".into()),
        move |_, answer| {
            let what = if answer.is_some() { "error" } else { "timeout" };
            on_error.lock().unwrap().push(what.into());
        },
        Some(Duration::from_secs(5)),
    )
    .unwrap();
    eventually(15, "the IQ's outcome", || {
        !outcome.lock().unwrap().is_empty()
    });
    let first = outcome.lock().unwrap()[0].clone();
    first
}

fn ping() -> Element {
    Builder::new("ping", [("xmlns", "urn:xmpp:ping")]).build()
}

fn disco_info() -> Element {
    Builder::new(
        "query",
        [("xmlns", "http://jabber.org/protocol/disco#info")],
    )
    .build()
}

#[test]
fn send_iq_to_an_address_in_another_case_gets_its_answer() {
    for server in servers() {
        let name = server.name();
        let domain = server.var("XMPP_DOMAIN");
        let (alice, _ra) = login_with(&server, "alice", "Tablet");
        let (bob, _rb) = login_with(&server, "bob", "Desk");
        // bob answers pings himself.
        bob.add_handler(
            Matcher::new().name("iq").type_("get").ns("urn:xmpp:ping"),
            |conn, iq| {
                let reply = Builder::iq([
                    ("type", "result"),
                    ("id", iq.attr("id").unwrap_or_default()),
                    ("to", iq.attr("from").unwrap_or_default()),
                ])
                .build();
                conn.send(&reply).unwrap();
                Keep::Keep
            },
        )
        .unwrap();
        settle(&bob, &server);

        // The server itself, its name in another case.
        assert_eq!(
            ask(&alice, &other_case(&domain), ping()),
            "result",
            "{name}"
        );
        // bob's full JID: the server stamps his answer bob@localhost/Desk.
        let bob_full = format!("BOB@{}/Desk", domain.to_uppercase());
        assert_eq!(ask(&alice, &bob_full, ping()), "result", "{name}");
        // bob's bare JID: the server answers for the account.
        let bob_bare = format!("Bob@{}", other_case(&domain));
        let answered = ask(&alice, &bob_bare, disco_info());
        assert_ne!(answered, "timeout", "{name}");
    }
}

#[test]
fn send_iq_to_an_invalid_address_is_refused() {
    let server = Server::get("prosody");
    let (alice, _ra) = login_with(&server, "alice", "Laptop");
    let iq = Builder::iq([("type", "get"), ("to", "bob smith@localhost")])
        .c("ping", [("xmlns", "urn:xmpp:ping")])
        .build();
    let err = alice
        .send_iq(iq, |_, _| {}, |_, _| {}, Some(Duration::from_secs(1)))
        .unwrap_err();
    assert!(matches!(err, epode::Error::InvalidJid(_)), "{err}");
}
