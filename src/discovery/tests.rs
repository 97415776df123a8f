//! The ordering, merging and fallback rules with the randomness injected,
//! and the checks on names: everything of discovery that needs no DNS
//! server (tests/dns.rs asks a real one).

use super::*;

fn srv(target: &str, priority: u16, weight: u16) -> Srv {
    Srv {
        priority,
        weight,
        port: 5222,
        target: target.into(),
    }
}

fn targets(records: &[Srv]) -> Vec<&str> {
    records.iter().map(|r| r.target.as_str()).collect()
}

fn ep(host: &str, port: u16, direct_tls: bool) -> Endpoint {
    Endpoint {
        host: host.into(),
        port,
        direct_tls,
    }
}

#[test]
fn priorities_ascend_and_a_draw_of_0_keeps_the_list_with_weight_0_first() {
    let records = vec![
        srv("c", 30, 5),
        srv("a1", 10, 5),
        srv("b", 20, 0),
        srv("a2", 10, 0),
        srv("a3", 10, 7),
    ];
    let got = ordered(records, &mut |_| 0);
    // Within priority 10: a2 (weight 0) moved to the front, then a1, a3.
    assert_eq!(targets(&got), ["a2", "a1", "a3", "b", "c"]);
}

#[test]
fn each_draw_picks_the_first_running_sum_that_reaches_it() {
    // List [zero, light, heavy]: running sums 0, 1, 4.
    let records = vec![srv("light", 1, 1), srv("heavy", 1, 3), srv("zero", 1, 0)];
    let mut sums = Vec::new();
    let mut draws = [4, 1, 0].into_iter();
    let got = ordered(records, &mut |sum| {
        sums.push(sum);
        draws.next().unwrap()
    });
    assert_eq!(targets(&got), ["heavy", "light", "zero"]);
    // The sum of the records not yet ordered, each round.
    assert_eq!(sums, [4, 1, 0]);
}

#[test]
fn first_places_over_every_draw_follow_rfc_2782() {
    let records = || vec![srv("light", 1, 1), srv("heavy", 1, 3), srv("zero", 1, 0)];
    let mut first = Vec::new();
    for draw in 0..=4 {
        let got = ordered(records(), &mut |_| draw);
        first.push(got[0].target.clone());
    }
    // Draw 0 selects the weight-0 record (running sum 0 >= 0): its small
    // chance, 1 in sum + 1.
    assert_eq!(first, ["zero", "light", "heavy", "heavy", "heavy"]);
}

#[test]
fn a_draw_past_the_sum_is_taken_as_the_sum() {
    let got = ordered(vec![srv("a", 1, 2), srv("b", 1, 2)], &mut |_| u32::MAX);
    assert_eq!(targets(&got), ["b", "a"]);
    let got = ordered(vec![srv("x", 1, 0), srv("y", 1, 0)], &mut |_| 9);
    assert_eq!(targets(&got), ["x", "y"]);
}

#[test]
fn the_os_random_number_stays_in_range() {
    assert_eq!(random_upto(0), 0);
    assert!((0..1000).all(|_| random_upto(3) <= 3));
    assert!((0..1000).any(|_| random_upto(1) == 1));
}

#[test]
fn both_merges_by_priority_with_direct_tls_first_at_equal_priority() {
    let direct = Found::Records(vec![srv("s10", 10, 0), srv("s30", 30, 0)]);
    let starttls = Found::Records(vec![srv("p10", 10, 0), srv("p5", 5, 0), srv("p30", 30, 0)]);
    let got = decide(
        "d.example",
        Services::Both,
        Some(direct),
        Some(starttls),
        &mut |_| 0,
    )
    .unwrap();
    assert_eq!(
        got,
        [
            ep("p5", 5222, false),
            ep("s10", 5222, true),
            ep("p10", 5222, false),
            ep("s30", 5222, true),
            ep("p30", 5222, false),
        ]
    );
}

#[test]
fn the_fallback_needs_a_lookup_that_found_nothing() {
    let decide =
        |services, direct, starttls| decide("d.example", services, direct, starttls, &mut |_| 0);
    let fails = || Found::Failed(Error::Timeout("t".into()));
    let port_5222 = Ok(vec![ep("d.example", 5222, false)]);
    let port_5223 = Ok(vec![ep("d.example", 5223, true)]);
    use Found::{Nothing, Refused};
    use Services::*;
    assert_eq!(decide(StartTls, None, Some(Nothing)), port_5222);
    assert_eq!(decide(DirectTls, Some(Nothing), None), port_5223);
    assert_eq!(decide(Both, Some(Nothing), Some(Nothing)), port_5222);
    // _xmpps-client's "." or failure does not stop _xmpp-client's fallback.
    assert_eq!(decide(Both, Some(Refused), Some(Nothing)), port_5222);
    assert_eq!(decide(Both, Some(fails()), Some(Nothing)), port_5222);
    // _xmpp-client's "." or failure leaves nothing to fall back on.
    assert!(matches!(
        decide(Both, Some(Nothing), Some(Refused)),
        Err(Error::Io {
            kind: Some(std::io::ErrorKind::NotFound),
            ..
        })
    ));
    assert!(matches!(
        decide(Both, Some(Nothing), Some(fails())),
        Err(Error::Timeout(_))
    ));
    assert!(matches!(
        decide(StartTls, None, Some(fails())),
        Err(Error::Timeout(_))
    ));
    assert!(matches!(
        decide(DirectTls, Some(Refused), None),
        Err(Error::Io { .. })
    ));
    // A failure beside records is dropped: there is somewhere to try.
    assert_eq!(
        decide(
            Both,
            Some(fails()),
            Some(Found::Records(vec![srv("x", 1, 0)]))
        ),
        Ok(vec![ep("x", 5222, false)])
    );
}

#[test]
fn a_dot_target_is_no_endpoint() {
    assert!(matches!(found([srv(".", 0, 0)]), Found::Refused));
    assert!(matches!(found([srv("", 0, 0)]), Found::Refused));
    assert!(matches!(found([]), Found::Nothing));
    // A target that is no host name (dn_expand's \DDD escapes) is dropped
    // like "."; a final dot is trimmed.
    let Found::Records(records) = found([
        srv(".", 0, 0),
        srv("a\\032b.example", 1, 0),
        srv("ok.example.", 2, 0),
    ]) else {
        panic!("no records");
    };
    assert_eq!(targets(&records), ["ok.example"]);
}

#[test]
fn names_are_checked_and_made_ascii() {
    assert_eq!(dns_name("example.com").unwrap(), "example.com");
    assert_eq!(dns_name("example.com.").unwrap(), "example.com");
    assert_eq!(
        dns_name("_xmpp-client._tcp.a").unwrap(),
        "_xmpp-client._tcp.a"
    );
    assert_eq!(dns_name("bücher.example").unwrap(), "xn--bcher-kva.example");
    let label63 = "a".repeat(63);
    assert!(dns_name(&label63).is_ok());
    let name253 = format!("{}a", "abcdefgh.".repeat(28));
    assert_eq!(name253.len(), 253);
    assert!(dns_name(&name253).is_ok());
    let too_long = [format!("{label63}a.example"), format!("{name253}b")];
    for bad in [
        "",
        ".",
        "..",
        "a..b",
        ".a",
        "a b",
        "a\0b",
        "a\tb",
        "a/b",
        "a@b",
        "a\\032b",
        too_long[0].as_str(),
        too_long[1].as_str(),
    ] {
        assert!(
            matches!(dns_name(bad), Err(Error::InvalidArgument(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn ip_literals_are_known_with_or_without_brackets() {
    assert_eq!(ip_literal("127.0.0.1"), Some([127, 0, 0, 1].into()));
    assert_eq!(
        ip_literal("::1"),
        Some(std::net::Ipv6Addr::LOCALHOST.into())
    );
    assert_eq!(
        ip_literal("[::1]"),
        Some(std::net::Ipv6Addr::LOCALHOST.into())
    );
    assert_eq!(ip_literal("[127.0.0.1"), None);
    assert_eq!(ip_literal("example.com"), None);
    assert_eq!(ip_literal("1.2.3"), None);
}

#[test]
fn an_ip_literal_domain_falls_back_without_dns() {
    // Port 1 on loopback would refuse: reaching DNS would be an error.
    let resolver = Resolver::new().dns_server(([127, 0, 0, 1], 1).into());
    assert_eq!(
        resolver.client_endpoints("[::1]", Services::DirectTls),
        Ok(vec![ep("::1", 5223, true)])
    );
    assert_eq!(
        resolver.addresses("10.0.0.1", 7),
        Ok(vec![([10, 0, 0, 1], 7).into()])
    );
}

#[test]
fn the_settings_are_checked_before_any_lookup() {
    assert_eq!(Resolver::default().timeout, Duration::from_secs(5));
    assert_eq!(Resolver::new(), Resolver::default());
    let v6 = Resolver::new().dns_server("[::1]:53".parse().unwrap());
    assert!(matches!(v6.server(), Err(Error::InvalidArgument(_))));
    let zero = Resolver::new().timeout(Duration::ZERO);
    assert!(matches!(zero.server(), Err(Error::InvalidArgument(_))));
    let ok = Resolver::new()
        .dns_server(([127, 0, 0, 1], 53).into())
        .timeout(Duration::from_millis(1500))
        .server()
        .unwrap();
    assert_eq!(ok.addr, Some("127.0.0.1:53".parse().unwrap()));
    assert_eq!(ok.timeout, Duration::from_millis(1500));
}

mod host_meta {
    use crate::discovery::{parse_jrd, parse_xrd, ConnectionMethods, HostMeta};
    use crate::Error;

    const XRD: &str = "<?xml version='1.0' encoding='utf-8'?>\
        <XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\
        <Link rel='urn:xmpp:alt-connections:xbosh' href='https://a.example/bosh'/>\
        <Link rel='urn:xmpp:alt-connections:websocket' href='wss://a.example/ws'/>\
        <Link rel='urn:xmpp:alt-connections:websocket' href='ws://a.example/plain'/>\
        <Link rel='urn:xmpp:alt-connections:websocket' href='wss://b.example/ws'/>\
        <Link rel='urn:xmpp:alt-connections:websocket' href='wss://a.example/ws'/>\
        <Link rel='urn:xmpp:alt-connections:xbosh' href='wss://wrong.example/kind'/>\
        <Link rel='lrdd' href='https://a.example/lrdd'/>\
        <Link rel='urn:xmpp:alt-connections:xbosh'/>\
        </XRD>";

    fn methods(ws: &[&str], bosh: &[&str]) -> ConnectionMethods {
        ConnectionMethods {
            websocket: ws.iter().map(|s| s.to_string()).collect(),
            bosh: bosh.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn xrd_links_keep_their_order_and_drop_plaintext_duplicates_and_wrong_kinds() {
        assert_eq!(
            parse_xrd(XRD, false).unwrap(),
            methods(
                &["wss://a.example/ws", "wss://b.example/ws"],
                &["https://a.example/bosh"]
            )
        );
        assert_eq!(
            parse_xrd(XRD, true).unwrap().websocket,
            [
                "wss://a.example/ws",
                "ws://a.example/plain",
                "wss://b.example/ws"
            ]
        );
    }

    #[test]
    fn jrd_links_are_read_the_same_way() {
        let jrd = r#"{"subject":"x","links":[
            {"rel":"urn:xmpp:alt-connections:websocket","href":"wss://a.example/ws"},
            {"rel":"urn:xmpp:alt-connections:xbosh","href":"http://a.example/bosh"},
            {"rel":"urn:xmpp:alt-connections:xbosh","href":"HTTPS://a.example/bosh"},
            {"rel":"urn:xmpp:alt-connections:xbosh","href":7},
            {"href":"wss://no-rel.example/"}
        ]}"#;
        assert_eq!(
            parse_jrd(jrd, false).unwrap(),
            methods(&["wss://a.example/ws"], &["HTTPS://a.example/bosh"])
        );
        assert_eq!(
            parse_jrd("{}", false).unwrap(),
            ConnectionMethods::default()
        );
    }

    #[test]
    fn malformed_documents_are_errors_not_empty_answers() {
        for bad in [
            "",
            "<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>",
            "<html><body>It works!</body></html>",
            "<XRD><Link rel='urn:xmpp:alt-connections:websocket' href='wss://a/'/></XRD>",
            "<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'/>",
        ] {
            assert!(
                matches!(parse_xrd(bad, false), Err(Error::Io { .. })),
                "{bad:?}"
            );
        }
        for bad in ["", "{", "[]x", r#"{"links":{}}"#, "\u{0}"] {
            assert!(
                matches!(parse_jrd(bad, false), Err(Error::Io { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_origin_is_https_unless_plaintext_is_allowed() {
        let refused = |h: HostMeta, domain: &str| {
            matches!(h.connection_methods(domain), Err(Error::InvalidArgument(_)))
        };
        assert!(refused(HostMeta::new().origin("http://127.0.0.1:1"), "x"));
        assert!(refused(HostMeta::new().origin("ftp://127.0.0.1:1"), "x"));
        assert!(refused(HostMeta::new().origin("https://"), "x"));
        assert!(refused(HostMeta::new(), "not a domain"));
        assert!(refused(HostMeta::new(), ""));
    }
}
