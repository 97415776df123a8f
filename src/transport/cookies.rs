//! Cookies: the ones the application gave (`cookies`) and, with
//! `withCredentials`, a jar that keeps the server's Set-Cookie and sends
//! it back, so sticky load balancers keep a BOSH session on one node.

use crate::options::{parse_cookie, Cookie};
use std::time::SystemTime;

/// The Cookie header value for a request to host/path: every cookie whose
/// domain, path and expiry match; None when nothing matches.
pub(crate) fn cookie_header(cookies: &[Cookie], host: &str, path: &str) -> Option<String> {
    let now = SystemTime::now();
    let host = host.to_ascii_lowercase();
    let matching: Vec<String> = cookies
        .iter()
        .filter(|c| c.expires.is_none_or(|e| e > now))
        .filter(|c| {
            c.domain
                .as_deref()
                .is_none_or(|d| host == d || host.ends_with(&format!(".{d}")))
        })
        .filter(|c| c.path.as_deref().is_none_or(|p| path.starts_with(p)))
        .map(|c| format!("{}={}", c.name, c.value))
        .collect();
    (!matching.is_empty()).then(|| matching.join("; "))
}

/// Keeps cookies set by the server, replacing by name.
#[derive(Debug, Default, Clone)]
pub(crate) struct CookieJar {
    cookies: Vec<Cookie>,
}

impl CookieJar {
    pub fn new(initial: &[Cookie]) -> CookieJar {
        CookieJar {
            cookies: initial.to_vec(),
        }
    }

    /// Stores one Set-Cookie header. Attributes epode does not use (Secure,
    /// HttpOnly, SameSite, dates in HTTP format) are ignored, not refused: a
    /// server's header must never break the session.
    pub fn store(&mut self, set_cookie: &str) {
        let mut kept = String::new();
        for (i, part) in set_cookie.split(';').enumerate() {
            let lower = part.trim().to_ascii_lowercase();
            if i == 0
                || lower.starts_with("domain=")
                || lower.starts_with("path=")
                || lower.starts_with("max-age=")
            {
                if !kept.is_empty() {
                    kept.push(';');
                }
                kept.push_str(part);
            }
        }
        if let Ok(cookie) = parse_cookie(&kept) {
            self.cookies.retain(|c| c.name != cookie.name);
            let expired = cookie.expires.is_some_and(|e| e <= SystemTime::now());
            if !expired {
                self.cookies.push(cookie);
            }
        }
    }

    pub fn header(&self, host: &str, path: &str) -> Option<String> {
        cookie_header(&self.cookies, host, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn c(
        name: &str,
        domain: Option<&str>,
        path: Option<&str>,
        expires: Option<SystemTime>,
    ) -> Cookie {
        Cookie {
            name: name.into(),
            value: "v".into(),
            domain: domain.map(Into::into),
            path: path.map(Into::into),
            expires,
        }
    }

    #[test]
    fn cookies_match_domain_path_and_expiry() {
        let past = SystemTime::now() - Duration::from_secs(10);
        let cookies = vec![
            c("any", None, None, None),
            c("dom", Some("example.com"), None, None),
            c("other", Some("example.org"), None, None),
            c("path", None, Some("/xmpp"), None),
            c("wrongpath", None, Some("/admin"), None),
            c("old", None, None, Some(past)),
        ];
        assert_eq!(
            cookie_header(&cookies, "chat.example.com", "/xmpp-websocket").as_deref(),
            Some("any=v; dom=v; path=v")
        );
        assert_eq!(cookie_header(&[], "h", "/"), None);
    }

    #[test]
    fn the_jar_keeps_replaces_and_expires_server_cookies() {
        let mut jar = CookieJar::new(&[c("app", None, None, None)]);
        jar.store("node=a1; Path=/; HttpOnly; Secure; SameSite=Strict");
        assert_eq!(
            jar.header("h", "/http-bind").as_deref(),
            Some("app=v; node=a1")
        );
        jar.store("node=b2; Path=/");
        assert_eq!(
            jar.header("h", "/http-bind").as_deref(),
            Some("app=v; node=b2")
        );
        jar.store("node=gone; Max-Age=0");
        assert_eq!(jar.header("h", "/").as_deref(), Some("app=v"));
        jar.store("garbage without equals");
        assert_eq!(jar.header("h", "/").as_deref(), Some("app=v"));
    }

    #[test]
    fn a_server_cookie_that_never_expires_is_dropped_not_a_panic() {
        let mut jar = CookieJar::new(&[]);
        jar.store("node=a1; Max-Age=18446744073709551615");
        assert_eq!(jar.header("h", "/"), None);
        jar.store("node=a1; Max-Age=2147483647"); // "forever" as servers say it
        assert_eq!(jar.header("h", "/").as_deref(), Some("node=a1"));
    }
}
