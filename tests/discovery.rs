//! Logins that find the server from the JID alone (RFC 6120 §3.2, XEP-0368):
//! a private dnsmasq on loopback serves SRV records pointing at the real
//! servers, behind a first target that never answers.

mod common;

use common::dns::{Dns, Record};
use common::{collect_output, recorder, Server, CLEAN_SESSION};
use epode::{Connection, Options, Status};
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn servers() -> Vec<Server> {
    vec![Server::get("prosody"), Server::get("ejabberd")]
}

fn port(server: &Server, var: &str) -> u16 {
    server.var(var).parse().unwrap()
}

/// A listener that takes connections and never says a word: a server
/// that hangs, which the login must leave after its share of the time.
fn silent() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let p = l.local_addr().unwrap().port();
    (l, p)
}

fn options(server: &Server, dns: &Dns, connect_timeout_ms: u64) -> Options {
    let mut o = server.tls_options();
    o.set("dns_server", &dns.addr().to_string()).unwrap();
    o.set("connect_timeout", &connect_timeout_ms.to_string())
        .unwrap();
    o
}

#[test]
fn a_bare_jid_finds_the_server_by_srv_past_a_dead_first_target() {
    for server in servers() {
        let (_hang, dead) = silent();
        let dns = Dns::start(&[
            Record::srv("_xmpp-client._tcp.localhost", "dead.test", dead, 0, 0),
            Record::srv(
                "_xmpp-client._tcp.localhost",
                "xmpp.test",
                port(&server, "XMPP_C2S_PORT"),
                10,
                0,
            ),
            Record::srv(
                "_xmpps-client._tcp.localhost",
                "xmpps.test",
                port(&server, "XMPP_C2S_TLS_PORT"),
                20,
                0,
            ),
            Record::Host {
                name: "dead.test",
                addr: LOOPBACK,
            },
            Record::Host {
                name: "xmpp.test",
                addr: LOOPBACK,
            },
            Record::Host {
                name: "xmpps.test",
                addr: LOOPBACK,
            },
        ]);
        // Three endpoints and 9 s: the hanging one gets a third.
        let conn = Connection::new("", options(&server, &dns, 9000)).unwrap();
        let sent = collect_output(&conn);
        let (mut rec, cb) = recorder();
        let started = Instant::now();
        conn.connect(&server.jid("alice"), Some(&server.password("alice")), cb)
            .unwrap();
        rec.wait_for(Status::Connected, 20);
        let took = started.elapsed();
        let what = server.name();
        assert!(
            took >= Duration::from_millis(2900),
            "{what}: the dead target was skipped? {took:?}"
        );
        assert!(
            took < Duration::from_secs(6),
            "{what}: the dead target took more than its share: {took:?}"
        );
        assert!(
            dns.saw_query("SRV", "_xmpp-client._tcp.localhost"),
            "{}",
            dns.log()
        );
        assert!(
            dns.saw_query("SRV", "_xmpps-client._tcp.localhost"),
            "{}",
            dns.log()
        );
        assert!(dns.saw_query("A", "xmpp.test"), "{}", dns.log());
        // The second target: STARTTLS, verified for the JID's domain.
        let sent = sent.lock().unwrap().join("");
        assert!(
            sent.contains("urn:ietf:params:xml:ns:xmpp-tls"),
            "{what}: {sent}"
        );
        assert!(
            conn.jid().starts_with("alice@localhost/"),
            "{what}: {}",
            conn.jid()
        );
        conn.disconnect(None).unwrap();
        rec.wait_for(Status::Disconnected, 10);
        assert_eq!(rec.statuses(), CLEAN_SESSION, "{what}");
    }
}

#[test]
fn direct_tls_records_come_first_at_equal_priority_and_tls_domain_asks_only_for_them() {
    for server in servers() {
        let dns = Dns::start(&[
            Record::srv(
                "_xmpp-client._tcp.localhost",
                "xmpp.test",
                port(&server, "XMPP_C2S_PORT"),
                5,
                0,
            ),
            Record::srv(
                "_xmpps-client._tcp.localhost",
                "xmpps.test",
                port(&server, "XMPP_C2S_TLS_PORT"),
                5,
                0,
            ),
            Record::Host {
                name: "xmpp.test",
                addr: LOOPBACK,
            },
            Record::Host {
                name: "xmpps.test",
                addr: LOOPBACK,
            },
        ]);
        for service in ["localhost", "tls://localhost"] {
            let conn = Connection::new(service, options(&server, &dns, 10_000)).unwrap();
            let sent = collect_output(&conn);
            let (mut rec, cb) = recorder();
            conn.connect(&server.jid("bob"), Some(&server.password("bob")), cb)
                .unwrap();
            rec.wait_for(Status::Connected, 20);
            // Direct TLS: no STARTTLS on the wire.
            let sent = sent.lock().unwrap().join("");
            assert!(
                !sent.contains("urn:ietf:params:xml:ns:xmpp-tls"),
                "{} {service}: {sent}",
                server.name()
            );
            assert!(dns.saw_query("A", "xmpps.test"), "{}", dns.log());
            conn.disconnect(None).unwrap();
            rec.wait_for(Status::Disconnected, 10);
        }
        assert!(!dns.log().contains("query[A] xmpp.test"), "{}", dns.log());
    }
}

#[test]
fn without_records_the_domain_itself_is_tried_on_5222() {
    let server = Server::get("prosody");
    let dns = Dns::start(&[Record::Host {
        name: "localhost",
        addr: LOOPBACK,
    }]);
    let conn = Connection::new("", options(&server, &dns, 5000)).unwrap();
    let (mut rec, cb) = recorder();
    conn.connect(&server.jid("alice"), Some(&server.password("alice")), cb)
        .unwrap();
    let seen = rec.wait_for(Status::Disconnected, 20);
    assert_eq!(
        rec.statuses(),
        vec![Status::Connecting, Status::ConnFail, Status::Disconnected]
    );
    let why = seen[1].1.clone().unwrap_or_default();
    assert!(why.contains("127.0.0.1:5222"), "{why}");
    assert!(
        dns.saw_query("SRV", "_xmpp-client._tcp.localhost"),
        "{}",
        dns.log()
    );
}

#[test]
fn a_dns_server_that_never_answers_is_a_bounded_failure() {
    let server = Server::get("prosody");
    // A UDP socket that reads nothing: queries go unanswered.
    let quiet = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut o = server.tls_options();
    o.set("dns_server", &quiet.local_addr().unwrap().to_string())
        .unwrap();
    o.set("connect_timeout", "2000").unwrap();
    let conn = Connection::new("", o).unwrap();
    let (mut rec, cb) = recorder();
    let started = Instant::now();
    conn.connect(&server.jid("alice"), Some(&server.password("alice")), cb)
        .unwrap();
    rec.wait_for(Status::Disconnected, 20);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "{took:?}");
    let statuses = rec.statuses();
    assert_eq!(statuses[0], Status::Connecting);
    assert!(
        matches!(statuses[1], Status::ConnFail | Status::ConnTimeout),
        "{statuses:?}"
    );
}
