//! Security review in code (issue #8): a password never shows in a
//! status, condition or error; certificates *and host names* are verified
//! unless the application turns that off by its explicit name.
//! (SCRAM nonces from the OS: src/sasl/random.rs and scram_tests.rs; the
//! keepalive file's 0600/0700 modes: src/transport/keepalive.rs.)

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use common::{recorder, Server};
use epode::{Connection, Options, Status};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

const SECRET: &str = "Wr0ng-S3cret-Pa55";

#[test]
fn a_password_never_shows_in_statuses_conditions_or_errors() {
    // Every way it could travel: as given, in PLAIN's base64, in base64 alone.
    let forms = [
        SECRET.to_string(),
        B64.encode(format!("\0alice\0{SECRET}")),
        B64.encode(format!("alice@localhost\0alice\0{SECRET}")),
        B64.encode(SECRET),
    ];
    for which in ["prosody", "ejabberd"] {
        let server = Server::get(which);
        for url in [server.ws(), server.bosh()] {
            for mechanism in ["PLAIN", "SCRAM-SHA-1"] {
                let mut o = Options::default();
                o.set("mechanisms", mechanism).unwrap();
                let conn = Connection::new(&url, o).unwrap();
                let (mut rec, cb) = recorder();
                conn.connect(&server.jid("alice"), Some(SECRET), cb)
                    .unwrap();
                rec.wait_for(Status::Disconnected, 20);
                assert!(
                    rec.statuses().contains(&Status::AuthFail),
                    "{which} {url} {mechanism}: {:?}",
                    rec.seen
                );
                // What an application would log: statuses with their
                // conditions, and the error of a call that fails now.
                let refused = conn.send_raw("<presence/>").unwrap_err();
                let shown = format!("{:?} {refused} {refused:?}", rec.seen);
                for form in &forms {
                    assert!(!shown.contains(form.as_str()), "{form} in {shown}");
                }
            }
        }
    }
}

/// A CA and a server certificate for `names` (subjectAltName entries such
/// as "DNS:wrong.example"), made with the openssl command in `dir`.
fn make_certificate(dir: &Path, names: &str) -> (PathBuf, Vec<u8>, Vec<u8>) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("the openssl command (the server scripts install it)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=epode test CA",
        ],
    ]
    .concat());
    run(&[
        &["req"][..],
        &ec,
        &[
            "-keyout",
            "srv.key",
            "-out",
            "srv.csr",
            "-subj",
            "/CN=wrong.example",
        ],
    ]
    .concat());
    std::fs::write(dir.join("ext.cnf"), format!("subjectAltName={names}\n")).unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "srv.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "srv.crt",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    (dir.join("ca.crt"), read("srv.crt"), read("srv.key"))
}

/// Accepts one TLS client on 127.0.0.1 with the given certificate; the
/// thread returns whether the client completed the TLS handshake.
fn tls_peer(cert: &[u8], key: &[u8]) -> (u16, std::thread::JoinHandle<bool>) {
    let identity = native_tls::Identity::from_pkcs8(cert, key).expect("a PKCS#8 identity");
    let acceptor = native_tls::TlsAcceptor::new(identity).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        acceptor.accept(tcp).is_ok()
    });
    (port, thread)
}

/// Connects to the TLS peer over `scheme` with the CA trusted, and
/// `accept_invalid_certs` as given; returns (statuses, handshake done).
fn against_tls_peer(scheme: &str, names: &str, accept_invalid: bool) -> (Vec<Status>, bool) {
    let dir = std::env::temp_dir().join(format!(
        "epode-tls-{}-{scheme}-{accept_invalid}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca, cert, key) = make_certificate(&dir, names);
    let (port, peer) = tls_peer(&cert, &key);
    let mut o = Options::default();
    o.set("ca_file", ca.to_str().unwrap()).unwrap();
    o.set("connect_timeout", "3000").unwrap();
    o.set("wait", "1").unwrap();
    if accept_invalid {
        o.set("accept_invalid_certs", "true").unwrap();
    }
    let path = if scheme == "wss" { "ws" } else { "http-bind" };
    let conn = Connection::new(&format!("{scheme}://127.0.0.1:{port}/{path}"), o).unwrap();
    let (mut rec, cb) = recorder();
    conn.connect("alice@localhost", Some("pw"), cb).unwrap();
    rec.wait_for(Status::Disconnected, 20);
    let handshake = peer.join().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    (rec.statuses(), handshake)
}

#[test]
fn a_certificate_for_another_host_name_is_refused_over_wss_and_https() {
    for scheme in ["wss", "https"] {
        // Signed by a trusted CA, but for wrong.example, not 127.0.0.1.
        let (statuses, handshake) = against_tls_peer(scheme, "DNS:wrong.example", false);
        assert!(
            !handshake,
            "{scheme}: TLS with a certificate for another name"
        );
        assert!(
            statuses.contains(&Status::ConnFail),
            "{scheme}: {statuses:?}"
        );
        // The same peer, the same CA, with the right name: TLS completes
        // (so the refusal above was the name, nothing else).
        let (_, handshake) = against_tls_peer(scheme, "IP:127.0.0.1", false);
        assert!(handshake, "{scheme}: TLS failed with the right name");
        // And only the option named for it turns the check off.
        let (_, handshake) = against_tls_peer(scheme, "DNS:wrong.example", true);
        assert!(handshake, "{scheme}: accept_invalid_certs did not apply");
    }
}
