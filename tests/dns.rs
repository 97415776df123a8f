//! DNS SRV discovery (`epode::discovery`) against a real DNS server:
//! a private dnsmasq on loopback with each test's own records, whose query
//! log shows that the lookups went to it and nowhere else.

mod common;

use common::dns::{Dns, Record};
use epode::discovery::{Endpoint, Resolver, Services};
use epode::Error;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

const XMPP: &str = "_xmpp-client._tcp.example.test";
const XMPPS: &str = "_xmpps-client._tcp.example.test";

fn srv<'a>(name: &'a str, target: &'a str, port: u16, priority: u16, weight: u16) -> Record<'a> {
    Record::srv(name, target, port, priority, weight)
}

fn ep(host: &str, port: u16, direct_tls: bool) -> Endpoint {
    Endpoint {
        host: host.into(),
        port,
        direct_tls,
    }
}

fn hosts(endpoints: &[Endpoint]) -> Vec<&str> {
    endpoints.iter().map(|e| e.host.as_str()).collect()
}

#[test]
fn priorities_come_in_ascending_order_and_the_query_reached_our_server() {
    let dns = Dns::start(&[
        srv(XMPP, "c.example.test", 5224, 30, 1),
        srv(XMPP, "a.example.test", 5222, 10, 1),
        srv(XMPP, "b.example.test", 5223, 20, 1),
    ]);
    let found = dns
        .resolver()
        .client_endpoints("example.test", Services::StartTls)
        .unwrap();
    assert_eq!(
        found,
        [
            ep("a.example.test", 5222, false),
            ep("b.example.test", 5223, false),
            ep("c.example.test", 5224, false),
        ]
    );
    assert!(dns.saw_query("SRV", XMPP), "log: {}", dns.log());
    // StartTls asks for _xmpp-client only.
    assert!(!dns.log().contains(XMPPS), "log: {}", dns.log());
}

/// RFC 2782: within a priority, a record comes first with a chance of
/// (its weight + [it is first in the list]) / (sum + 1); a weight-0 record
/// is put first in the list, so it keeps a chance of 1 / (sum + 1).
#[test]
fn weights_spread_the_first_place_as_rfc_2782_says() {
    let dns = Dns::start(&[
        srv(XMPP, "light.example.test", 5222, 10, 1),
        srv(XMPP, "heavy.example.test", 5222, 10, 3),
        srv(XMPP, "zero.example.test", 5222, 10, 0),
        srv(XMPP, "later.example.test", 5222, 20, 100),
    ]);
    let resolver = dns.resolver();
    let rounds = 400;
    let mut first = std::collections::HashMap::new();
    for _ in 0..rounds {
        let found = resolver
            .client_endpoints("example.test", Services::StartTls)
            .unwrap();
        assert_eq!(found.len(), 4);
        assert_eq!(found[3].host, "later.example.test", "{found:?}");
        *first.entry(found[0].host.clone()).or_insert(0) += 1;
    }
    let count = |h: &str| first.get(h).copied().unwrap_or(0);
    // Expected: zero 1/5, light 1/5, heavy 3/5 (sum 4, five draws 0..=4:
    // 0 picks zero, 1 light, 2..=4 heavy). Bounds far outside chance.
    let (zero, light, heavy) = (
        count("zero.example.test"),
        count("light.example.test"),
        count("heavy.example.test"),
    );
    assert_eq!(zero + light + heavy, rounds, "{first:?}");
    assert!((160..=320).contains(&heavy), "{first:?}");
    assert!((40..=130).contains(&light), "{first:?}");
    assert!((40..=130).contains(&zero), "{first:?}");
}

#[test]
fn a_weight_0_record_rarely_comes_before_a_heavy_one() {
    let dns = Dns::start(&[
        srv(XMPP, "zero.example.test", 5222, 10, 0),
        srv(XMPP, "heavy.example.test", 5222, 10, 1000),
    ]);
    let resolver = dns.resolver();
    let zero_first = (0..200)
        .filter(|_| {
            let found = resolver
                .client_endpoints("example.test", Services::StartTls)
                .unwrap();
            assert_eq!(found.len(), 2, "{found:?}");
            found[0].host == "zero.example.test"
        })
        .count();
    // A chance of 1 in 1001 each time: more than 5 in 200 is not chance.
    assert!(zero_first <= 5, "{zero_first} of 200");
}

#[test]
fn both_merges_by_priority_with_direct_tls_first_at_equal_priority() {
    let dns = Dns::start(&[
        srv(XMPPS, "c.example.test", 5223, 10, 0),
        srv(XMPP, "a.example.test", 5222, 10, 0),
        srv(XMPP, "d.example.test", 5222, 5, 0),
        srv(XMPPS, "e.example.test", 443, 20, 0),
    ]);
    let found = dns
        .resolver()
        .client_endpoints("example.test", Services::Both)
        .unwrap();
    assert_eq!(
        found,
        [
            ep("d.example.test", 5222, false),
            ep("c.example.test", 5223, true),
            ep("a.example.test", 5222, false),
            ep("e.example.test", 443, true),
        ]
    );
    assert!(dns.saw_query("SRV", XMPP) && dns.saw_query("SRV", XMPPS));
    let direct = dns
        .resolver()
        .client_endpoints("example.test", Services::DirectTls)
        .unwrap();
    assert_eq!(
        direct,
        [
            ep("c.example.test", 5223, true),
            ep("e.example.test", 443, true)
        ]
    );
}

#[test]
fn a_dot_target_means_not_offered_and_no_fallback() {
    let dns = Dns::start(&[
        srv(XMPP, ".", 0, 0, 0),
        srv(XMPPS, "tls.example.test", 5223, 10, 0),
        srv("_xmpp-client._tcp.closed.test", ".", 0, 0, 0),
    ]);
    let resolver = dns.resolver();
    // _xmpp-client says no; _xmpps-client's record stands alone.
    assert_eq!(
        resolver
            .client_endpoints("example.test", Services::Both)
            .unwrap(),
        [ep("tls.example.test", 5223, true)]
    );
    for services in [Services::StartTls, Services::Both] {
        let err = resolver
            .client_endpoints("closed.test", services)
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Io {
                    kind: Some(std::io::ErrorKind::NotFound),
                    ..
                }
            ),
            "{services:?}: {err:?}"
        );
    }
    // closed.test has no _xmpps-client records: that alone falls back.
    assert_eq!(
        resolver
            .client_endpoints("closed.test", Services::DirectTls)
            .unwrap(),
        [ep("closed.test", 5223, true)]
    );
}

#[test]
fn no_records_fall_back_to_5222_or_5223() {
    let dns = Dns::start(&[Record::Host {
        name: "host.test",
        addr: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9)),
    }]);
    let resolver = dns.resolver();
    // nothing.test: NXDOMAIN; host.test: the name exists, without SRV.
    for domain in ["nothing.test", "host.test"] {
        for (services, port, direct) in [
            (Services::Both, 5222, false),
            (Services::StartTls, 5222, false),
            (Services::DirectTls, 5223, true),
        ] {
            assert_eq!(
                resolver.client_endpoints(domain, services).unwrap(),
                [ep(domain, port, direct)],
                "{domain} {services:?}"
            );
        }
    }
    assert!(dns.saw_query("SRV", "_xmpps-client._tcp.nothing.test"));
    // A final dot is the same name.
    assert_eq!(
        resolver
            .client_endpoints("nothing.test.", Services::StartTls)
            .unwrap(),
        [ep("nothing.test", 5222, false)]
    );
}

#[test]
fn addresses_come_from_our_server_and_ip_literals_skip_dns() {
    let v4 = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 7));
    let v6 = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 7));
    let dns = Dns::start(&[
        Record::Host {
            name: "xmpp.example.test",
            addr: v4,
        },
        Record::Host {
            name: "xmpp.example.test",
            addr: v6,
        },
        Record::Host {
            name: "v4only.example.test",
            addr: v4,
        },
    ]);
    let resolver = dns.resolver();
    assert_eq!(
        resolver.addresses("xmpp.example.test", 5222).unwrap(),
        [SocketAddr::new(v6, 5222), SocketAddr::new(v4, 5222)]
    );
    assert!(dns.saw_query("A", "xmpp.example.test"));
    assert!(dns.saw_query("AAAA", "xmpp.example.test"));
    assert_eq!(
        resolver.addresses("v4only.example.test", 1).unwrap(),
        [SocketAddr::new(v4, 1)]
    );
    let err = resolver.addresses("missing.example.test", 1).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Io {
                kind: Some(std::io::ErrorKind::NotFound),
                ..
            }
        ),
        "{err:?}"
    );
    for (literal, ip) in [
        ("192.0.2.1", "192.0.2.1"),
        ("2001:db8::1", "2001:db8::1"),
        ("[2001:db8::2]", "2001:db8::2"),
    ] {
        let ip: IpAddr = ip.parse().unwrap();
        assert_eq!(
            resolver.addresses(literal, 5).unwrap(),
            [SocketAddr::new(ip, 5)]
        );
    }
    // An IP literal as the domain: no SRV lookup, the fallback.
    assert_eq!(
        resolver
            .client_endpoints("192.0.2.1", Services::Both)
            .unwrap(),
        [ep("192.0.2.1", 5222, false)]
    );
    // Let the log catch up with everything above, then look for literals.
    assert!(dns.saw_query("A", "missing.example.test"));
    let log = dns.log();
    assert!(
        !log.contains("192.0.2.1") && !log.contains("2001:db8"),
        "{log}"
    );
}

#[test]
fn a_server_that_never_answers_times_out_in_about_the_timeout() {
    // Bound and silent: queries arrive and are never answered.
    let silent = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let resolver = Resolver::new()
        .dns_server(silent.local_addr().unwrap())
        .timeout(Duration::from_secs(1));
    for services in [Services::Both, Services::StartTls] {
        let started = Instant::now();
        let err = resolver
            .client_endpoints("example.test", services)
            .unwrap_err();
        let took = started.elapsed();
        assert!(matches!(err, Error::Timeout(_)), "{err:?}");
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
            "{services:?} took {took:?}"
        );
    }
    let started = Instant::now();
    let err = resolver.addresses("xmpp.example.test", 1).unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(2500));
}

#[test]
fn a_server_where_nothing_listens_fails_within_the_timeout() {
    // Bound to learn a free port, then closed: the kernel refuses (ICMP
    // port unreachable), so glibc gives up at once; at worst it waits.
    let port = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let resolver = Resolver::new()
        .dns_server(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .timeout(Duration::from_secs(3));
    let started = Instant::now();
    let err = resolver
        .client_endpoints("example.test", Services::Both)
        .unwrap_err();
    assert!(
        matches!(err, Error::Io { .. } | Error::Timeout(_)),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(3500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn bad_input_is_an_invalid_argument() {
    let dns = Dns::start(&[srv(XMPP, "a.example.test", 5222, 0, 0)]);
    let resolver = dns.resolver();
    let long_label = format!("{}.test", "a".repeat(64));
    let long_name = format!("{}test", "abcdefghi.".repeat(25));
    for bad in [
        "",
        ".",
        "a b.test",
        "a\0b.test",
        "a..test",
        "a/b.test",
        &long_label,
        &long_name,
    ] {
        for services in [Services::Both, Services::DirectTls] {
            let err = resolver.client_endpoints(bad, services).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(_)), "{bad:?}: {err:?}");
        }
        let err = resolver.addresses(bad, 1).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{bad:?}: {err:?}");
    }
    let v6 = Resolver::new().dns_server("[::1]:53".parse().unwrap());
    assert!(matches!(
        v6.client_endpoints("example.test", Services::Both),
        Err(Error::InvalidArgument(_))
    ));
    let zero = dns.resolver().timeout(Duration::ZERO);
    assert!(matches!(
        zero.addresses("example.test", 1),
        Err(Error::InvalidArgument(_))
    ));
    // Still alive and answering after all that.
    assert_eq!(
        hosts(
            &resolver
                .client_endpoints("example.test", Services::StartTls)
                .unwrap()
        ),
        ["a.example.test"]
    );
}

/// dnsmasq refuses names it is not told about outside .test (it has no
/// upstream): a failed lookup, which must not fall back, since the
/// records may well exist.
#[test]
fn a_refused_lookup_is_an_error_not_a_fallback() {
    let dns = Dns::start(&[srv(XMPP, "a.example.test", 5222, 0, 0)]);
    let started = Instant::now();
    for services in [Services::Both, Services::StartTls, Services::DirectTls] {
        let err = dns
            .resolver()
            .client_endpoints("elsewhere.example", services)
            .unwrap_err();
        assert!(matches!(err, Error::Io { kind: None, .. }), "{err:?}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(dns.saw_query("SRV", "_xmpp-client._tcp.elsewhere.example"));
}

/// Without a DNS server, addresses() is getaddrinfo: /etc/hosts answers
/// for localhost, so no query leaves the machine.
#[test]
fn without_a_dns_server_addresses_come_from_the_system() {
    let found = Resolver::new().addresses("localhost", 5222).unwrap();
    assert!(
        found.contains(&SocketAddr::from((Ipv4Addr::LOCALHOST, 5222))),
        "{found:?}"
    );
}

/// An answer too big for 512 bytes of UDP comes truncated; glibc asks
/// again over TCP, to the same (our) server.
#[test]
fn a_big_answer_comes_whole_over_tcp() {
    let names: Vec<String> = (0..40)
        .map(|i| format!("host-number-{i:02}-with-a-rather-long-name.example.test"))
        .collect();
    let records: Vec<Record> = names
        .iter()
        .enumerate()
        .map(|(i, name)| srv(XMPP, name, 5222, i as u16, 1))
        .collect();
    let dns = Dns::start(&records);
    let found = dns
        .resolver()
        .client_endpoints("example.test", Services::StartTls)
        .unwrap();
    assert_eq!(hosts(&found), names);
    // Asked twice: over UDP, then over TCP.
    assert!(dns.saw_query("SRV", XMPP));
    common::eventually(5, "the TCP query in the log", || {
        dns.log().matches(&format!("query[SRV] {XMPP} ")).count() >= 2
    });
}
