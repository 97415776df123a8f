//! Connection options (Strophe's `ConnectionOptions` plus what a native
//! program needs) and the transport selection rules of seed 003.

use crate::error::{Error, Result};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// A cookie to send with every matching request (Strophe's `cookies`).
#[derive(Clone, PartialEq, Eq)]
pub struct Cookie {
    /// The cookie's name.
    pub name: String,
    /// Its value, often a token: never shown by `{:?}`.
    pub value: String,
    /// Sent only to this domain and its subdomains; None: to every host.
    pub domain: Option<String>,
    /// Sent only for URLs under this path; None: every path.
    pub path: Option<String>,
    /// Not sent after this time; None: no expiry.
    pub expires: Option<SystemTime>,
}

// A cookie's value is often a session or auth token: `{:?}` of a cookie
// (or of Options) must not put it in a log.
impl std::fmt::Debug for Cookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cookie")
            .field("name", &self.name)
            .field("value", &crate::sasl::REDACTED)
            .field("domain", &self.domain)
            .field("path", &self.path)
            .field("expires", &self.expires)
            .finish()
    }
}

/// Every option of a connection. `Options::default()` gives Strophe's defaults.
#[derive(Debug, Clone)]
pub struct Options {
    /// `cookies`: sent on every BOSH request and WebSocket handshake that matches.
    pub cookies: Vec<Cookie>,
    /// `mechanisms`: the SASL mechanism names allowed (None = all built-ins).
    pub mechanisms: Option<Vec<String>>,
    /// `explicitResourceBinding`: stop at BINDREQUIRED and wait for `bind()`.
    pub explicit_resource_binding: bool,
    /// `protocol`: "ws" or "wss" for a relative service URL.
    pub protocol: Option<String>,
    /// `worker`: name or socket path of a shared connection.
    pub worker: Option<String>,
    /// `sync`: run the engine on the caller's thread.
    pub sync: bool,
    /// `customHeaders`: extra HTTP headers on every BOSH request.
    pub custom_headers: Vec<(String, String)>,
    /// `keepalive`: persist BOSH session tokens for `restore()`.
    pub keepalive: bool,
    /// Where keepalive tokens are kept (default: per-user file).
    pub keepalive_path: Option<PathBuf>,
    /// `withCredentials`: keep the server's cookies and send them back.
    pub with_credentials: bool,
    /// `contentType`: the HTTP Content-Type header of BOSH requests (the
    /// session body's `content` attribute stays `text/xml; charset=utf-8`).
    pub content_type: String,
    /// The page location a relative service URL is resolved against.
    pub origin: Option<String>,
    /// Extra CA certificate (PEM) to trust, besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Accept any server certificate. Off unless asked for by name.
    pub accept_invalid_certs: bool,
    /// BOSH `strip`: hooks see the body's children, not the body.
    pub strip: bool,
    /// Strophe.TIMEOUT: primary BOSH timeout as a multiple of `wait`.
    pub timeout_multiplier: f64,
    /// Strophe.SECONDARY_TIMEOUT.
    pub secondary_timeout_multiplier: f64,
    /// `maxRetries`.
    pub max_retries: u32,
    /// `disconnection_timeout`: how long `disconnect()` waits for the server.
    pub disconnection_timeout: Duration,
    /// BOSH `wait` asked for at session creation (seconds).
    pub wait: u64,
    /// BOSH `hold` asked for at session creation.
    pub hold: u64,
    /// BOSH `route` (XEP-0124 §7.1), e.g. "xmpp:example.com:9999".
    pub route: Option<String>,
    /// How long opening the transport and logging in may take.
    pub connect_timeout: Duration,
    /// The resource asked for at bind (None: the server picks one).
    pub resource: Option<String>,
    /// Largest stanza accepted from the server, in bytes.
    pub max_stanza_bytes: usize,
    /// Deepest element nesting accepted from the server.
    pub max_depth: usize,
    /// Reconnect after an unexpected loss (up to `max_retries` attempts).
    pub reconnect: bool,
    /// The first reconnection delay; it doubles per attempt, up to the max.
    pub reconnect_delay: Duration,
    /// The longest delay between reconnection attempts.
    pub reconnect_max_delay: Duration,
    /// XEP-0198 stream management when the server offers it.
    pub stream_management: bool,
    /// When the server refuses resumption, send the stanzas it may not
    /// have received again on the new session (at least once, in order)
    /// instead of handing them to the unacked handler.
    pub resend_unacked: bool,
    /// Most output held for a server that does not take it (bytes): more
    /// ends the session with ERROR rather than growing without bound.
    pub max_send_queue_bytes: usize,
    /// `pingInterval`: after this long with nothing received on a session,
    /// ask the server for a sign of life (zero: no check, no TCP keepalive).
    pub ping_interval: Duration,
    /// `pingTimeout`: how long that sign of life may take before the link
    /// counts as lost.
    pub ping_timeout: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            cookies: Vec::new(),
            mechanisms: None,
            explicit_resource_binding: false,
            protocol: None,
            worker: None,
            sync: false,
            custom_headers: Vec::new(),
            keepalive: false,
            keepalive_path: None,
            with_credentials: false,
            content_type: "text/xml; charset=utf-8".to_string(),
            origin: None,
            ca_file: None,
            accept_invalid_certs: false,
            strip: false,
            timeout_multiplier: 1.1,
            secondary_timeout_multiplier: 0.1,
            max_retries: 5,
            disconnection_timeout: Duration::from_millis(3000),
            wait: 60,
            hold: 1,
            route: None,
            connect_timeout: Duration::from_secs(30),
            resource: None,
            max_stanza_bytes: 8 * 1024 * 1024,
            max_depth: 64,
            reconnect: false,
            reconnect_delay: Duration::from_millis(250),
            reconnect_max_delay: Duration::from_secs(30),
            stream_management: true,
            resend_unacked: false,
            max_send_queue_bytes: 16 * 1024 * 1024,
            // A minute: shorter than the idle limit of most NATs and
            // middleboxes (often 2 to 5 minutes), and ejabberd's own
            // WebSocket ping interval; one round trip of ~60 bytes a minute.
            ping_interval: Duration::from_secs(60),
            // A server answers in milliseconds; ten seconds leaves room for
            // a congested mobile link before a false alarm (which costs a
            // resumption, nothing more).
            ping_timeout: Duration::from_secs(10),
        }
    }
}

fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(Error::InvalidArgument(format!(
            "{key} must be true or false, not {value:?}"
        ))),
    }
}

/// A whole number in `range` (a count of `unit`), or an error that names
/// the key, the value and the range: negative, fractional, empty and
/// too-large text all fail the same way.
fn int_in<T: TryFrom<u64>>(
    key: &str,
    value: &str,
    range: RangeInclusive<u64>,
    unit: &str,
) -> Result<T> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| range.contains(n))
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{key} must be a whole number of {unit} from {} to {}, not {value:?}",
                range.start(),
                range.end()
            ))
        })
}

/// A finite number in `range` (NaN and the infinities are never in it).
fn float_in(key: &str, value: &str, range: RangeInclusive<f64>) -> Result<f64> {
    value
        .parse::<f64>()
        .ok()
        .filter(|x| range.contains(x))
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{key} must be a finite number from {:?} to {:?}, not {value:?}",
                range.start(),
                range.end()
            ))
        })
}

// Durations stop at a day: no timeout or delay a program means is longer,
// and deadlines (now + d) stay far from overflowing.
const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// Milliseconds from `min` to a day.
fn parse_ms(key: &str, value: &str, min: u64) -> Result<Duration> {
    int_in(key, value, min..=DAY_MS, "milliseconds").map(Duration::from_millis)
}

/// The shortest liveness interval and timeout.
const MIN_PING: Duration = Duration::from_secs(1);

// Byte limits: at least 1 KiB, or not even stream features or a bind
// result fit; at most 1 GiB, which no stanza or backlog needs.
const BYTES: RangeInclusive<u64> = 1024..=1 << 30;

// Cookie expiry: Expires up to 9999-12-31T23:59:59Z, the last date an
// HTTP date can name; Max-Age up to 100 years, so that now + Max-Age is
// still before it. Either way the expiry is a time the clock can hold.
const COOKIE_EXPIRES_MAX: u64 = 253_402_300_799;
const COOKIE_MAX_AGE_MAX: u64 = 100 * 365 * 24 * 60 * 60;

/// A path, or None for "" (what `get` gives for an unset one): no file
/// is named "", and Some("") would fail only later, at connect.
fn path_or_none(value: &str) -> Option<PathBuf> {
    Some(PathBuf::from(value)).filter(|p| !p.as_os_str().is_empty())
}

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

impl Options {
    /// Sets an option by its Strophe name (or snake_case alias) from text,
    /// as the C API and the `status` example do. List options (`cookies`,
    /// `customHeaders`) add one entry per call.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "mechanisms" => {
                let names: Vec<String> = value
                    .split(',')
                    .map(|m| m.trim().to_ascii_uppercase())
                    .filter(|m| !m.is_empty())
                    .collect();
                if names.is_empty() {
                    return Err(Error::InvalidArgument("mechanisms is empty".into()));
                }
                self.mechanisms = Some(names);
            }
            "explicitResourceBinding" | "explicit_resource_binding" => {
                self.explicit_resource_binding = parse_bool(key, value)?
            }
            "protocol" => match value {
                "ws" | "wss" => self.protocol = Some(value.to_string()),
                _ => {
                    return Err(Error::InvalidArgument(format!(
                        "protocol must be ws or wss, not {value:?}"
                    )))
                }
            },
            "worker" => self.worker = Some(value.to_string()).filter(|v| !v.is_empty()),
            "sync" => self.sync = parse_bool(key, value)?,
            "customHeaders" | "custom_headers" | "header" => {
                let header = parse_header_line(value)?;
                self.custom_headers.push(header);
            }
            "cookies" | "cookie" => {
                let cookie = parse_cookie(value)?;
                self.cookies.retain(|c| c.name != cookie.name);
                self.cookies.push(cookie);
            }
            "keepalive" => self.keepalive = parse_bool(key, value)?,
            "keepalive_path" | "keepalivePath" => self.keepalive_path = path_or_none(value),
            "withCredentials" | "with_credentials" => {
                self.with_credentials = parse_bool(key, value)?
            }
            "contentType" | "content_type" => {
                if value.bytes().any(|b| b == b'\r' || b == b'\n') {
                    return Err(Error::InvalidArgument(
                        "contentType contains a line break".into(),
                    ));
                }
                self.content_type = value.to_string();
            }
            "origin" => self.origin = Some(value.to_string()).filter(|v| !v.is_empty()),
            "ca_file" | "caFile" => self.ca_file = path_or_none(value),
            "accept_invalid_certs" | "acceptInvalidCerts" => {
                self.accept_invalid_certs = parse_bool(key, value)?
            }
            "strip" => self.strip = parse_bool(key, value)?,
            // The primary BOSH timeout is TIMEOUT × wait: below 1 a request
            // is given up before the server's wait is over, above 10 a dead
            // link goes unnoticed for ten waits.
            "timeout" | "TIMEOUT" => self.timeout_multiplier = float_in(key, value, 1.0..=10.0)?,
            // A grace period for a request already overdue: some, never
            // none, and no longer than TIMEOUT may be.
            "secondary_timeout" | "SECONDARY_TIMEOUT" => {
                self.secondary_timeout_multiplier = float_in(key, value, 0.01..=10.0)?
            }
            // 0 never reconnects; a million attempts is "keep trying" (a
            // year at the 30 s cap) with the attempt counter far from overflow.
            "maxRetries" | "max_retries" => {
                self.max_retries = int_in(key, value, 0..=1_000_000, "attempts")?
            }
            // 0: close without waiting for the server's answer (Strophe's way).
            "disconnection_timeout" | "disconnectionTimeout" => {
                self.disconnection_timeout = parse_ms(key, value, 0)?
            }
            // 0 would time out every connection before it starts.
            "connect_timeout" | "connectTimeout" => self.connect_timeout = parse_ms(key, value, 1)?,
            // XEP-0124 `wait` (seconds): 0 would turn long polling into a
            // busy loop; an hour outlasts any proxy's idle limit already.
            "wait" => self.wait = int_in(key, value, 1..=3600, "seconds")?,
            // XEP-0124 `hold`: 0 is a polling session; the request window
            // (hold + 1) is capped at 16 requests like the server's `requests`.
            "hold" => self.hold = int_in(key, value, 0..=15, "requests")?,
            "route" => self.route = Some(value.to_string()).filter(|v| !v.is_empty()),
            "resource" => self.resource = Some(value.to_string()).filter(|v| !v.is_empty()),
            "max_stanza_bytes" => self.max_stanza_bytes = int_in(key, value, BYTES, "bytes")?,
            // Stream features, a roster item's groups and a pubsub payload
            // need a few levels; past 1024 nesting is an attack, not a document.
            "max_depth" => self.max_depth = int_in(key, value, 8..=1024, "levels")?,
            "reconnect" => self.reconnect = parse_bool(key, value)?,
            // 0 would retry at once, every time: 0 doubled stays 0, and a
            // cap of 0 makes every wait 0.
            "reconnect_delay" | "reconnectDelay" => self.reconnect_delay = parse_ms(key, value, 1)?,
            "reconnect_max_delay" | "reconnectMaxDelay" => {
                self.reconnect_max_delay = parse_ms(key, value, 1)?
            }
            "streamManagement" | "stream_management" => {
                self.stream_management = parse_bool(key, value)?
            }
            "resendUnacked" | "resend_unacked" => self.resend_unacked = parse_bool(key, value)?,
            "max_send_queue_bytes" => {
                self.max_send_queue_bytes = int_in(key, value, BYTES, "bytes")?
            }
            // 0 turns the check off; under a second would ping as fast
            // as the server answers.
            "pingInterval" | "ping_interval" => {
                let interval = parse_ms(key, value, 0)?;
                if !interval.is_zero() && interval < MIN_PING {
                    return Err(Error::InvalidArgument(format!(
                        "{key} must be 0 (off) or at least 1000 milliseconds, not {value:?}"
                    )));
                }
                self.ping_interval = interval;
            }
            // Under a second, a healthy but busy link could miss it.
            "pingTimeout" | "ping_timeout" => {
                self.ping_timeout = parse_ms(key, value, MIN_PING.as_millis() as u64)?
            }
            _ => return Err(Error::UnknownOption(key.to_string())),
        }
        Ok(())
    }
}

impl Options {
    /// An option by the names `set` takes, as text that `set` accepts back
    /// (Strophe users read `conn.options.x`; C has no struct to read).
    /// Unset values are "" (for `mechanisms`: every built-in is allowed);
    /// durations are milliseconds; list options have one entry per line.
    pub fn get(&self, key: &str) -> Result<String> {
        fn text(v: &Option<String>) -> String {
            v.clone().unwrap_or_default()
        }
        fn path(v: &Option<PathBuf>) -> String {
            v.as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        }
        let ms = |d: Duration| d.as_millis().to_string();
        Ok(match key {
            "mechanisms" => self
                .mechanisms
                .as_ref()
                .map(|m| m.join(","))
                .unwrap_or_default(),
            "explicitResourceBinding" | "explicit_resource_binding" => {
                self.explicit_resource_binding.to_string()
            }
            "protocol" => text(&self.protocol),
            "worker" => text(&self.worker),
            "sync" => self.sync.to_string(),
            "customHeaders" | "custom_headers" | "header" => self
                .custom_headers
                .iter()
                .map(|(n, v)| format!("{n}: {v}"))
                .collect::<Vec<_>>()
                .join("\n"),
            "cookies" | "cookie" => self
                .cookies
                .iter()
                .map(cookie_text)
                .collect::<Vec<_>>()
                .join("\n"),
            "keepalive" => self.keepalive.to_string(),
            "keepalive_path" | "keepalivePath" => path(&self.keepalive_path),
            "withCredentials" | "with_credentials" => self.with_credentials.to_string(),
            "contentType" | "content_type" => self.content_type.clone(),
            "origin" => text(&self.origin),
            "ca_file" | "caFile" => path(&self.ca_file),
            "accept_invalid_certs" | "acceptInvalidCerts" => self.accept_invalid_certs.to_string(),
            "strip" => self.strip.to_string(),
            "timeout" | "TIMEOUT" => self.timeout_multiplier.to_string(),
            "secondary_timeout" | "SECONDARY_TIMEOUT" => {
                self.secondary_timeout_multiplier.to_string()
            }
            "maxRetries" | "max_retries" => self.max_retries.to_string(),
            "disconnection_timeout" | "disconnectionTimeout" => ms(self.disconnection_timeout),
            "connect_timeout" | "connectTimeout" => ms(self.connect_timeout),
            "wait" => self.wait.to_string(),
            "hold" => self.hold.to_string(),
            "route" => text(&self.route),
            "resource" => text(&self.resource),
            "max_stanza_bytes" => self.max_stanza_bytes.to_string(),
            "max_depth" => self.max_depth.to_string(),
            "max_send_queue_bytes" => self.max_send_queue_bytes.to_string(),
            "reconnect" => self.reconnect.to_string(),
            "reconnect_delay" | "reconnectDelay" => ms(self.reconnect_delay),
            "reconnect_max_delay" | "reconnectMaxDelay" => ms(self.reconnect_max_delay),
            "streamManagement" | "stream_management" => self.stream_management.to_string(),
            "resendUnacked" | "resend_unacked" => self.resend_unacked.to_string(),
            "pingInterval" | "ping_interval" => ms(self.ping_interval),
            "pingTimeout" | "ping_timeout" => ms(self.ping_timeout),
            _ => return Err(Error::UnknownOption(key.to_string())),
        })
    }
}

/// A cookie in the form `parse_cookie` reads (expiry as Expires=seconds).
fn cookie_text(c: &Cookie) -> String {
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

/// Which transport a connection uses, with its absolute URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportKind {
    WebSocket { url: String },
    Bosh { url: String },
    Shared { worker: String, url: String },
}

fn scheme_of(url: &str) -> Option<String> {
    let (scheme, _) = url.split_once("://")?;
    Some(scheme.to_ascii_lowercase())
}

/// Applies seed 003's rules: worker first, then ws/wss scheme or `protocol`,
/// otherwise BOSH. A relative path is resolved against `origin`, and an
/// https origin never downgrades (ws → wss, http → https).
pub fn select_transport(service: &str, options: &Options) -> Result<TransportKind> {
    let url = resolve_service(service, options)?;
    let scheme = scheme_of(&url).unwrap_or_default();
    let is_ws = scheme == "ws" || scheme == "wss";
    if let Some(worker) = &options.worker {
        if !is_ws {
            return Err(Error::InvalidArgument(format!(
                "the worker option needs a WebSocket service, not {url:?} (seed 000)"
            )));
        }
        return Ok(TransportKind::Shared {
            worker: worker.clone(),
            url,
        });
    }
    match scheme.as_str() {
        "ws" | "wss" => Ok(TransportKind::WebSocket { url }),
        "http" | "https" => Ok(TransportKind::Bosh { url }),
        other => Err(Error::InvalidArgument(format!(
            "unsupported service scheme {other:?}"
        ))),
    }
}

fn resolve_service(service: &str, options: &Options) -> Result<String> {
    if service.is_empty() {
        return Err(Error::InvalidArgument("service URL is empty".into()));
    }
    if let Some(scheme) = scheme_of(service) {
        // Absolute: keep it, with the scheme in lower case.
        let rest = &service[scheme.len()..];
        return Ok(format!("{scheme}{rest}"));
    }
    if !service.starts_with('/') {
        return Err(Error::InvalidArgument(format!(
            "service {service:?} is neither an absolute URL nor a path starting with '/'"
        )));
    }
    let origin = options.origin.as_deref().ok_or_else(|| {
        Error::InvalidArgument(format!(
            "service {service:?} is relative: set the origin option (e.g. https://example.com)"
        ))
    })?;
    let origin_scheme = scheme_of(origin).ok_or_else(|| {
        Error::InvalidArgument(format!("origin {origin:?} is not an absolute URL"))
    })?;
    let secure = matches!(origin_scheme.as_str(), "https" | "wss");
    let host = origin[origin_scheme.len() + 3..]
        .split('/')
        .next()
        .unwrap_or_default();
    if host.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "origin {origin:?} has no host"
        )));
    }
    let scheme = match (options.protocol.as_deref(), secure) {
        (Some("wss"), _) | (Some(_), true) => "wss",
        (Some(_), false) => "ws",
        (None, true) => "https",
        (None, false) => "http",
    };
    Ok(format!("{scheme}://{host}{service}"))
}

#[cfg(test)]
mod tests;
