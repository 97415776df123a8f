//! SCRAM-SHA-1/256/384/512 (RFC 5802, RFC 7677) without channel binding.

use std::fmt;

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use pbkdf2::pbkdf2_hmac;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::{
    constant_time_eq, decode, encode, escape_saslname, random, Credentials, Mechanism, SaslError,
    REDACTED,
};

/// RFC 5802 §5.1 / RFC 7677 §4: fewer iterations are not safe.
pub(crate) const MIN_ITERATIONS: u32 = 4096;

/// Above this a hostile server could keep the client busy for hours.
pub(crate) const MAX_ITERATIONS: u32 = 10_000_000;

/// Nonce bytes before base64: 18 bytes give 24 characters, no padding.
const NONCE_BYTES: usize = 18;

/// `c=` for the gs2 header `n,,` (no channel binding, no authzid).
const GS2_HEADER: &str = "n,,";
const GS2_HEADER_B64: &str = "biws";

/// The digest a SCRAM variant runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScramHash {
    /// SCRAM-SHA-1 (RFC 5802).
    Sha1,
    /// SCRAM-SHA-256 (RFC 7677).
    Sha256,
    /// SCRAM-SHA-384.
    Sha384,
    /// SCRAM-SHA-512.
    Sha512,
}

impl ScramHash {
    /// The registered SASL mechanism name.
    pub fn mechanism_name(self) -> &'static str {
        match self {
            ScramHash::Sha1 => "SCRAM-SHA-1",
            ScramHash::Sha256 => "SCRAM-SHA-256",
            ScramHash::Sha384 => "SCRAM-SHA-384",
            ScramHash::Sha512 => "SCRAM-SHA-512",
        }
    }

    fn priority(self) -> i32 {
        match self {
            ScramHash::Sha1 => 60,
            ScramHash::Sha256 => 70,
            ScramHash::Sha384 => 71,
            ScramHash::Sha512 => 72,
        }
    }

    /// Digest size in bytes (length of keys and signatures).
    pub fn output_len(self) -> usize {
        match self {
            ScramHash::Sha1 => 20,
            ScramHash::Sha256 => 32,
            ScramHash::Sha384 => 48,
            ScramHash::Sha512 => 64,
        }
    }

    /// `H(data)`.
    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
            ScramHash::Sha384 => Sha384::digest(data).to_vec(),
            ScramHash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// `HMAC(key, data)`.
    pub fn hmac(self, key: &[u8], data: &[u8]) -> Result<Vec<u8>, SaslError> {
        match self {
            ScramHash::Sha1 => mac::<Hmac<Sha1>>(key, data),
            ScramHash::Sha256 => mac::<Hmac<Sha256>>(key, data),
            ScramHash::Sha384 => mac::<Hmac<Sha384>>(key, data),
            ScramHash::Sha512 => mac::<Hmac<Sha512>>(key, data),
        }
    }

    /// `Hi(password, salt, i)`: PBKDF2 with this digest's HMAC.
    pub fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut out = vec![0u8; self.output_len()];
        match self {
            ScramHash::Sha1 => pbkdf2_hmac::<Sha1>(password, salt, iterations, &mut out),
            ScramHash::Sha256 => pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out),
            ScramHash::Sha384 => pbkdf2_hmac::<Sha384>(password, salt, iterations, &mut out),
            ScramHash::Sha512 => pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out),
        }
        out
    }
}

fn mac<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Result<Vec<u8>, SaslError> {
    // HMAC takes keys of any length, so this cannot fail in practice.
    let mut m = <M as KeyInit>::new_from_slice(key)
        .map_err(|_| SaslError::Other("HMAC key rejected".into()))?;
    m.update(data);
    Ok(m.finalize().into_bytes().to_vec())
}

/// What SCRAM derives from the password: cache it to log in again without
/// the password (as long as the server keeps salt and iteration count).
#[derive(Clone, PartialEq, Eq)]
pub struct ScramKeys {
    /// Mechanism name, e.g. `SCRAM-SHA-256`.
    pub name: String,
    /// The salt the server gave, which the keys are valid for.
    pub salt: Vec<u8>,
    /// The PBKDF2 iteration count the server gave.
    pub iterations: u32,
    /// ClientKey (RFC 5802 §3): proves the password without sending it.
    pub client_key: Vec<u8>,
    /// ServerKey: checks the server's signature, so a fake server fails.
    pub server_key: Vec<u8>,
}

impl ScramKeys {
    /// Runs PBKDF2 on the password and derives both keys.
    pub fn derive(
        hash: ScramHash,
        password: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Result<Self, SaslError> {
        let salted = hash.salted_password(password.as_bytes(), salt, iterations);
        Ok(ScramKeys {
            name: hash.mechanism_name().to_string(),
            salt: salt.to_vec(),
            iterations,
            client_key: hash.hmac(&salted, b"Client Key")?,
            server_key: hash.hmac(&salted, b"Server Key")?,
        })
    }

    /// Whether these keys answer this server's salt and iteration count.
    fn fits(&self, hash: ScramHash, salt: &[u8], iterations: u32) -> bool {
        self.name.eq_ignore_ascii_case(hash.mechanism_name())
            && self.salt == salt
            && self.iterations == iterations
            && self.client_key.len() == hash.output_len()
            && self.server_key.len() == hash.output_len()
    }
}

// The keys are password equivalents: never print them.
impl fmt::Debug for ScramKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramKeys")
            .field("name", &self.name)
            .field("salt", &encode(&self.salt))
            .field("iterations", &self.iterations)
            .field("client_key", &REDACTED)
            .field("server_key", &REDACTED)
            .finish()
    }
}

enum State {
    Initial,
    SentClientFirst {
        nonce: String,
        client_first_bare: String,
    },
    SentClientFinal {
        server_signature: Vec<u8>,
    },
    /// Server-final came as a challenge; `<success/>` is still due.
    Verified {
        server_signature: Vec<u8>,
    },
    Done,
    Failed,
}

/// A SCRAM client for one login attempt.
pub struct Scram {
    hash: ScramHash,
    fixed_nonce: Option<String>,
    state: State,
    keys: Option<ScramKeys>,
}

impl Scram {
    /// A SCRAM client on `hash`, for one login.
    pub fn new(hash: ScramHash) -> Self {
        Scram {
            hash,
            fixed_nonce: None,
            state: State::Initial,
            keys: None,
        }
    }

    /// Uses `nonce` instead of a random one (test vectors).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn with_nonce(hash: ScramHash, nonce: &str) -> Self {
        Scram {
            fixed_nonce: Some(nonce.to_string()),
            ..Scram::new(hash)
        }
    }

    fn new_nonce(&self) -> Result<String, SaslError> {
        if let Some(nonce) = &self.fixed_nonce {
            return Ok(nonce.clone());
        }
        let bytes = random::bytes(NONCE_BYTES)
            .map_err(|e| SaslError::Other(format!("no OS randomness: {e}")))?;
        Ok(encode(&bytes))
    }

    fn has_usable_secret(&self, creds: &Credentials) -> bool {
        let name = self.hash.mechanism_name();
        creds.password.is_some()
            || creds
                .scram_keys
                .as_ref()
                .is_some_and(|k| k.name.eq_ignore_ascii_case(name))
    }

    fn client_first(&mut self, creds: &Credentials) -> Result<Vec<u8>, SaslError> {
        let authcid = creds.authcid.as_deref().filter(|a| !a.is_empty());
        let authcid = authcid.ok_or(SaslError::MissingCredentials)?;
        if !self.has_usable_secret(creds) {
            return Err(SaslError::MissingCredentials);
        }
        let nonce = self.new_nonce()?;
        let client_first_bare = format!("n={},r={nonce}", escape_saslname(authcid));
        let message = format!("{GS2_HEADER}{client_first_bare}");
        self.state = State::SentClientFirst {
            nonce,
            client_first_bare,
        };
        Ok(message.into_bytes())
    }

    fn client_final(
        &mut self,
        creds: &Credentials,
        challenge: &[u8],
    ) -> Result<Vec<u8>, SaslError> {
        let State::SentClientFirst {
            nonce,
            client_first_bare,
        } = &self.state
        else {
            return Err(unexpected("challenge"));
        };
        let server_first = utf8(challenge, "server-first-message")?;
        let first = ServerFirst::parse(server_first)?;
        first.check(nonce)?;
        let keys = self.keys_for(creds, &first)?;
        let without_proof = format!("c={GS2_HEADER_B64},r={}", first.nonce);
        let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
        let proof = client_proof(self.hash, &keys, auth_message.as_bytes())?;
        let server_signature = self.hash.hmac(&keys.server_key, auth_message.as_bytes())?;
        self.state = State::SentClientFinal { server_signature };
        self.keys = Some(keys);
        Ok(format!("{without_proof},p={}", encode(&proof)).into_bytes())
    }

    /// Cached keys when they fit this server, else derived from the password.
    fn keys_for(&self, creds: &Credentials, first: &ServerFirst) -> Result<ScramKeys, SaslError> {
        let cached = creds.scram_keys.as_ref();
        if let Some(keys) = cached.filter(|k| k.fits(self.hash, &first.salt, first.iterations)) {
            return Ok(keys.clone());
        }
        let password = creds
            .password
            .as_deref()
            .ok_or(SaslError::MissingCredentials)?;
        ScramKeys::derive(self.hash, password, &first.salt, first.iterations)
    }

    /// Server-final sent as a `<challenge>`: check it, answer empty.
    fn early_server_final(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        let State::SentClientFinal { server_signature } = &self.state else {
            return Err(unexpected("challenge"));
        };
        verify_server_final(challenge, server_signature)?;
        let server_signature = server_signature.clone();
        self.state = State::Verified { server_signature };
        Ok(Vec::new())
    }

    fn finish(&mut self, additional: Option<&[u8]>) -> Result<(), SaslError> {
        let additional = additional.filter(|a| !a.is_empty());
        match (&self.state, additional) {
            (State::SentClientFinal { server_signature }, Some(data)) => {
                verify_server_final(data, server_signature)?
            }
            (State::SentClientFinal { .. }, None) => {
                return Err(SaslError::Protocol(
                    "success without the server signature (v=)".into(),
                ));
            }
            // Some servers repeat server-final in <success/>: it must still match.
            (State::Verified { server_signature }, Some(data)) => {
                verify_server_final(data, server_signature)?
            }
            (State::Verified { .. }, None) => {}
            _ => return Err(unexpected("success")),
        }
        self.state = State::Done;
        Ok(())
    }

    /// Any error ends the exchange: later calls fail too.
    fn guard<T>(&mut self, result: Result<T, SaslError>) -> Result<T, SaslError> {
        if result.is_err() {
            self.state = State::Failed;
            self.keys = None;
        }
        result
    }
}

impl Mechanism for Scram {
    fn name(&self) -> &str {
        self.hash.mechanism_name()
    }

    fn priority(&self) -> i32 {
        self.hash.priority()
    }

    fn is_client_first(&self) -> bool {
        true
    }

    fn test(&self, creds: &Credentials) -> bool {
        creds.authcid.as_deref().is_some_and(|a| !a.is_empty()) && self.has_usable_secret(creds)
    }

    fn start(&mut self, creds: &Credentials) -> Result<Option<Vec<u8>>, SaslError> {
        // A new attempt starts from scratch.
        self.state = State::Initial;
        self.keys = None;
        let result = self.client_first(creds).map(Some);
        self.guard(result)
    }

    fn challenge(&mut self, creds: &Credentials, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        let result = match self.state {
            State::SentClientFinal { .. } => self.early_server_final(challenge),
            _ => self.client_final(creds, challenge),
        };
        self.guard(result)
    }

    fn success(
        &mut self,
        _creds: &Credentials,
        additional: Option<&[u8]>,
    ) -> Result<(), SaslError> {
        let result = self.finish(additional);
        self.guard(result)
    }

    fn derived_keys(&self) -> Option<ScramKeys> {
        match self.state {
            State::Done => self.keys.clone(),
            _ => None,
        }
    }
}

/// The parts of server-first-message (RFC 5802 §7) the client needs.
struct ServerFirst {
    nonce: String,
    salt: Vec<u8>,
    iterations: u32,
}

impl ServerFirst {
    /// `r=...,s=...,i=...[,ext...]`, in this order; extensions are ignored.
    fn parse(text: &str) -> Result<Self, SaslError> {
        let mut attrs = text.split(',');
        let first = attrs.next().unwrap_or_default();
        if first.starts_with("m=") {
            return Err(SaslError::Protocol(
                "server requires an unsupported extension (m=)".into(),
            ));
        }
        let nonce = attribute(Some(first), 'r')?;
        let salt = attribute(attrs.next(), 's')?;
        let iterations = attribute(attrs.next(), 'i')?;
        Ok(ServerFirst {
            nonce: parse_nonce(nonce)?,
            salt: parse_salt(salt)?,
            iterations: parse_iterations(iterations)?,
        })
    }

    fn check(&self, client_nonce: &str) -> Result<(), SaslError> {
        // The server must add a part of its own.
        if !self.nonce.starts_with(client_nonce) || self.nonce.len() == client_nonce.len() {
            return Err(SaslError::NonceMismatch);
        }
        if self.iterations < MIN_ITERATIONS {
            return Err(SaslError::IterationCountTooLow(self.iterations));
        }
        if self.iterations > MAX_ITERATIONS {
            let msg = format!("iteration count {} is unreasonably high", self.iterations);
            return Err(SaslError::Protocol(msg));
        }
        Ok(())
    }
}

/// The value of `name=value`, which must be present, named and non-empty.
fn attribute(part: Option<&str>, name: char) -> Result<&str, SaslError> {
    let missing = || SaslError::Protocol(format!("server-first-message lacks {name}="));
    let value = part
        .and_then(|p| p.strip_prefix(name))
        .and_then(|p| p.strip_prefix('='));
    value.filter(|v| !v.is_empty()).ok_or_else(missing)
}

/// RFC 5802 `printable`: visible ASCII except ','.
fn parse_nonce(value: &str) -> Result<String, SaslError> {
    if value
        .bytes()
        .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
    {
        Ok(value.to_string())
    } else {
        Err(SaslError::Protocol(
            "invalid characters in the server nonce".into(),
        ))
    }
}

fn parse_salt(value: &str) -> Result<Vec<u8>, SaslError> {
    let salt = decode(value).map_err(|_| SaslError::Protocol("invalid salt".into()))?;
    if salt.is_empty() {
        return Err(SaslError::Protocol("empty salt".into()));
    }
    Ok(salt)
}

fn parse_iterations(value: &str) -> Result<u32, SaslError> {
    // u32::from_str would also take a leading '+'.
    let digits_only = value.bytes().all(|b| b.is_ascii_digit());
    let parsed = value.parse::<u32>().ok().filter(|_| digits_only);
    parsed.ok_or_else(|| SaslError::Protocol("invalid iteration count".into()))
}

/// `ClientKey XOR HMAC(H(ClientKey), AuthMessage)`.
fn client_proof(
    hash: ScramHash,
    keys: &ScramKeys,
    auth_message: &[u8],
) -> Result<Vec<u8>, SaslError> {
    let stored_key = hash.hash(&keys.client_key);
    let signature = hash.hmac(&stored_key, auth_message)?;
    Ok(keys
        .client_key
        .iter()
        .zip(&signature)
        .map(|(k, s)| k ^ s)
        .collect())
}

/// Checks `v=` of server-final-message (RFC 5802 §7); `e=` is an error.
fn verify_server_final(data: &[u8], expected: &[u8]) -> Result<(), SaslError> {
    let text = utf8(data, "server-final-message")?;
    let first = text.split(',').next().unwrap_or_default();
    if let Some(error) = first.strip_prefix("e=") {
        return Err(SaslError::Protocol(format!(
            "server error: {}",
            printable(error)
        )));
    }
    let signature = first
        .strip_prefix("v=")
        .ok_or_else(|| SaslError::Protocol("server-final-message lacks v=".into()))?;
    let signature = decode(signature).map_err(|_| SaslError::ServerSignatureMismatch)?;
    if constant_time_eq(&signature, expected) {
        Ok(())
    } else {
        Err(SaslError::ServerSignatureMismatch)
    }
}

fn utf8<'a>(data: &'a [u8], what: &str) -> Result<&'a str, SaslError> {
    std::str::from_utf8(data).map_err(|_| SaslError::Protocol(format!("{what} is not UTF-8")))
}

/// Server text fit for a status message: short, no control characters.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(100).collect()
}

fn unexpected(what: &str) -> SaslError {
    SaslError::Protocol(format!("unexpected {what} in the SCRAM exchange"))
}
