//! The HTTP-shaped options: custom headers in "Name: value" form and
//! cookies in `name=value; Domain=…` form, parsed and checked (no line
//! break or invalid name reaches a request), and a cookie written back.

use super::values::int_in;
use super::Cookie;
use crate::error::{Error, Result};
use std::time::{Duration, SystemTime};

/// Parses one custom header in the "Name: value" form of seed 002.
pub fn parse_header_line(line: &str) -> Result<(String, String)> {
    let (name, value) = line.split_once(':').ok_or_else(|| {
        Error::InvalidArgument(format!(
            "header {line:?} is not of the form \"Name: value\""
        ))
    })?;
    let name = name.trim();
    let valid_name = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    let value = value.trim();
    if !valid_name || value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(Error::InvalidArgument(format!(
            "header {line:?} is not a valid HTTP header"
        )));
    }
    Ok((name.to_string(), value.to_string()))
}

// Cookie expiry: Expires up to 9999-12-31T23:59:59Z, the last date an
// HTTP date can name; Max-Age up to 100 years, so that now + Max-Age is
// still before it. Either way the expiry is a time the clock can hold.
const COOKIE_EXPIRES_MAX: u64 = 253_402_300_799;
const COOKIE_MAX_AGE_MAX: u64 = 100 * 365 * 24 * 60 * 60;

/// Parses a cookie given as `name=value; Domain=d; Path=/p; Max-Age=s`.
pub fn parse_cookie(spec: &str) -> Result<Cookie> {
    let mut parts = spec.split(';');
    let first = parts.next().unwrap_or_default();
    let (name, value) = first.split_once('=').ok_or_else(|| {
        Error::InvalidArgument(format!("cookie {spec:?} is not of the form name=value"))
    })?;
    let name = name.trim();
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == ',' || c == ';') {
        return Err(Error::InvalidArgument(format!(
            "cookie name {name:?} is not valid"
        )));
    }
    let mut cookie = Cookie {
        name: name.to_string(),
        value: value.trim().to_string(),
        domain: None,
        path: None,
        expires: None,
    };
    for attr in parts {
        let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
        match k.as_str() {
            "domain" => cookie.domain = Some(v.trim_start_matches('.').to_ascii_lowercase()),
            "path" => cookie.path = Some(v.to_string()),
            "max-age" => {
                let secs: u64 = int_in("cookie Max-Age", v, 0..=COOKIE_MAX_AGE_MAX, "seconds")?;
                cookie.expires = Some(SystemTime::now() + Duration::from_secs(secs));
            }
            "expires" => {
                let secs: u64 = int_in(
                    "cookie Expires",
                    v,
                    0..=COOKIE_EXPIRES_MAX,
                    "seconds since 1970",
                )?;
                cookie.expires = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
            }
            "" => {}
            other => {
                return Err(Error::InvalidArgument(format!(
                    "cookie attribute {other:?} is not supported"
                )))
            }
        }
    }
    Ok(cookie)
}

/// A cookie in the form `parse_cookie` reads (expiry as Expires=seconds).
pub(super) fn cookie_text(c: &Cookie) -> String {
    let mut out = format!("{}={}", c.name, c.value);
    if let Some(d) = &c.domain {
        out.push_str(&format!("; Domain={d}"));
    }
    if let Some(p) = &c.path {
        out.push_str(&format!("; Path={p}"));
    }
    if let Some(secs) = c
        .expires
        .and_then(|e| e.duration_since(SystemTime::UNIX_EPOCH).ok())
    {
        out.push_str(&format!("; Expires={}", secs.as_secs()));
    }
    out
}
