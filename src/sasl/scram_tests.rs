//! SCRAM against the RFC vectors and against a small test server.

use super::scram::MAX_ITERATIONS;
use super::*;

fn creds(user: &str, password: Option<&str>) -> Credentials {
    Credentials::from_jid(&format!("{user}@example.com/res"), password, None)
}

/// Runs start + first challenge with a fixed client nonce.
fn client_final(
    hash: ScramHash,
    nonce: &str,
    c: &Credentials,
    server_first: &str,
) -> (Scram, String) {
    let mut m = Scram::with_nonce(hash, nonce);
    m.start(c).unwrap();
    let out = m.challenge(c, server_first.as_bytes()).unwrap();
    (m, String::from_utf8(out).unwrap())
}

#[test]
fn rfc5802_sha1_vector() {
    let c = creds("user", Some("pencil"));
    let mut m = Scram::with_nonce(ScramHash::Sha1, "fyko+d2lbbFgONRv9qkxdawL");
    let first = m.start(&c).unwrap().unwrap();
    assert_eq!(first, b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
    let server_first = b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
    let final_msg = m.challenge(&c, server_first).unwrap();
    assert_eq!(
        String::from_utf8(final_msg).unwrap(),
        "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
    );
    assert_eq!(m.derived_keys(), None);
    m.success(&c, Some(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="))
        .unwrap();
    let keys = m.derived_keys().unwrap();
    assert_eq!((keys.name.as_str(), keys.iterations), ("SCRAM-SHA-1", 4096));
}

#[test]
fn rfc7677_sha256_vector() {
    let c = creds("user", Some("pencil"));
    let server_first =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    let (mut m, final_msg) =
        client_final(ScramHash::Sha256, "rOprNGfwEbeRWgbNEkqO", &c, server_first);
    assert_eq!(
        final_msg,
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    );
    m.success(&c, Some(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))
        .unwrap();
}

#[test]
fn rfc6070_pbkdf2_sha1() {
    let vectors: [(u32, &str); 3] = [
        (1, "0c60c80f961f0e71f3a9b524af6012062fe037a6"),
        (2, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"),
        (4096, "4b007901b765489abead49d926f721d065a429c1"),
    ];
    for (c, want) in vectors {
        let got = ScramHash::Sha1.salted_password(b"password", b"salt", c);
        assert_eq!(hex(&got), want, "c={c}");
    }
}

#[test]
fn random_nonce_shape() {
    let c = creds("user", Some("pencil"));
    let mut m = Scram::new(ScramHash::Sha256);
    let first = String::from_utf8(m.start(&c).unwrap().unwrap()).unwrap();
    let nonce = first.strip_prefix("n,,n=user,r=").unwrap();
    assert_eq!(nonce.len(), 24);
    assert!(!nonce.contains(',') && !nonce.contains('='));
    let mut other = Scram::new(ScramHash::Sha256);
    assert_ne!(first.into_bytes(), other.start(&c).unwrap().unwrap());
}

#[test]
fn username_is_escaped() {
    assert_eq!(escape_saslname("a,b=c"), "a=2Cb=3Dc");
    let c = Credentials::from_jid("x@example.com", Some("pw"), Some("a,b=c"));
    let mut m = Scram::with_nonce(ScramHash::Sha1, "abc");
    assert_eq!(m.start(&c).unwrap().unwrap(), b"n,,n=a=2Cb=3Dc,r=abc");
}

/// The server side of RFC 5802, enough to check the client both ways.
struct TestServer {
    hash: ScramHash,
    keys: ScramKeys,
    nonce: String,
    client_first_bare: String,
    server_first: String,
}

impl TestServer {
    fn new(hash: ScramHash, password: &str, iterations: u32) -> Self {
        let salt = random::bytes(16).unwrap();
        TestServer {
            hash,
            keys: ScramKeys::derive(hash, password, &salt, iterations).unwrap(),
            nonce: String::new(),
            client_first_bare: String::new(),
            server_first: String::new(),
        }
    }

    fn first(&mut self, client_first: &[u8]) -> Vec<u8> {
        let text = std::str::from_utf8(client_first).unwrap();
        let bare = text.strip_prefix("n,,").expect("gs2 header");
        let client_nonce = bare.split_once(",r=").unwrap().1;
        self.nonce = format!("{client_nonce}%server)nonce$");
        self.client_first_bare = bare.to_string();
        let salt = encode(&self.keys.salt);
        self.server_first = format!("r={},s={salt},i={}", self.nonce, self.keys.iterations);
        self.server_first.clone().into_bytes()
    }

    /// Checks the proof, returns server-final (`v=`).
    fn last(&self, client_final: &[u8]) -> Result<Vec<u8>, &'static str> {
        let text = std::str::from_utf8(client_final).unwrap();
        let (without_proof, proof) = text.rsplit_once(",p=").ok_or("no proof")?;
        if without_proof != format!("c=biws,r={}", self.nonce) {
            return Err("bad channel binding or nonce");
        }
        let auth = format!(
            "{},{},{without_proof}",
            self.client_first_bare, self.server_first
        );
        let stored_key = self.hash.hash(&self.keys.client_key);
        let signature = self.hash.hmac(&stored_key, auth.as_bytes()).unwrap();
        let proof = decode(proof).unwrap();
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
        if self.hash.hash(&client_key) != stored_key {
            return Err("invalid-proof");
        }
        let server_signature = self
            .hash
            .hmac(&self.keys.server_key, auth.as_bytes())
            .unwrap();
        Ok(format!("v={}", encode(&server_signature)).into_bytes())
    }
}

const ALL: [ScramHash; 4] = [
    ScramHash::Sha1,
    ScramHash::Sha256,
    ScramHash::Sha384,
    ScramHash::Sha512,
];

/// Client and server up to server-final; `None` when the server refuses.
fn exchange(
    hash: ScramHash,
    client_pw: &str,
    server_pw: &str,
) -> (Scram, Credentials, Option<Vec<u8>>) {
    let c = creds("user", Some(client_pw));
    let mut server = TestServer::new(hash, server_pw, 4096);
    let mut m = Scram::new(hash);
    let first = m.start(&c).unwrap().unwrap();
    let last = m.challenge(&c, &server.first(&first)).unwrap();
    let verdict = server.last(&last).ok();
    (m, c, verdict)
}

#[test]
fn full_exchange_every_hash() {
    for hash in ALL {
        let (mut m, c, v) = exchange(hash, "pencil", "pencil");
        m.success(&c, Some(&v.unwrap())).unwrap();
        let keys = m.derived_keys().unwrap();
        assert_eq!(keys.name, hash.mechanism_name());
        assert_eq!(keys.client_key.len(), hash.output_len());
    }
}

#[test]
fn server_rejects_wrong_password_every_hash() {
    for hash in ALL {
        let (_, _, v) = exchange(hash, "pencil", "crayon");
        assert_eq!(v, None, "{hash:?}");
    }
}

#[test]
fn server_final_as_challenge_every_hash() {
    for hash in ALL {
        let (mut m, c, v) = exchange(hash, "pencil", "pencil");
        assert_eq!(m.challenge(&c, &v.unwrap()).unwrap(), b"");
        assert_eq!(m.derived_keys(), None);
        m.success(&c, None).unwrap();
        assert!(m.derived_keys().is_some());
    }
}

#[test]
fn server_final_in_both_places() {
    let (mut m, c, v) = exchange(ScramHash::Sha256, "pencil", "pencil");
    let v = v.unwrap();
    m.challenge(&c, &v).unwrap();
    m.success(&c, Some(&v)).unwrap();
}

#[test]
fn tampered_signature_every_hash() {
    for hash in ALL {
        let (mut m, c, v) = exchange(hash, "pencil", "pencil");
        let mut v = v.unwrap();
        if let Some(byte) = v.get_mut(2) {
            *byte = if *byte == b'A' { b'B' } else { b'A' };
        }
        assert_eq!(
            m.success(&c, Some(&v)),
            Err(SaslError::ServerSignatureMismatch)
        );
        assert_eq!(m.derived_keys(), None);
        // The exchange is over.
        assert!(m.success(&c, None).is_err());
    }
}

#[test]
fn impostor_server_signature_in_challenge() {
    let (mut m, c, _) = exchange(ScramHash::Sha512, "pencil", "pencil");
    let fake = format!("v={}", encode(&[7u8; 64]));
    assert_eq!(
        m.challenge(&c, fake.as_bytes()),
        Err(SaslError::ServerSignatureMismatch)
    );
    assert!(m.success(&c, None).is_err());
}

#[test]
fn success_without_v_is_an_error() {
    for additional in [
        None,
        Some(&b""[..]),
        Some(&b"x=1"[..]),
        Some(&b"v="[..]),
        Some(&b"v=!!"[..]),
    ] {
        let (mut m, c, _) = exchange(ScramHash::Sha1, "pencil", "pencil");
        assert!(m.success(&c, additional).is_err(), "{additional:?}");
        assert_eq!(m.derived_keys(), None);
    }
}

#[test]
fn server_error_attribute() {
    let (mut m, c, _) = exchange(ScramHash::Sha384, "pencil", "pencil");
    let err = m.success(&c, Some(b"e=invalid-proof")).unwrap_err();
    assert_eq!(
        err,
        SaslError::Protocol("server error: invalid-proof".into())
    );
    let (mut m, c, _) = exchange(ScramHash::Sha384, "pencil", "pencil");
    assert!(matches!(
        m.challenge(&c, b"e=other-error"),
        Err(SaslError::Protocol(_))
    ));
}

/// Starts a SHA-1 exchange with nonce `abc` and feeds `server_first`.
fn first_reply(server_first: &[u8]) -> Result<Vec<u8>, SaslError> {
    let c = creds("user", Some("pencil"));
    let mut m = Scram::with_nonce(ScramHash::Sha1, "abc");
    m.start(&c).unwrap();
    m.challenge(&c, server_first)
}

#[test]
fn low_iteration_count() {
    let got = first_reply(b"r=abcdef,s=QSXCR+Q6sek8bf92,i=1000");
    assert_eq!(got, Err(SaslError::IterationCountTooLow(1000)));
    assert_eq!(
        first_reply(b"r=abcdef,s=c2FsdA==,i=0"),
        Err(SaslError::IterationCountTooLow(0))
    );
}

#[test]
fn huge_iteration_count() {
    let text = format!("r=abcdef,s=c2FsdA==,i={}", MAX_ITERATIONS + 1);
    assert!(matches!(
        first_reply(text.as_bytes()),
        Err(SaslError::Protocol(_))
    ));
    let text = format!("r=abcdef,s=c2FsdA==,i={}", u32::MAX);
    assert!(matches!(
        first_reply(text.as_bytes()),
        Err(SaslError::Protocol(_))
    ));
}

#[test]
fn nonce_must_extend_ours() {
    for bad in [
        "r=xyzdef,s=c2FsdA==,i=4096",
        "r=abc,s=c2FsdA==,i=4096",
        "r=ab,s=c2FsdA==,i=4096",
    ] {
        assert_eq!(
            first_reply(bad.as_bytes()),
            Err(SaslError::NonceMismatch),
            "{bad}"
        );
    }
}

#[test]
fn mandatory_extension_refused() {
    let got = first_reply(b"m=ext,r=abcdef,s=c2FsdA==,i=4096");
    assert!(matches!(got, Err(SaslError::Protocol(_))));
}

#[test]
fn extensions_after_iterations_ignored() {
    assert!(first_reply(b"r=abcdef,s=c2FsdA==,i=4096,x=ext,y").is_ok());
}

#[test]
fn malformed_server_first() {
    let long = "r=abc".repeat(10_000);
    let cases: Vec<&[u8]> = vec![
        b"",
        b",,,",
        b"garbage",
        b"r=",
        b"r=abcdef",
        b"r=abcdef,s=c2FsdA==",
        b"r=abcdef,i=4096,s=c2FsdA==",
        b"s=c2FsdA==,r=abcdef,i=4096",
        b"r=abcdef,s=,i=4096",
        b"r=abcdef,s=!!!,i=4096",
        b"r=abcdef,s=c2FsdA==,i=",
        b"r=abcdef,s=c2FsdA==,i=+4096",
        b"r=abcdef,s=c2FsdA==,i=-1",
        b"r=abcdef,s=c2FsdA==,i=4096x",
        b"r=abcdef,s=c2FsdA==,i=99999999999",
        b"r=abc def,s=c2FsdA==,i=4096",
        b"r=abc\x7f,s=c2FsdA==,i=4096",
        b"r=abc\xc3\xa9,s=c2FsdA==,i=4096",
        b"\xff\xfe\xfd",
        b"r=abc\xffdef,s=c2FsdA==,i=4096",
        b"rr=abcdef,s=c2FsdA==,i=4096",
        b"R=abcdef,s=c2FsdA==,i=4096",
        long.as_bytes(),
    ];
    for case in cases {
        assert!(
            first_reply(case).is_err(),
            "{:?}",
            String::from_utf8_lossy(case)
        );
    }
}

/// Like `exchange`, with cached keys on both sides: no PBKDF2, fast.
fn exchange_cached(keys: &ScramKeys, hash: ScramHash) -> (Scram, Credentials) {
    let mut c = creds("user", None);
    c.scram_keys = Some(keys.clone());
    let mut server = TestServer::new(hash, "", 1);
    server.keys = keys.clone();
    let mut m = Scram::new(hash);
    let first = m.start(&c).unwrap().unwrap();
    m.challenge(&c, &server.first(&first)).unwrap();
    (m, c)
}

#[test]
fn garbage_never_panics_in_any_state() {
    let inputs: [&[u8]; 8] = [
        b"",
        b"=",
        b"v",
        b"v=",
        b"e=",
        b"\0\0\0",
        b"\xff",
        b"r=,s=,i=,v=,e=",
    ];
    for hash in ALL {
        let keys = ScramKeys::derive(hash, "pencil", b"salt", 4096).unwrap();
        for input in inputs {
            let (mut m, c) = exchange_cached(&keys, hash);
            assert!(m.challenge(&c, input).is_err());
            let (mut m, c) = exchange_cached(&keys, hash);
            assert!(m.success(&c, Some(input)).is_err());
            let mut fresh = Scram::new(hash);
            assert!(fresh.challenge(&c, input).is_err());
            assert!(fresh.success(&c, Some(input)).is_err());
        }
    }
}

#[test]
fn success_before_server_first() {
    let c = creds("user", Some("pencil"));
    let mut m = Scram::with_nonce(ScramHash::Sha1, "abc");
    m.start(&c).unwrap();
    assert!(m.success(&c, None).is_err());
}

#[test]
fn cached_keys_replace_the_password() {
    let (mut m, c, v) = exchange(ScramHash::Sha256, "pencil", "pencil");
    m.success(&c, Some(&v.unwrap())).unwrap();
    let keys = m.derived_keys().unwrap();

    // Same salt and iterations: no password needed.
    let mut server = TestServer::new(ScramHash::Sha256, "unused", 4096);
    server.keys = keys.clone();
    let mut cached = creds("user", None);
    cached.scram_keys = Some(keys.clone());
    let mut m = Scram::new(ScramHash::Sha256);
    assert!(m.test(&cached));
    let first = m.start(&cached).unwrap().unwrap();
    let last = m.challenge(&cached, &server.first(&first)).unwrap();
    let v = server.last(&last).unwrap();
    m.success(&cached, Some(&v)).unwrap();
    assert_eq!(m.derived_keys(), Some(keys));
}

#[test]
fn stale_keys_fall_back_to_the_password() {
    let stale = ScramKeys::derive(ScramHash::Sha256, "old", b"old salt", 4096).unwrap();
    let mut c = creds("user", Some("pencil"));
    c.scram_keys = Some(stale.clone());
    let mut server = TestServer::new(ScramHash::Sha256, "pencil", 4096);
    let mut m = Scram::new(ScramHash::Sha256);
    let first = m.start(&c).unwrap().unwrap();
    let last = m.challenge(&c, &server.first(&first)).unwrap();
    m.success(&c, Some(&server.last(&last).unwrap())).unwrap();
    assert_ne!(m.derived_keys(), Some(stale));
}

#[test]
fn stale_keys_without_password() {
    let stale = ScramKeys::derive(ScramHash::Sha1, "old", b"old salt", 4096).unwrap();
    let mut c = creds("user", None);
    c.scram_keys = Some(stale);
    let mut server = TestServer::new(ScramHash::Sha1, "pencil", 4096);
    let mut m = Scram::new(ScramHash::Sha1);
    let first = m.start(&c).unwrap().unwrap();
    assert_eq!(
        m.challenge(&c, &server.first(&first)),
        Err(SaslError::MissingCredentials)
    );
}

#[test]
fn keys_for_another_mechanism_do_not_count() {
    let mut c = creds("user", None);
    c.scram_keys = Some(ScramKeys::derive(ScramHash::Sha1, "pw", b"salt", 4096).unwrap());
    assert!(Scram::new(ScramHash::Sha1).test(&c));
    assert!(!Scram::new(ScramHash::Sha256).test(&c));
    assert_eq!(
        Scram::new(ScramHash::Sha256).start(&c),
        Err(SaslError::MissingCredentials)
    );
}

#[test]
fn needs_authcid() {
    let c = Credentials::from_jid("example.com", Some("pw"), None);
    let mut m = Scram::new(ScramHash::Sha1);
    assert!(!m.test(&c));
    assert_eq!(m.start(&c), Err(SaslError::MissingCredentials));
    let empty = Credentials::from_jid("example.com", Some("pw"), Some(""));
    assert!(!m.test(&empty));
}

#[test]
fn restart_resets_state() {
    let c = creds("user", Some("pencil"));
    let mut m = Scram::with_nonce(ScramHash::Sha1, "fyko+d2lbbFgONRv9qkxdawL");
    m.start(&c).unwrap();
    assert!(m.challenge(&c, b"junk").is_err());
    m.start(&c).unwrap();
    let server_first = b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
    assert!(m.challenge(&c, server_first).is_ok());
}

#[test]
fn keys_debug_is_redacted() {
    let keys = ScramKeys::derive(ScramHash::Sha1, "pencil", b"salt", 4096).unwrap();
    let shown = format!("{keys:?}");
    assert!(shown.contains("<redacted>") && shown.contains("SCRAM-SHA-1"));
    assert!(!shown.contains(&encode(&keys.client_key)));
    assert!(!shown.contains(&format!("{:?}", keys.client_key)));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
