//! ANONYMOUS (RFC 4505), for JIDs without a node.

use super::{Credentials, Mechanism, SaslError};

/// ANONYMOUS without trace information.
#[derive(Debug, Default)]
pub struct Anonymous;

impl Anonymous {
    /// A fresh mechanism, for one login (the engine makes one per attempt).
    pub fn new() -> Self {
        Anonymous
    }
}

impl Mechanism for Anonymous {
    fn name(&self) -> &str {
        "ANONYMOUS"
    }

    fn priority(&self) -> i32 {
        20
    }

    fn is_client_first(&self) -> bool {
        false
    }

    fn test(&self, creds: &Credentials) -> bool {
        crate::jid::node(&creds.jid).is_none()
    }

    fn start(&mut self, _creds: &Credentials) -> Result<Option<Vec<u8>>, SaslError> {
        Ok(None)
    }

    fn challenge(&mut self, _creds: &Credentials, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        // An empty challenge asks for the (empty) trace.
        if challenge.is_empty() {
            return Ok(Vec::new());
        }
        Err(SaslError::Protocol("unexpected ANONYMOUS challenge".into()))
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
    fn only_for_nodeless_jids() {
        let m = Anonymous::new();
        assert!(m.test(&Credentials::from_jid("example.com", None, None)));
        assert!(m.test(&Credentials::from_jid("example.com/res", Some("pw"), None)));
        assert!(!m.test(&Credentials::from_jid("alice@example.com", None, None)));
    }

    #[test]
    fn sends_auth_without_content() {
        let creds = Credentials::from_jid("example.com", None, None);
        let mut m = Anonymous::new();
        assert!(!m.is_client_first());
        assert_eq!(m.start(&creds).unwrap(), None);
        assert_eq!(m.challenge(&creds, b"").unwrap(), b"");
        assert!(m.challenge(&creds, b"x").is_err());
        assert!(m.success(&creds, None).is_ok());
    }
}
