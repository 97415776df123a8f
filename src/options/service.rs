//! Which transport a service URL selects (seed 003's rules): the worker
//! option first, then the URL's scheme or the `protocol` option, otherwise
//! BOSH, with a relative path resolved against `origin`. Beyond the seeds,
//! the native ones: `tcp://host[:port]` (STARTTLS), `tls://host[:port]`
//! (direct TLS, XEP-0368), and a bare domain or nothing at all: the
//! server found by DNS SRV from that domain or the JID's.

use super::Options;
use crate::error::{Error, Result};

/// Which transport a connection uses, with its absolute URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportKind {
    WebSocket {
        url: String,
    },
    Bosh {
        url: String,
    },
    Shared {
        worker: String,
        url: String,
    },
    /// RFC 6120 over TCP.
    Tcp {
        target: TcpTarget,
    },
}

/// Where a TCP connection goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpTarget {
    /// `tcp://host:port` (STARTTLS) or `tls://host:port` (direct TLS).
    Host {
        host: String,
        port: u16,
        direct_tls: bool,
    },
    /// The SRV records of `domain` (None: the JID's domain), then the
    /// domain itself: `tcp://domain` looks up only STARTTLS endpoints,
    /// `tls://domain` only direct TLS ones (`direct_tls`), a bare domain or
    /// an empty service both (None).
    Srv {
        domain: Option<String>,
        direct_tls: Option<bool>,
    },
}

/// The service string of a TCP target, as `service()` reports it.
impl std::fmt::Display for TcpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = |direct: bool| if direct { "tls" } else { "tcp" };
        match self {
            TcpTarget::Host {
                host,
                port,
                direct_tls,
            } if host.contains(':') => write!(f, "{}://[{host}]:{port}", scheme(*direct_tls)),
            TcpTarget::Host {
                host,
                port,
                direct_tls,
            } => write!(f, "{}://{host}:{port}", scheme(*direct_tls)),
            TcpTarget::Srv {
                domain,
                direct_tls: Some(direct),
            } => write!(
                f,
                "{}://{}",
                scheme(*direct),
                domain.as_deref().unwrap_or("")
            ),
            TcpTarget::Srv { domain, .. } => f.write_str(domain.as_deref().unwrap_or("")),
        }
    }
}

fn scheme_of(url: &str) -> Option<String> {
    let (scheme, _) = url.split_once("://")?;
    Some(scheme.to_ascii_lowercase())
}

/// Applies seed 003's rules: worker first, then ws/wss scheme or `protocol`,
/// otherwise BOSH. A relative path is resolved against `origin`, and an
/// https origin never downgrades (ws → wss, http → https).
pub fn select_transport(service: &str, options: &Options) -> Result<TransportKind> {
    if let Some(target) = tcp_target(service)? {
        if options.worker.is_some() {
            return Err(Error::InvalidArgument(format!(
                "the worker option needs a WebSocket service, not {service:?} (seed 000)"
            )));
        }
        return Ok(TransportKind::Tcp { target });
    }
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

/// The TCP target a service names, if it names one: a `tcp://` or
/// `tls://` URL (a port, or SRV for the host), a bare domain, or nothing.
fn tcp_target(service: &str) -> Result<Option<TcpTarget>> {
    let bad = |why: &str| Error::InvalidArgument(format!("service {service:?}: {why}"));
    let direct = match scheme_of(service).as_deref() {
        Some("tcp") => false,
        Some("tls") => true,
        Some(_) => return Ok(None),
        None if service.is_empty() => {
            return Ok(Some(TcpTarget::Srv {
                domain: None,
                direct_tls: None,
            }))
        }
        None if service.starts_with('/') => return Ok(None),
        None => {
            if service.contains(':') {
                return Err(bad("a host and port needs a scheme: tcp://host:port (STARTTLS) or tls://host:port (direct TLS)"));
            }
            return Ok(Some(TcpTarget::Srv {
                domain: Some(domain_name(service).map_err(&bad)?),
                direct_tls: None,
            }));
        }
    };
    let authority = service[6..].strip_suffix('/').unwrap_or(&service[6..]);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad("not an IPv6 address in [ ]"));
        }
        (host.to_string(), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (domain_name(h).map_err(&bad)?, Some(p)),
            None => (domain_name(authority).map_err(&bad)?, None),
        }
    };
    Ok(Some(match port {
        Some(p) => TcpTarget::Host {
            host,
            port: p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad("the port must be a number from 1 to 65535"))?,
            direct_tls: direct,
        },
        None if authority.starts_with('[') => TcpTarget::Host {
            host,
            port: if direct { 5223 } else { 5222 },
            direct_tls: direct,
        },
        None => TcpTarget::Srv {
            domain: Some(host),
            direct_tls: Some(direct),
        },
    }))
}

/// Where a `<see-other-host/>` points (RFC 6120 §4.9.3.19: an IPv4 or
/// IPv6 address or a domain, optionally with a port; without one, the
/// default port of the mode), in the TLS mode of the connection it ends.
pub(crate) fn tcp_redirect(to: &str, direct_tls: bool) -> Result<TcpTarget> {
    let scheme = if direct_tls { "tls" } else { "tcp" };
    let bracketed = match to.parse::<std::net::Ipv6Addr>() {
        Ok(_) => format!("[{to}]"),
        Err(_) => to.to_string(),
    };
    match tcp_target(&format!("{scheme}://{bracketed}"))? {
        Some(TcpTarget::Srv {
            domain: Some(host), ..
        }) => Ok(TcpTarget::Host {
            host,
            port: if direct_tls { 5223 } else { 5222 },
            direct_tls,
        }),
        Some(target @ TcpTarget::Host { .. }) => Ok(target),
        _ => Err(Error::InvalidArgument(format!("{to:?} is no host"))),
    }
}

/// A host name or IPv4 address as DNS takes it (RFC 1035 lengths, no
/// spaces, slashes or other characters a URL would give another meaning).
fn domain_name(name: &str) -> std::result::Result<String, &'static str> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return Err("no host");
    }
    if name.len() > 253 || name.split('.').any(|l| l.is_empty() || l.len() > 63) {
        return Err("not a valid host name (empty or over-long labels)");
    }
    let ok = |c: char| c.is_alphanumeric() || c == '-' || c == '.' || c == '_';
    if !name.chars().all(ok) {
        return Err("a host name has letters, digits, '-' and '.' only");
    }
    Ok(name.to_ascii_lowercase())
}

fn resolve_service(service: &str, options: &Options) -> Result<String> {
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
