//! Options: every key validated, defaults, Strophe's names and values.

use super::*;
use crate::error::Error;

/// Every key `Options::set` knows, read from its match arms, so that a
/// key added later is covered too.
fn every_key() -> Vec<String> {
    let source = include_str!("by_name.rs");
    let body = source
        .split("pub fn set(&mut self")
        .nth(1)
        .and_then(|s| s.split("_ => return Err(Error::UnknownOption").next())
        .expect("the match of Options::set");
    let mut keys = Vec::new();
    for line in body.lines() {
        // Arms look like `"a" | "b" => …` at the match's indentation;
        // deeper ones (`"ws" | "wss"` inside `protocol`) are values.
        let Some(line) = line.strip_prefix(&" ".repeat(12)) else {
            continue;
        };
        let Some((names, _)) = line.split_once("=>") else {
            continue;
        };
        if !names.starts_with('"') {
            continue;
        }
        keys.extend(
            names
                .split('|')
                .map(|k| k.trim().trim_matches('"').to_string()),
        );
    }
    assert!(keys.len() > 30, "found only {keys:?}");
    keys
}

#[test]
fn debug_output_hides_cookie_values() {
    let o = opts(&[("cookies", "authToken=eyJ-secret-token; Path=/")]);
    let shown = format!("{o:?}");
    assert!(!shown.contains("eyJ-secret-token"), "{shown}");
    assert!(
        shown.contains("authToken") && shown.contains("<redacted>"),
        "{shown}"
    );
}

#[test]
fn certificate_checks_go_off_only_by_their_own_name() {
    assert!(!Options::default().accept_invalid_certs);
    let names = ["accept_invalid_certs", "acceptInvalidCerts"];
    for key in every_key() {
        for value in [
            "true", "1", "yes", "on", "false", "0", "no", "off", "none", "",
        ] {
            let mut o = Options::default();
            let _ = o.set(&key, value);
            let off = o.accept_invalid_certs;
            let expected =
                names.contains(&key.as_str()) && ["true", "1", "yes", "on"].contains(&value);
            assert_eq!(off, expected, "{key}={value:?}");
        }
    }
    // No near miss or prefix is taken for it either.
    for key in [
        "accept_invalid",
        "insecure",
        "verify",
        "tls_verify",
        "ACCEPT_INVALID_CERTS",
        "accept_invalid_certs ",
    ] {
        let mut o = Options::default();
        assert!(
            matches!(o.set(key, "true"), Err(Error::UnknownOption(_))),
            "{key}"
        );
    }
}

fn opts(pairs: &[(&str, &str)]) -> Options {
    let mut o = Options::default();
    for (k, v) in pairs {
        o.set(k, v).unwrap();
    }
    o
}

#[test]
fn transport_selection_follows_seed_003() {
    let ws = |u: &str| TransportKind::WebSocket { url: u.into() };
    let bosh = |u: &str| TransportKind::Bosh { url: u.into() };
    let none = Options::default();
    assert_eq!(select_transport("ws://h/x", &none).unwrap(), ws("ws://h/x"));
    assert_eq!(
        select_transport("WSS://h/x", &none).unwrap(),
        ws("wss://h/x")
    );
    assert_eq!(
        select_transport("http://h/b", &none).unwrap(),
        bosh("http://h/b")
    );
    assert_eq!(
        select_transport("HTTPS://h/b", &none).unwrap(),
        bosh("https://h/b")
    );
    let origin = opts(&[("origin", "http://h:5280/app")]);
    assert_eq!(
        select_transport("/http-bind", &origin).unwrap(),
        bosh("http://h:5280/http-bind")
    );
    let ws_rel = opts(&[("origin", "http://h"), ("protocol", "ws")]);
    assert_eq!(select_transport("/ws", &ws_rel).unwrap(), ws("ws://h/ws"));
    // An https page never downgrades.
    let secure = opts(&[("origin", "https://h"), ("protocol", "ws")]);
    assert_eq!(select_transport("/ws", &secure).unwrap(), ws("wss://h/ws"));
    let secure_bosh = opts(&[("origin", "https://h")]);
    assert_eq!(
        select_transport("/b", &secure_bosh).unwrap(),
        bosh("https://h/b")
    );
    // A relative service without an origin is a clear error.
    assert!(select_transport("/b", &none).is_err());
    assert!(select_transport("b/x", &origin).is_err());
    assert!(select_transport("ftp://h", &none).is_err());
}

#[test]
fn worker_wins_but_refuses_bosh() {
    let w = opts(&[("worker", "tabs")]);
    assert_eq!(
        select_transport("ws://h/x", &w).unwrap(),
        TransportKind::Shared {
            worker: "tabs".into(),
            url: "ws://h/x".into()
        }
    );
    assert!(select_transport("http://h/b", &w).is_err());
}

#[test]
fn options_by_name() {
    let o = opts(&[
        ("mechanisms", "scram-sha-256, PLAIN"),
        ("sync", "true"),
        ("customHeaders", "X-App-Version: 2.1.0"),
        ("cookie", "authToken=abc; Domain=.example.com; Path=/"),
        ("disconnection_timeout", "500"),
        ("maxRetries", "7"),
    ]);
    assert_eq!(
        o.mechanisms,
        Some(vec!["SCRAM-SHA-256".to_string(), "PLAIN".to_string()])
    );
    assert!(o.sync);
    assert_eq!(
        o.custom_headers,
        vec![("X-App-Version".to_string(), "2.1.0".to_string())]
    );
    assert_eq!(o.cookies[0].domain.as_deref(), Some("example.com"));
    assert_eq!(o.disconnection_timeout, Duration::from_millis(500));
    assert_eq!(o.max_retries, 7);
    let mut o = Options::default();
    assert_eq!(
        o.set("nonsense", "1"),
        Err(Error::UnknownOption("nonsense".into()))
    );
    assert!(o.set("sync", "maybe").is_err());
    assert!(o.set("pollable", "yes please").is_err());
    assert!(o.set("customHeaders", "no colon").is_err());
    assert!(o.set("customHeaders", "X-Evil: a\r\nInjected: b").is_err());
    assert!(o.set("protocol", "http").is_err());
}

/// Every numeric option by all its names, with its lowest and highest
/// accepted values as the error message gives them.
const NUMERIC: &[(&[&str], &str, &str)] = &[
    (&["timeout", "TIMEOUT"], "1.0", "10.0"),
    (&["secondary_timeout", "SECONDARY_TIMEOUT"], "0.01", "10.0"),
    (&["maxRetries", "max_retries"], "0", "1000000"),
    (
        &["disconnection_timeout", "disconnectionTimeout"],
        "0",
        "86400000",
    ),
    (&["connect_timeout", "connectTimeout"], "1", "86400000"),
    (&["wait"], "1", "3600"),
    (&["hold"], "0", "15"),
    (&["max_stanza_bytes"], "1024", "1073741824"),
    (&["max_depth"], "8", "1024"),
    (&["reconnect_delay", "reconnectDelay"], "1", "86400000"),
    (
        &["reconnect_max_delay", "reconnectMaxDelay"],
        "1",
        "86400000",
    ),
    (&["max_send_queue_bytes"], "1024", "1073741824"),
    (&["pingInterval", "ping_interval"], "0", "86400000"),
    (&["pingTimeout", "ping_timeout"], "1000", "86400000"),
];

/// Just outside [min, max]: min - 1 and max + 1 (± 0.001 for floats).
fn just_outside(min: &str, max: &str) -> [String; 2] {
    if min.contains('.') {
        let (lo, hi): (f64, f64) = (min.parse().unwrap(), max.parse().unwrap());
        [(lo - 0.001).to_string(), (hi + 0.001).to_string()]
    } else {
        let (lo, hi): (i128, i128) = (min.parse().unwrap(), max.parse().unwrap());
        [(lo - 1).to_string(), (hi + 1).to_string()]
    }
}

#[test]
fn numeric_options_cover_every_numeric_key() {
    // A numeric key added to `set` without a row here fails this test.
    let listed: Vec<&str> = NUMERIC
        .iter()
        .flat_map(|(names, ..)| names.iter().copied())
        .collect();
    for key in every_key() {
        let numeric = Options::default().set(&key, "abc").is_err()
            && Options::default().get(&key).unwrap().parse::<f64>().is_ok();
        assert_eq!(numeric, listed.contains(&key.as_str()), "{key}");
    }
}

#[test]
fn out_of_range_numbers_are_refused_and_change_nothing() {
    let bad = [
        "inf",
        "-inf",
        "infinity",
        "nan",
        "NaN",
        "-1",
        "-1.5",
        "1e300",
        "-1e300",
        "18446744073709551615", // u64::MAX
        "18446744073709551616",
        "340282366920938463463374607431768211456",
        "",
        " ",
        "abc",
        "1O",
        "0x10",
        "5 ",
    ];
    for (names, min, max) in NUMERIC {
        let range = format!("from {min} to {max}, not ");
        for key in *names {
            for value in bad
                .iter()
                .copied()
                .map(String::from)
                .chain(just_outside(min, max))
            {
                let mut o = Options::default();
                o.set(key, max).unwrap(); // not the default: a reset would show
                let before = format!("{o:?}");
                let err = o.set(key, &value).expect_err(&format!("{key}={value:?}"));
                let Error::InvalidArgument(msg) = &err else {
                    panic!("{key}={value:?}: {err:?}");
                };
                assert!(msg.starts_with(&format!("{key} must be ")), "{msg}");
                assert!(msg.ends_with(&format!("{range}{value:?}")), "{msg}");
                assert_eq!(format!("{o:?}"), before, "{key}={value:?} changed it");
            }
        }
    }
    // The message names the key, the range and the value.
    let mut o = Options::default();
    assert_eq!(
        o.set("TIMEOUT", "inf").unwrap_err().to_string(),
        "invalid argument: TIMEOUT must be a finite number from 1.0 to 10.0, not \"inf\""
    );
    assert_eq!(
        o.set("disconnection_timeout", "18446744073709551615")
            .unwrap_err()
            .to_string(),
        "invalid argument: disconnection_timeout must be a whole number of milliseconds \
         from 0 to 86400000, not \"18446744073709551615\""
    );
    assert_eq!(o.get("TIMEOUT").unwrap(), "1.1");
    assert_eq!(o.get("disconnection_timeout").unwrap(), "3000");
    // Integers take no fraction, even a whole one.
    assert!(o.set("wait", "30.0").is_err());
    assert!(o.set("hold", "1e0").is_err());
}

#[test]
fn range_boundaries_are_accepted() {
    for (names, min, max) in NUMERIC {
        for key in *names {
            for value in [min, max] {
                let mut o = Options::default();
                o.set(key, value)
                    .unwrap_or_else(|e| panic!("{key}={value}: {e}"));
                let text = o.get(key).unwrap();
                assert_eq!(text.parse::<f64>(), value.parse::<f64>(), "{key}");
                let mut again = Options::default();
                again.set(key, &text).unwrap();
                assert_eq!(again.get(key).unwrap(), text, "{key} round trip");
            }
        }
    }
    // Strophe's spellings of the same numbers are fine too.
    let o = opts(&[
        ("TIMEOUT", "1"),
        ("SECONDARY_TIMEOUT", "1e-2"),
        ("wait", "+60"),
    ]);
    assert_eq!(o.timeout_multiplier, 1.0);
    assert_eq!(o.secondary_timeout_multiplier, 0.01);
    assert_eq!(o.wait, 60);
}

#[test]
fn every_default_reads_back_as_text_that_set_accepts() {
    // "" cannot be set back where it is no value but the absence of
    // one: a list with no entry, or every mechanism, or no protocol.
    let unset = [
        "mechanisms",
        "protocol",
        "customHeaders",
        "custom_headers",
        "header",
        "cookies",
        "cookie",
    ];
    let defaults = Options::default();
    for key in every_key() {
        let text = defaults.get(&key).unwrap();
        let mut o = Options::default();
        if unset.contains(&key.as_str()) {
            assert_eq!(text, "", "{key}");
            assert!(o.set(&key, &text).is_err(), "{key}");
        } else {
            o.set(&key, &text)
                .unwrap_or_else(|e| panic!("{key}={text:?}: {e}"));
            assert_eq!(o.get(&key).unwrap(), text, "{key}");
        }
        assert_eq!(format!("{o:?}"), format!("{defaults:?}"), "{key}={text:?}");
    }
}

#[test]
fn a_liveness_interval_is_off_or_at_least_a_second() {
    let o = opts(&[("pingInterval", "0"), ("pingTimeout", "1000")]);
    assert!(o.ping_interval.is_zero());
    assert_eq!(o.ping_timeout, Duration::from_secs(1));
    for value in ["1", "999"] {
        let mut o = Options::default();
        let err = o.set("pingInterval", value).unwrap_err().to_string();
        assert!(
            err.ends_with(&format!(
                "pingInterval must be 0 (off) or at least 1000 milliseconds, not {value:?}"
            )),
            "{err}"
        );
        assert_eq!(o.ping_interval, Duration::from_secs(60), "unchanged");
    }
    let mut o = Options::default();
    assert!(o.set("ping_interval", "1000").is_ok());
    assert!(o.set("pingTimeout", "0").is_err());
}

#[test]
fn cookie_expiry_stays_a_time_the_clock_holds() {
    // The first two panicked ("overflow when adding duration to instant").
    for spec in [
        "a=b; Max-Age=18446744073709551615",
        "a=b; Expires=18446744073709551615",
        "a=b; Max-Age=3153600001",
        "a=b; Expires=253402300800",
        "a=b; Max-Age=-1",
        "a=b; Max-Age=",
    ] {
        let mut o = Options::default();
        let err = o.set("cookies", spec).unwrap_err();
        assert!(err.to_string().contains("from 0 to "), "{spec}: {err}");
        assert!(o.cookies.is_empty(), "{spec}");
    }
    let o = opts(&[
        ("cookies", "a=b; Max-Age=3153600000"),
        ("cookies", "c=d; Expires=253402300799"),
    ]);
    assert_eq!(o.cookies.len(), 2);
    let mut again = Options::default();
    for line in o.get("cookies").unwrap().lines() {
        again.set("cookies", line).unwrap();
    }
    assert_eq!(again.get("cookies").unwrap(), o.get("cookies").unwrap());
}

#[test]
fn every_option_reads_back_as_text_that_set_accepts() {
    let keys = [
        ("mechanisms", "SCRAM-SHA-256,PLAIN"),
        ("explicitResourceBinding", "true"),
        ("protocol", "wss"),
        ("worker", "tabs"),
        ("sync", "true"),
        ("pollable", "true"),
        ("customHeaders", "X-A: 1"),
        (
            "cookies",
            "a=b; Domain=example.com; Path=/p; Expires=2000000000",
        ),
        ("keepalive", "true"),
        ("keepalive_path", "/tmp/k"),
        ("withCredentials", "true"),
        ("contentType", "text/plain"),
        ("origin", "https://example.com"),
        ("ca_file", "/tmp/ca.pem"),
        ("accept_invalid_certs", "true"),
        ("client_cert", "/tmp/me.crt"),
        ("client_key", "/tmp/me.key"),
        ("allow_plaintext", "true"),
        ("dns_server", "127.0.0.1:5353"),
        ("strip", "true"),
        ("TIMEOUT", "1.5"),
        ("SECONDARY_TIMEOUT", "0.2"),
        ("maxRetries", "9"),
        ("disconnection_timeout", "1234"),
        ("connect_timeout", "4321"),
        ("wait", "30"),
        ("hold", "2"),
        ("route", "xmpp:example.com:9999"),
        ("resource", "phone"),
        ("max_stanza_bytes", "4096"),
        ("max_depth", "10"),
        ("max_send_queue_bytes", "65536"),
        ("reconnect", "true"),
        ("reconnect_delay", "100"),
        ("reconnect_max_delay", "5000"),
        ("streamManagement", "false"),
        ("pingInterval", "2000"),
        ("pingTimeout", "1500"),
    ];
    let defaults = Options::default();
    let mut o = Options::default();
    for (k, v) in keys {
        o.set(k, v).unwrap();
        assert_eq!(o.get(k).unwrap(), v, "{k}");
        let mut again = Options::default();
        again.set(k, &o.get(k).unwrap()).unwrap();
        assert_eq!(again.get(k).unwrap(), v, "{k} round trip");
    }
    assert_eq!(defaults.get("maxRetries").unwrap(), "5");
    assert_eq!(defaults.get("disconnection_timeout").unwrap(), "3000");
    assert_eq!(defaults.get("mechanisms").unwrap(), "");
    o.set("customHeaders", "X-B: 2").unwrap();
    assert_eq!(o.get("customHeaders").unwrap(), "X-A: 1\nX-B: 2");
    assert_eq!(
        o.get("nonsense"),
        Err(Error::UnknownOption("nonsense".into()))
    );
}

#[test]
fn dns_server_is_an_ipv4_address_and_port() {
    let mut o = Options::default();
    for bad in [
        "127.0.0.1",
        "localhost:53",
        "[::1]:53",
        "127.0.0.1:0",
        "1.2.3.4:99999",
        " 1.2.3.4:53",
    ] {
        assert!(
            matches!(o.set("dns_server", bad), Err(Error::InvalidArgument(_))),
            "{bad}"
        );
    }
    o.set("dns_server", "127.0.0.1:5353").unwrap();
    assert_eq!(o.dns_server, Some("127.0.0.1:5353".parse().unwrap()));
    o.set("dns_server", "").unwrap();
    assert_eq!(o.dns_server, None);
}

#[test]
fn tcp_services_name_a_host_and_port_or_a_domain_for_srv() {
    use super::TcpTarget;
    let none = Options::default();
    let tcp = |s: &str| match select_transport(s, &none) {
        Ok(TransportKind::Tcp { target }) => target,
        other => panic!("{s}: {other:?}"),
    };
    let host = |h: &str, port, direct_tls| TcpTarget::Host {
        host: h.into(),
        port,
        direct_tls,
    };
    let srv = |d: Option<&str>, direct_tls| TcpTarget::Srv {
        domain: d.map(str::to_string),
        direct_tls,
    };
    assert_eq!(tcp("tcp://127.0.0.1:5222"), host("127.0.0.1", 5222, false));
    assert_eq!(
        tcp("TLS://Example.COM:5223/"),
        host("example.com", 5223, true)
    );
    assert_eq!(tcp("tls://[::1]:5223"), host("::1", 5223, true));
    assert_eq!(tcp("tcp://[::1]"), host("::1", 5222, false));
    assert_eq!(
        tcp("tcp://example.com"),
        srv(Some("example.com"), Some(false))
    );
    assert_eq!(
        tcp("tls://example.com"),
        srv(Some("example.com"), Some(true))
    );
    assert_eq!(tcp("example.com"), srv(Some("example.com"), None));
    assert_eq!(tcp(""), srv(None, None));
    // As service() reports them.
    assert_eq!(tcp("tls://[::1]:5223").to_string(), "tls://[::1]:5223");
    assert_eq!(tcp("tcp://example.com").to_string(), "tcp://example.com");
    assert_eq!(tcp("").to_string(), "");
    for bad in [
        "tcp://",
        "tcp://:5222",
        "tcp://h:0",
        "tcp://h:70000",
        "tcp://h:x",
        "tcp://h/path",
        "tcp://[::1",
        "tcp://[nope]:5222",
        "tcp://a..b",
        "tcp://h h",
        "example.com:5222",
        "exa mple.com",
    ] {
        assert!(
            matches!(select_transport(bad, &none), Err(Error::InvalidArgument(_))),
            "{bad}"
        );
    }
    let long = format!("tcp://{}.com", "a".repeat(64));
    assert!(select_transport(&long, &none).is_err());
    // A worker shares a WebSocket only.
    let mut w = Options::default();
    w.set("worker", "/tmp/w").unwrap();
    assert!(select_transport("tcp://h:5222", &w).is_err());
    assert!(select_transport("", &w).is_err());
}

#[test]
fn see_other_host_keeps_the_tls_mode_and_defaults_the_port() {
    use super::{tcp_redirect, TcpTarget};
    let host = |h: &str, port, direct_tls| TcpTarget::Host {
        host: h.into(),
        port,
        direct_tls,
    };
    assert_eq!(
        tcp_redirect("127.0.0.1:15222", false).unwrap(),
        host("127.0.0.1", 15222, false)
    );
    assert_eq!(
        tcp_redirect("other.example", false).unwrap(),
        host("other.example", 5222, false)
    );
    assert_eq!(
        tcp_redirect("other.example", true).unwrap(),
        host("other.example", 5223, true)
    );
    assert_eq!(
        tcp_redirect("::1", false).unwrap(),
        host("::1", 5222, false)
    );
    assert_eq!(
        tcp_redirect("[::1]:5333", true).unwrap(),
        host("::1", 5333, true)
    );
    for bad in ["", "a b", "h:0", "wss://x/", "h/p"] {
        assert!(tcp_redirect(bad, false).is_err(), "{bad}");
    }
}
