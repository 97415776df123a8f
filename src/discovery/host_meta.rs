//! XEP-0156: a domain's WebSocket and BOSH URLs from its host-meta
//! documents, `/.well-known/host-meta` (XRD, XML) and, when that gives
//! nothing, `/.well-known/host-meta.json` (JRD).
//!
//! Decisions where the XEP leaves room, for a library that is secure by
//! default:
//! - Only over HTTPS, with the certificate verified for the domain (as
//!   for wss: `ca_file`, `accept_invalid_certs`). A plaintext origin, a
//!   redirect to plaintext and discovered `ws://` / `http://` URLs are
//!   refused or dropped unless `allow_plaintext` is set, since anyone on
//!   the path could otherwise send the client to a server of theirs.
//! - The whole lookup, both documents and their redirects (at most 5),
//!   is bounded by one timeout; a document is at most 64 KiB.
//! - The URLs keep the document's order, duplicates dropped; a link
//!   with another scheme than its kind's (a `wss://` given as BOSH) is
//!   dropped rather than guessed at.

use crate::error::{Error, Result};
use crate::xml::{parse_received, Element};
use std::path::PathBuf;
use std::time::Duration;

/// The link relation of a WebSocket endpoint (XEP-0156 §3).
pub const REL_WEBSOCKET: &str = "urn:xmpp:alt-connections:websocket";
/// The link relation of a BOSH endpoint.
pub const REL_BOSH: &str = "urn:xmpp:alt-connections:xbosh";
/// XRD's namespace.
const NS_XRD: &str = "http://docs.oasis-open.org/ns/xri/xrd-1.0";
/// The most of a host-meta document read.
const MAX_DOCUMENT: u64 = 64 * 1024;
const MAX_REDIRECTS: u32 = 5;

/// A domain's alternative connection methods, in the document's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionMethods {
    /// `wss://` (and, with plaintext allowed, `ws://`) URLs.
    pub websocket: Vec<String>,
    /// `https://` (and, with plaintext allowed, `http://`) URLs.
    pub bosh: Vec<String>,
}

impl ConnectionMethods {
    /// Neither kind found.
    pub fn is_empty(&self) -> bool {
        self.websocket.is_empty() && self.bosh.is_empty()
    }

    fn add(&mut self, rel: &str, href: &str, allow_plaintext: bool) {
        let (list, secure, plain) = match rel {
            REL_WEBSOCKET => (&mut self.websocket, "wss://", "ws://"),
            REL_BOSH => (&mut self.bosh, "https://", "http://"),
            _ => return,
        };
        let lower = href.trim().to_ascii_lowercase();
        let fits = lower.starts_with(secure) || (allow_plaintext && lower.starts_with(plain));
        let href = href.trim();
        if fits && href.len() > secure.len() && !list.iter().any(|u| u == href) {
            list.push(href.to_string());
        }
    }
}

/// How to fetch host-meta. [`HostMeta::default`]: `https://DOMAIN`,
/// the platform's roots, 10 s, plaintext refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostMeta {
    origin: Option<String>,
    ca_file: Option<PathBuf>,
    accept_invalid_certs: bool,
    allow_plaintext: bool,
    timeout: Duration,
}

impl Default for HostMeta {
    fn default() -> HostMeta {
        HostMeta {
            origin: None,
            ca_file: None,
            accept_invalid_certs: false,
            allow_plaintext: false,
            timeout: Duration::from_secs(10),
        }
    }
}

impl HostMeta {
    /// The defaults.
    pub fn new() -> HostMeta {
        HostMeta::default()
    }

    /// The settings a connection with these options would use: `ca_file`,
    /// `accept_invalid_certs`, `allow_plaintext`, and `connect_timeout` as
    /// the bound of the whole lookup.
    pub fn from_options(options: &crate::Options) -> HostMeta {
        HostMeta {
            origin: None,
            ca_file: options.ca_file.clone(),
            accept_invalid_certs: options.accept_invalid_certs,
            allow_plaintext: options.allow_plaintext,
            timeout: options.connect_timeout,
        }
    }

    /// Fetches the documents from `origin` (`https://host[:port]`) instead
    /// of `https://DOMAIN`: a server whose web side is elsewhere, or a
    /// test's on loopback.
    pub fn origin(mut self, origin: &str) -> HostMeta {
        self.origin = Some(origin.trim_end_matches('/').to_string());
        self
    }

    /// Trusts only the certificate(s) in this PEM file.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> HostMeta {
        self.ca_file = Some(path.into());
        self
    }

    /// Skips certificate verification (tests only).
    pub fn accept_invalid_certs(mut self, yes: bool) -> HostMeta {
        self.accept_invalid_certs = yes;
        self
    }

    /// Allows an `http://` origin and keeps `ws://` / `http://` URLs.
    pub fn allow_plaintext(mut self, yes: bool) -> HostMeta {
        self.allow_plaintext = yes;
        self
    }

    /// Bounds the whole lookup.
    pub fn timeout(mut self, timeout: Duration) -> HostMeta {
        self.timeout = timeout;
        self
    }

    /// `domain`'s connection methods: host-meta first, host-meta.json when
    /// that fails or lists none.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a bad domain or origin (or a
    /// plaintext one, not allowed); otherwise the error of the last
    /// document tried (HTTP status, TLS, timeout, a malformed document),
    /// or [`Error::Io`] with [`std::io::ErrorKind::NotFound`] when both
    /// documents were read and list no usable URL.
    pub fn connection_methods(&self, domain: &str) -> Result<ConnectionMethods> {
        let origin = self.origin_for(domain)?;
        let agent = self.agent()?;
        let deadline = std::time::Instant::now() + self.timeout;
        let xml = fetch(&agent, &format!("{origin}/.well-known/host-meta"), deadline)
            .and_then(|body| parse_xrd(&body, self.allow_plaintext));
        if let Ok(found) = &xml {
            if !found.is_empty() {
                return xml;
            }
        }
        let json = fetch(
            &agent,
            &format!("{origin}/.well-known/host-meta.json"),
            deadline,
        )
        .and_then(|body| parse_jrd(&body, self.allow_plaintext))?;
        if json.is_empty() {
            return Err(Error::Io {
                message: format!("{origin}'s host-meta lists no WebSocket or BOSH URL"),
                kind: Some(std::io::ErrorKind::NotFound),
                source: None,
            });
        }
        Ok(json)
    }

    fn origin_for(&self, domain: &str) -> Result<String> {
        let origin = match &self.origin {
            Some(origin) => origin.clone(),
            None => format!("https://{}", super::host_name(domain)?),
        };
        let lower = origin.to_ascii_lowercase();
        let plain = lower.starts_with("http://");
        if !(lower.starts_with("https://") || plain) || origin.len() <= "https://".len() {
            return Err(Error::InvalidArgument(format!(
                "host-meta origin {origin:?} is not an http(s):// URL"
            )));
        }
        if plain && !self.allow_plaintext {
            return Err(Error::InvalidArgument(format!(
                "host-meta origin {origin:?} is plaintext: allow_plaintext is off"
            )));
        }
        Ok(origin)
    }

    fn agent(&self) -> Result<ureq::Agent> {
        let tls = crate::http_tls::tls_config(self.ca_file.as_deref(), self.accept_invalid_certs)?;
        let config = ureq::Agent::config_builder()
            .tls_config(tls)
            .https_only(!self.allow_plaintext)
            .max_redirects(MAX_REDIRECTS)
            .http_status_as_error(false)
            .user_agent(concat!("epode/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(config.into())
    }
}

/// One document's body, within what is left of the lookup's time.
fn fetch(agent: &ureq::Agent, url: &str, deadline: std::time::Instant) -> Result<String> {
    let left = deadline.saturating_duration_since(std::time::Instant::now());
    if left.is_zero() {
        return Err(Error::Timeout(format!("host-meta: no time left for {url}")));
    }
    let failed = |e: ureq::Error| match e {
        ureq::Error::Timeout(_) => Error::Timeout(format!("{url}: {e}")),
        ureq::Error::Io(io) => Error::io_from(format!("{url}: {io}"), io),
        ureq::Error::NativeTls(tls) => Error::tls_from(format!("{url}: {tls}"), tls),
        ureq::Error::Tls(why) => Error::Tls {
            message: format!("{url}: {why}"),
            source: None,
        },
        e => Error::io_caused(format!("{url}: {e}"), None, e),
    };
    let mut response = agent
        .get(url)
        .config()
        .timeout_global(Some(left))
        .build()
        .call()
        .map_err(failed)?;
    if response.status() != 200 {
        return Err(Error::io(format!(
            "{url}: HTTP {}",
            response.status().as_u16()
        )));
    }
    response
        .body_mut()
        .with_config()
        .limit(MAX_DOCUMENT)
        .read_to_string()
        .map_err(failed)
}

/// The connection methods of an XRD document (`/.well-known/host-meta`).
pub fn parse_xrd(body: &str, allow_plaintext: bool) -> Result<ConnectionMethods> {
    let bad = |why: String| Error::io(format!("host-meta: {why}"));
    let root: Element = parse_received(body).map_err(|e| bad(e.to_string()))?;
    if root.name() != "XRD" || root.attr("xmlns") != Some(NS_XRD) {
        return Err(bad(format!("the root is <{}>, not an XRD", root.name())));
    }
    let mut found = ConnectionMethods::default();
    for link in root.child_elements().filter(|e| e.name() == "Link") {
        if let (Some(rel), Some(href)) = (link.attr("rel"), link.attr("href")) {
            found.add(rel, href, allow_plaintext);
        }
    }
    Ok(found)
}

/// The connection methods of a JRD document (`/.well-known/host-meta.json`).
pub fn parse_jrd(body: &str, allow_plaintext: bool) -> Result<ConnectionMethods> {
    let bad = |why: String| Error::io(format!("host-meta.json: {why}"));
    let root: serde_json::Value = serde_json::from_str(body).map_err(|e| bad(e.to_string()))?;
    let links = match root.get("links") {
        None => &[][..],
        Some(serde_json::Value::Array(links)) => links.as_slice(),
        Some(_) => return Err(bad("\"links\" is not an array".into())),
    };
    let mut found = ConnectionMethods::default();
    for link in links {
        let text = |key| link.get(key).and_then(serde_json::Value::as_str);
        if let (Some(rel), Some(href)) = (text("rel"), text("href")) {
            found.add(rel, href, allow_plaintext);
        }
    }
    Ok(found)
}
