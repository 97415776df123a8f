//! Connection options (Strophe's `ConnectionOptions` plus what a native
//! program needs): the [`Options`] struct with its defaults, and
//! [`Cookie`]. Setting and reading them by name, the rules for the text of
//! each kind of value, headers and cookies, and the transport selection
//! rules of seed 003 each have their own submodule.

mod by_name;
mod http;
mod service;
mod values;

pub use http::parse_cookie;
pub(crate) use service::tcp_redirect;
pub use service::{select_transport, TcpTarget, TransportKind};

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
    /// `pollable`: sync mode for the caller's own event loop: a descriptor
    /// to wait on, the next timeout, and no call that waits for the engine.
    pub pollable: bool,
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
    /// A client certificate (PEM) to present on every TLS connection, for
    /// SASL EXTERNAL; with `client_key`.
    pub client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM, PKCS#8).
    pub client_key: Option<PathBuf>,
    /// TCP only: log in without TLS when the server offers no STARTTLS.
    /// Off: such a server is CONNFAIL, never a silent plaintext login.
    pub allow_plaintext: bool,
    /// The DNS server for SRV discovery (IPv4 address and port); None:
    /// the system's (resolv.conf).
    pub dns_server: Option<std::net::SocketAddr>,
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
            pollable: false,
            custom_headers: Vec::new(),
            keepalive: false,
            keepalive_path: None,
            with_credentials: false,
            content_type: "text/xml; charset=utf-8".to_string(),
            origin: None,
            ca_file: None,
            accept_invalid_certs: false,
            client_cert: None,
            client_key: None,
            allow_plaintext: false,
            dns_server: None,
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

#[cfg(test)]
mod tests;
