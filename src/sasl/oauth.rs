//! OAUTHBEARER (RFC 7628) and Google's X-OAUTH2; the token is the password.

use super::{escape_saslname, Credentials, Mechanism, SaslError};

/// Ends the OAUTHBEARER error exchange (RFC 7628 §3.2.3).
const DUMMY_RESPONSE: &[u8] = b"\x01";

fn token(creds: &Credentials) -> Result<&str, SaslError> {
    creds
        .password
        .as_deref()
        .filter(|t| !t.is_empty())
        .ok_or(SaslError::MissingCredentials)
}

fn has_token(creds: &Credentials) -> bool {
    token(creds).is_ok()
}

/// RFC 7628 OAUTHBEARER.
#[derive(Debug, Default)]
pub struct OAuthBearer {
    sent_dummy: bool,
}

impl OAuthBearer {
    /// A fresh mechanism, for one login (the engine makes one per attempt).
    pub fn new() -> Self {
        OAuthBearer::default()
    }
}

/// `n,a=AUTHZID,` + `^Aauth=Bearer TOKEN^A^A`.
fn bearer_message(creds: &Credentials) -> Result<Vec<u8>, SaslError> {
    let token = token(creds)?;
    // ^A separates key/value pairs: a token holding one would forge pairs.
    if token.contains('\x01') {
        return Err(SaslError::Other(
            "control character in the OAuth token".into(),
        ));
    }
    let gs2 = match creds.authzid.as_str() {
        "" => "n,,".to_string(),
        authzid => format!("n,a={},", escape_saslname(authzid)),
    };
    Ok(format!("{gs2}\x01auth=Bearer {token}\x01\x01").into_bytes())
}

impl Mechanism for OAuthBearer {
    fn name(&self) -> &str {
        "OAUTHBEARER"
    }

    fn priority(&self) -> i32 {
        40
    }

    fn is_client_first(&self) -> bool {
        true
    }

    fn test(&self, creds: &Credentials) -> bool {
        has_token(creds)
    }

    fn start(&mut self, creds: &Credentials) -> Result<Option<Vec<u8>>, SaslError> {
        self.sent_dummy = false;
        bearer_message(creds).map(Some)
    }

    fn challenge(&mut self, _creds: &Credentials, _challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        // The challenge is the server's JSON error; the <failure/> follows.
        if self.sent_dummy {
            return Err(SaslError::Protocol(
                "unexpected OAUTHBEARER challenge".into(),
            ));
        }
        self.sent_dummy = true;
        Ok(DUMMY_RESPONSE.to_vec())
    }

    fn success(
        &mut self,
        _creds: &Credentials,
        _additional: Option<&[u8]>,
    ) -> Result<(), SaslError> {
        Ok(())
    }
}

/// Google's X-OAUTH2: `NUL authzid NUL token`.
#[derive(Debug, Default)]
pub struct XOAuth2;

impl XOAuth2 {
    /// A fresh mechanism, for one login (the engine makes one per attempt).
    pub fn new() -> Self {
        XOAuth2
    }
}

fn x_oauth2_message(creds: &Credentials) -> Result<Vec<u8>, SaslError> {
    let token = token(creds)?;
    if token.contains('\0') || creds.authzid.contains('\0') {
        return Err(SaslError::Other(
            "NUL character in X-OAUTH2 credentials".into(),
        ));
    }
    Ok(format!("\0{}\0{token}", creds.authzid).into_bytes())
}

impl Mechanism for XOAuth2 {
    fn name(&self) -> &str {
        "X-OAUTH2"
    }

    fn priority(&self) -> i32 {
        30
    }

    fn is_client_first(&self) -> bool {
        true
    }

    fn test(&self, creds: &Credentials) -> bool {
        has_token(creds)
    }

    fn start(&mut self, creds: &Credentials) -> Result<Option<Vec<u8>>, SaslError> {
        x_oauth2_message(creds).map(Some)
    }

    fn challenge(&mut self, _creds: &Credentials, _challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        Err(SaslError::Protocol("unexpected X-OAUTH2 challenge".into()))
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

    fn creds(token: Option<&str>) -> Credentials {
        Credentials::from_jid("alice@example.com/res", token, None)
    }

    #[test]
    fn oauthbearer_bytes() {
        let c = creds(Some("vF9dft4qmT"));
        let mut m = OAuthBearer::new();
        assert!(m.test(&c));
        let want = b"n,a=alice@example.com,\x01auth=Bearer vF9dft4qmT\x01\x01";
        assert_eq!(m.start(&c).unwrap().unwrap(), want);
    }

    #[test]
    fn oauthbearer_without_authzid() {
        let c = Credentials {
            password: Some("tok".into()),
            ..Credentials::default()
        };
        let want = b"n,,\x01auth=Bearer tok\x01\x01";
        assert_eq!(OAuthBearer::new().start(&c).unwrap().unwrap(), want);
    }

    #[test]
    fn oauthbearer_escapes_authzid() {
        let mut c = creds(Some("tok"));
        c.authzid = "a,b=c@example.com".into();
        let got = OAuthBearer::new().start(&c).unwrap().unwrap();
        assert!(got.starts_with(b"n,a=a=2Cb=3Dc@example.com,\x01"));
    }

    #[test]
    fn oauthbearer_error_challenge() {
        let c = creds(Some("tok"));
        let mut m = OAuthBearer::new();
        m.start(&c).unwrap();
        let json = br#"{"status":"invalid_token","scope":"example_scope"}"#;
        assert_eq!(m.challenge(&c, json).unwrap(), b"\x01");
        assert!(m.challenge(&c, json).is_err());
        assert!(m.challenge(&c, b"\xff\xfe").is_err());
    }

    #[test]
    fn oauthbearer_refuses_separator_in_token() {
        let c = creds(Some("a\x01b"));
        assert!(OAuthBearer::new().start(&c).is_err());
    }

    #[test]
    fn x_oauth2_bytes() {
        let c = creds(Some("ya29.token"));
        let mut m = XOAuth2::new();
        assert!(m.test(&c));
        assert_eq!(
            m.start(&c).unwrap().unwrap(),
            b"\0alice@example.com\0ya29.token"
        );
        assert!(m.challenge(&c, b"x").is_err());
        assert!(m.success(&c, None).is_ok());
    }

    #[test]
    fn need_a_token() {
        for c in [creds(None), creds(Some(""))] {
            assert!(!OAuthBearer::new().test(&c));
            assert!(!XOAuth2::new().test(&c));
            assert_eq!(XOAuth2::new().start(&c), Err(SaslError::MissingCredentials));
            assert_eq!(
                OAuthBearer::new().start(&c),
                Err(SaslError::MissingCredentials)
            );
        }
    }
}
