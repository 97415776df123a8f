//! SASL (RFC 4422) client mechanisms as XMPP uses them (RFC 6120 §6), with
//! Strophe.js's selection rules.

pub mod anonymous;
pub mod external;
pub mod oauth;
pub mod plain;
pub mod random;
pub mod scram;

#[cfg(test)]
mod scram_tests;

use std::cmp::Reverse;
use std::fmt;

use base64::alphabet::STANDARD as STANDARD_ALPHABET;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

pub use anonymous::Anonymous;
pub use external::External;
pub use oauth::{OAuthBearer, XOAuth2};
pub use plain::Plain;
pub use scram::{Scram, ScramHash, ScramKeys};

/// What the application gave `connect()`: Strophe's
/// `connect(jid, pass, ..., authcid)`.
#[derive(Clone, Default)]
pub struct Credentials {
    /// As given, e.g. `alice@localhost/res`, or `localhost` (anonymous).
    pub jid: String,
    /// Domain part of `jid`.
    pub domain: String,
    /// Bare JID of `jid` (Strophe's `connection.authzid`).
    pub authzid: String,
    /// Explicit authcid, else the node of the JID (`None` without a node).
    pub authcid: Option<String>,
    /// Password, or the OAuth token for OAUTHBEARER / X-OAUTH2.
    pub password: Option<String>,
    /// Cached SCRAM keys usable instead of the password.
    pub scram_keys: Option<ScramKeys>,
}

impl Credentials {
    /// Fills every field from a JID the way Strophe's `connect()` does.
    pub fn from_jid(jid: &str, password: Option<&str>, authcid: Option<&str>) -> Self {
        Credentials {
            jid: jid.to_string(),
            domain: crate::jid::domain(jid).to_string(),
            authzid: crate::jid::bare(jid).to_string(),
            authcid: authcid
                .or_else(|| crate::jid::node(jid))
                .map(str::to_string),
            password: password.map(str::to_string),
            scram_keys: None,
        }
    }
}

// Secrets end up in logs far too easily: never print them.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("jid", &self.jid)
            .field("domain", &self.domain)
            .field("authzid", &self.authzid)
            .field("authcid", &self.authcid)
            .field("password", &self.password.as_ref().map(|_| REDACTED))
            .field("scram_keys", &self.scram_keys.as_ref().map(|_| REDACTED))
            .finish()
    }
}

pub(crate) const REDACTED: &str = "<redacted>";

/// Why a SASL exchange cannot go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslError {
    /// The server sent something malformed or unexpected (or an `e=` error).
    Protocol(String),
    /// SCRAM: the server does not know our password (or is an impostor).
    ServerSignatureMismatch,
    /// SCRAM: the server nonce does not extend ours.
    NonceMismatch,
    /// SCRAM: the server asked for fewer than 4096 iterations.
    IterationCountTooLow(u32),
    /// Neither a password nor usable keys (or no authcid) for this mechanism.
    MissingCredentials,
    /// Anything else (no OS randomness, bad local input).
    Other(String),
}

impl fmt::Display for SaslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaslError::Protocol(msg) => write!(f, "SASL protocol error: {msg}"),
            SaslError::ServerSignatureMismatch => f.write_str("SCRAM server signature mismatch"),
            SaslError::NonceMismatch => {
                f.write_str("SCRAM server nonce does not extend the client nonce")
            }
            SaslError::IterationCountTooLow(n) => {
                write!(f, "SCRAM iteration count {n} is below 4096")
            }
            SaslError::MissingCredentials => f.write_str("missing SASL credentials"),
            SaslError::Other(msg) => write!(f, "SASL error: {msg}"),
        }
    }
}

impl std::error::Error for SaslError {}

/// One client-side SASL mechanism: a small state machine fed by the
/// connection with decoded server data.
pub trait Mechanism: Send {
    /// Registered name, e.g. `SCRAM-SHA-256`.
    fn name(&self) -> &str;
    /// Higher is tried first.
    fn priority(&self) -> i32;
    /// Whether `<auth>` carries an initial response.
    fn is_client_first(&self) -> bool;
    /// Strophe's `test()`: whether the credentials allow this mechanism.
    fn test(&self, creds: &Credentials) -> bool;
    /// Initial response (raw bytes): `None` sends `<auth/>` without content,
    /// `Some(empty)` sends `=`.
    fn start(&mut self, creds: &Credentials) -> Result<Option<Vec<u8>>, SaslError>;
    /// Raw decoded challenge to raw response.
    fn challenge(&mut self, creds: &Credentials, challenge: &[u8]) -> Result<Vec<u8>, SaslError>;
    /// `<success/>` with its decoded additional data, if any.
    fn success(&mut self, creds: &Credentials, additional: Option<&[u8]>) -> Result<(), SaslError>;
    /// After a SCRAM success: keys the application may cache instead of
    /// the password.
    fn derived_keys(&self) -> Option<ScramKeys> {
        None
    }
}

/// Every built-in mechanism, each with its seed priority.
pub fn default_mechanisms() -> Vec<Box<dyn Mechanism>> {
    vec![
        Box::new(Scram::new(ScramHash::Sha512)),
        Box::new(Scram::new(ScramHash::Sha384)),
        Box::new(Scram::new(ScramHash::Sha256)),
        Box::new(Scram::new(ScramHash::Sha1)),
        Box::new(Plain::new()),
        Box::new(OAuthBearer::new()),
        Box::new(XOAuth2::new()),
        Box::new(Anonymous::new()),
        Box::new(External::new()),
    ]
}

/// A fresh built-in mechanism by name, case-insensitively.
pub fn mechanism_by_name(name: &str) -> Option<Box<dyn Mechanism>> {
    default_mechanisms()
        .into_iter()
        .find(|m| m.name().eq_ignore_ascii_case(name.trim()))
}

/// Strophe's selection: the enabled mechanisms the server offers, highest
/// priority first, the first whose `test()` holds. Returns an index into
/// `enabled`. Names compare case-insensitively; equal priorities keep the
/// order of `enabled`.
pub fn select(
    offered: &[String],
    enabled: &[Box<dyn Mechanism>],
    creds: &Credentials,
) -> Option<usize> {
    let is_offered = |name: &str| offered.iter().any(|o| o.trim().eq_ignore_ascii_case(name));
    let mut candidates: Vec<(usize, &dyn Mechanism)> = enabled
        .iter()
        .enumerate()
        .map(|(i, m)| (i, m.as_ref()))
        .filter(|(_, m)| is_offered(m.name()))
        .collect();
    // Stable sort: ties keep the application's order.
    candidates.sort_by_key(|(_, m)| Reverse(m.priority()));
    candidates
        .into_iter()
        .find(|(_, m)| m.test(creds))
        .map(|(i, _)| i)
}

const ENCODE: GeneralPurpose = STANDARD;

// Servers differ on padding; accept both, but nothing outside the alphabet.
const DECODE: GeneralPurpose = GeneralPurpose::new(
    &STANDARD_ALPHABET,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// RFC 4648 base64 (standard alphabet, padded).
pub fn encode(data: &[u8]) -> String {
    ENCODE.encode(data)
}

/// RFC 4648 base64. `=` alone (RFC 6120's empty response) and the empty
/// string decode to nothing; whitespace (line breaks) is skipped.
pub fn decode(text: &str) -> Result<Vec<u8>, SaslError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() || compact == "=" {
        return Ok(Vec::new());
    }
    DECODE
        .decode(compact.as_bytes())
        .map_err(|e| SaslError::Protocol(format!("invalid base64: {e}")))
}

/// RFC 5802 / RFC 5801 `saslname`: `=` and `,` would break the message
/// syntax (Strophe sends them raw).
pub fn escape_saslname(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// `true` when both are equal, in time independent of where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(jid: &str, password: Option<&str>) -> Credentials {
        Credentials::from_jid(jid, password, None)
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn chosen(offered: &[&str], creds: &Credentials) -> Option<String> {
        let enabled = default_mechanisms();
        select(&names(offered), &enabled, creds).map(|i| enabled[i].name().to_string())
    }

    #[test]
    fn rfc4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, coded) in vectors {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(decode(coded).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn decode_edge_cases() {
        assert_eq!(decode("=").unwrap(), b"");
        assert_eq!(decode("  = \n").unwrap(), b"");
        assert_eq!(decode("Zm9v\r\nYmFy").unwrap(), b"foobar");
        assert_eq!(decode(" Zm9vYg== ").unwrap(), b"foob");
        assert_eq!(decode("Zm9vYg").unwrap(), b"foob");
        assert_eq!(decode("Zg=").unwrap(), b"f");
        assert_eq!(decode("+/8=").unwrap(), [0xfb, 0xff]);
        for bad in ["Zm9v!", "Z", "-_8=", "Zm9vYg===", "é", "Zh=="] {
            assert!(matches!(decode(bad), Err(SaslError::Protocol(_))), "{bad}");
        }
    }

    #[test]
    fn debug_redacts_secrets() {
        let mut c = creds("alice@example.com/res", Some("s3cr3t-pw"));
        c.scram_keys = Some(ScramKeys {
            name: "SCRAM-SHA-1".into(),
            salt: b"salty".to_vec(),
            iterations: 4096,
            client_key: b"ck-secret".to_vec(),
            server_key: b"sk-secret".to_vec(),
        });
        let shown = format!("{c:?} {:?}", c.scram_keys);
        assert!(!shown.contains("s3cr3t-pw"), "{shown}");
        assert!(
            !shown.contains("ck-secret") && !shown.contains("99, 107"),
            "{shown}"
        );
        assert!(shown.contains(REDACTED));
        assert!(shown.contains("alice@example.com"));
    }

    #[test]
    fn credentials_from_jid() {
        let c = creds("alice@example.com/res", Some("pw"));
        assert_eq!(c.domain, "example.com");
        assert_eq!(c.authzid, "alice@example.com");
        assert_eq!(c.authcid.as_deref(), Some("alice"));
        let anon = creds("example.com", None);
        assert_eq!(anon.authcid, None);
        let explicit = Credentials::from_jid("a@b", None, Some("admin"));
        assert_eq!(explicit.authcid.as_deref(), Some("admin"));
    }

    #[test]
    fn default_priorities() {
        let got: Vec<(String, i32)> = default_mechanisms()
            .iter()
            .map(|m| (m.name().to_string(), m.priority()))
            .collect();
        let want = [
            ("SCRAM-SHA-512", 72),
            ("SCRAM-SHA-384", 71),
            ("SCRAM-SHA-256", 70),
            ("SCRAM-SHA-1", 60),
            ("PLAIN", 50),
            ("OAUTHBEARER", 40),
            ("X-OAUTH2", 30),
            ("ANONYMOUS", 20),
            ("EXTERNAL", 10),
        ];
        let want: Vec<(String, i32)> = want.iter().map(|(n, p)| (n.to_string(), *p)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn by_name_is_case_insensitive() {
        assert_eq!(
            mechanism_by_name("scram-sha-256").unwrap().name(),
            "SCRAM-SHA-256"
        );
        assert_eq!(mechanism_by_name("x-oauth2").unwrap().name(), "X-OAUTH2");
        assert!(mechanism_by_name("DIGEST-MD5").is_none());
        assert!(mechanism_by_name("").is_none());
    }

    #[test]
    fn select_highest_priority_offered() {
        let c = creds("alice@example.com", Some("pw"));
        let ejabberd = [
            "SCRAM-SHA-1",
            "SCRAM-SHA-256",
            "SCRAM-SHA-512",
            "PLAIN",
            "X-OAUTH2",
        ];
        assert_eq!(chosen(&ejabberd, &c).as_deref(), Some("SCRAM-SHA-512"));
        let prosody = ["PLAIN", "SCRAM-SHA-1"];
        assert_eq!(chosen(&prosody, &c).as_deref(), Some("SCRAM-SHA-1"));
        assert_eq!(
            chosen(&["PLAIN", "ANONYMOUS"], &c).as_deref(),
            Some("PLAIN")
        );
    }

    #[test]
    fn select_never_picks_unoffered() {
        let c = creds("alice@example.com", Some("pw"));
        assert_eq!(chosen(&["DIGEST-MD5", "CRAM-MD5"], &c), None);
        assert_eq!(chosen(&[], &c), None);
        assert_eq!(chosen(&["X-OAUTH2"], &c).as_deref(), Some("X-OAUTH2"));
    }

    #[test]
    fn select_ignores_case_and_spaces() {
        let c = creds("alice@example.com", Some("pw"));
        assert_eq!(
            chosen(&[" scram-sha-256 ", "plain"], &c).as_deref(),
            Some("SCRAM-SHA-256")
        );
    }

    #[test]
    fn select_anonymous_for_nodeless_jid() {
        let c = creds("example.com", Some("pw"));
        let offered = ["SCRAM-SHA-256", "PLAIN", "ANONYMOUS"];
        assert_eq!(chosen(&offered, &c).as_deref(), Some("ANONYMOUS"));
        // A JID with a node never logs in anonymously.
        let c = creds("alice@example.com", None);
        assert_eq!(chosen(&["ANONYMOUS"], &c), None);
    }

    #[test]
    fn select_without_password() {
        let c = creds("alice@example.com/phone", None);
        let offered = ["SCRAM-SHA-1", "PLAIN", "OAUTHBEARER", "EXTERNAL"];
        assert_eq!(chosen(&offered, &c).as_deref(), Some("EXTERNAL"));
        assert_eq!(chosen(&["SCRAM-SHA-1", "PLAIN"], &c), None);
    }

    #[test]
    fn select_scram_with_cached_keys_only() {
        let mut c = creds("alice@example.com", None);
        c.scram_keys = Some(ScramKeys {
            name: "SCRAM-SHA-256".into(),
            salt: vec![1; 16],
            iterations: 4096,
            client_key: vec![0; 32],
            server_key: vec![0; 32],
        });
        let offered = ["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"];
        assert_eq!(chosen(&offered, &c).as_deref(), Some("SCRAM-SHA-256"));
    }

    #[test]
    fn select_restricted_and_reordered() {
        let c = creds("alice@example.com", Some("pw"));
        let mut enabled = default_mechanisms();
        enabled.retain(|m| ["PLAIN", "SCRAM-SHA-1"].contains(&m.name()));
        enabled.reverse();
        let offered = names(&["SCRAM-SHA-512", "PLAIN", "SCRAM-SHA-1"]);
        let i = select(&offered, &enabled, &c).unwrap();
        assert_eq!(enabled[i].name(), "SCRAM-SHA-1");
        assert_eq!(select(&offered, &[], &c), None);
    }

    #[test]
    fn constant_time_eq_basics() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
