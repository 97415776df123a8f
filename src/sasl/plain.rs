//! PLAIN (RFC 4616): `authzid NUL authcid NUL password`.

use super::{Credentials, Mechanism, SaslError};

/// PLAIN, as Strophe sends it.
#[derive(Debug, Default)]
pub struct Plain;

impl Plain {
    /// A fresh mechanism, for one login (the engine makes one per attempt).
    pub fn new() -> Self {
        Plain
    }
}

/// Strophe omits the authzid when it is the JID the authcid implies.
fn authzid_field(creds: &Credentials, authcid: &str) -> String {
    let implied = format!("{authcid}@{}", creds.domain);
    if creds.authzid == implied {
        String::new()
    } else {
        creds.authzid.clone()
    }
}

/// The message, refusing NULs that would shift its fields.
fn message(creds: &Credentials) -> Result<Vec<u8>, SaslError> {
    let authcid = creds
        .authcid
        .as_deref()
        .ok_or(SaslError::MissingCredentials)?;
    let password = creds
        .password
        .as_deref()
        .ok_or(SaslError::MissingCredentials)?;
    let authzid = authzid_field(creds, authcid);
    if [authzid.as_str(), authcid, password]
        .iter()
        .any(|f| f.contains('\0'))
    {
        return Err(SaslError::Other(
            "NUL character in PLAIN credentials".into(),
        ));
    }
    Ok(format!("{authzid}\0{authcid}\0{password}").into_bytes())
}

impl Mechanism for Plain {
    fn name(&self) -> &str {
        "PLAIN"
    }

    fn priority(&self) -> i32 {
        50
    }

    fn is_client_first(&self) -> bool {
        true
    }

    fn test(&self, creds: &Credentials) -> bool {
        creds.authcid.as_deref().is_some_and(|a| !a.is_empty()) && creds.password.is_some()
    }

    fn start(&mut self, creds: &Credentials) -> Result<Option<Vec<u8>>, SaslError> {
        message(creds).map(Some)
    }

    fn challenge(&mut self, creds: &Credentials, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        // RFC 4422 §5: an empty challenge asks for the initial response.
        if challenge.is_empty() {
            return message(creds);
        }
        Err(SaslError::Protocol("unexpected PLAIN challenge".into()))
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
    fn without_authzid() {
        let creds = Credentials::from_jid("alice@example.com/res", Some("pencil"), None);
        let mut m = Plain::new();
        assert!(m.test(&creds));
        assert_eq!(m.start(&creds).unwrap().unwrap(), b"\0alice\0pencil");
    }

    #[test]
    fn with_authzid_when_authcid_differs() {
        let creds = Credentials::from_jid("alice@example.com/res", Some("pencil"), Some("admin"));
        let mut m = Plain::new();
        assert_eq!(
            m.start(&creds).unwrap().unwrap(),
            b"alice@example.com\0admin\0pencil"
        );
    }

    #[test]
    fn empty_password_is_still_sent() {
        let creds = Credentials::from_jid("alice@example.com", Some(""), None);
        assert_eq!(Plain::new().start(&creds).unwrap().unwrap(), b"\0alice\0");
    }

    #[test]
    fn needs_authcid_and_password() {
        let m = Plain::new();
        assert!(!m.test(&Credentials::from_jid("alice@example.com", None, None)));
        assert!(!m.test(&Credentials::from_jid("example.com", Some("pw"), None)));
        let creds = Credentials::from_jid("example.com", None, None);
        assert_eq!(
            Plain::new().start(&creds),
            Err(SaslError::MissingCredentials)
        );
    }

    #[test]
    fn refuses_nul_in_fields() {
        let creds = Credentials::from_jid("alice@example.com", Some("pw\0admin"), None);
        assert!(matches!(
            Plain::new().start(&creds),
            Err(SaslError::Other(_))
        ));
    }

    #[test]
    fn challenges() {
        let creds = Credentials::from_jid("alice@example.com", Some("pw"), None);
        let mut m = Plain::new();
        assert_eq!(m.challenge(&creds, b"").unwrap(), b"\0alice\0pw");
        assert!(m.challenge(&creds, b"what?").is_err());
        assert!(m.success(&creds, None).is_ok());
    }
}
