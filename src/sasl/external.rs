//! EXTERNAL (RFC 4422 App. A, XEP-0178): identity from the TLS client
//! certificate.

use super::{Credentials, Mechanism, SaslError};

/// EXTERNAL, as Strophe sends it.
#[derive(Debug, Default)]
pub struct External;

impl External {
    /// A fresh mechanism, for one login (the engine makes one per attempt).
    pub fn new() -> Self {
        External
    }
}

/// XEP-0178: no authzid when the certificate identity is the JID, which
/// the application signals by giving the bare JID as authcid.
fn response(creds: &Credentials) -> Vec<u8> {
    if creds.authcid.as_deref() == Some(creds.authzid.as_str()) {
        Vec::new()
    } else {
        creds.authzid.clone().into_bytes()
    }
}

impl Mechanism for External {
    fn name(&self) -> &str {
        "EXTERNAL"
    }

    fn priority(&self) -> i32 {
        10
    }

    fn is_client_first(&self) -> bool {
        true
    }

    fn test(&self, _creds: &Credentials) -> bool {
        true
    }

    fn start(&mut self, creds: &Credentials) -> Result<Option<Vec<u8>>, SaslError> {
        Ok(Some(response(creds)))
    }

    fn challenge(&mut self, creds: &Credentials, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        // An empty challenge asks for the initial response again.
        if challenge.is_empty() {
            return Ok(response(creds));
        }
        Err(SaslError::Protocol("unexpected EXTERNAL challenge".into()))
    }

    fn success(
        &mut self,
        _creds: &Credentials,
        _additional: Option<&[u8]>,
    ) -> Result<(), SaslError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_when_authcid_is_the_authzid() {
        let creds = Credentials::from_jid("alice@example.com/res", None, Some("alice@example.com"));
        let mut m = External::new();
        assert!(m.test(&creds));
        assert_eq!(m.start(&creds).unwrap(), Some(Vec::new()));
    }

    #[test]
    fn authzid_otherwise() {
        let creds = Credentials::from_jid("alice@example.com/res", None, None);
        let mut m = External::new();
        assert_eq!(m.start(&creds).unwrap().unwrap(), b"alice@example.com");
        assert_eq!(m.challenge(&creds, b"").unwrap(), b"alice@example.com");
        assert!(m.challenge(&creds, b"\xff").is_err());
        assert!(m.success(&creds, None).is_ok());
    }

    #[test]
    fn always_available() {
        assert!(External::new().test(&Credentials::default()));
    }
}
