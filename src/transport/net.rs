//! Opening a TCP connection (with a deadline) and TLS on top of it, with
//! certificates verified unless the application explicitly said otherwise.

use crate::error::{Error, Result};
use crate::options::Options;
use native_tls::{Certificate, TlsConnector};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Host, port and path of a ws/wss/http/https URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts {
    pub secure: bool,
    pub host: String,
    pub port: u16,
    pub path: String,
}

pub fn split_url(url: &str) -> Result<UrlParts> {
    let bad = || Error::InvalidArgument(format!("{url:?} is not a valid URL"));
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let secure = matches!(scheme, "wss" | "https");
    let default_port = if secure { 443 } else { 80 };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(bad)?;
        let port = after
            .strip_prefix(':')
            .map(str::parse)
            .transpose()
            .map_err(|_| bad())?;
        (host.to_string(), port.unwrap_or(default_port))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().map_err(|_| bad())?),
            None => (authority.to_string(), default_port),
        }
    };
    if host.is_empty() {
        return Err(bad());
    }
    Ok(UrlParts {
        secure,
        host,
        port,
        path: path.to_string(),
    })
}

/// Connects to host:port, trying each address until `deadline`.
pub fn connect_tcp(host: &str, port: u16, deadline: Instant) -> Result<TcpStream> {
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| Error::Io(format!("cannot resolve {host}: {e}")))?
        .collect();
    let mut last = Error::Io(format!("{host} has no address"));
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout(format!("connecting to {host}:{port}")));
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                last = Error::Timeout(format!("connecting to {addr}"));
            }
            Err(e) => last = Error::Io(format!("connecting to {addr}: {e}")),
        }
    }
    Err(last)
}

/// The TLS settings of a connection: the system's roots, or exactly the CA
/// in `ca_file` when one is given (as curl's --cacert; BOSH does the same);
/// verification off only with `accept_invalid_certs`.
pub fn tls_connector(options: &Options) -> Result<TlsConnector> {
    let mut builder = TlsConnector::builder();
    if let Some(path) = &options.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| Error::Io(format!("cannot read ca_file {}: {e}", path.display())))?;
        let cert = Certificate::from_pem(&pem).map_err(|e| {
            Error::Tls(format!(
                "ca_file {} is not a PEM certificate: {e}",
                path.display()
            ))
        })?;
        builder.add_root_certificate(cert);
        builder.disable_built_in_roots(true);
    }
    if options.accept_invalid_certs {
        builder.danger_accept_invalid_certs(true);
    }
    builder.build().map_err(|e| Error::Tls(e.to_string()))
}

/// Time left until `deadline`, at least a millisecond (socket timeouts of 0 mean "forever").
pub fn remaining(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split() {
        let u = split_url("wss://127.0.0.1:15225/xmpp-websocket").unwrap();
        assert_eq!(
            (u.secure, u.host.as_str(), u.port, u.path.as_str()),
            (true, "127.0.0.1", 15225, "/xmpp-websocket")
        );
        let u = split_url("http://example.com").unwrap();
        assert_eq!((u.secure, u.port, u.path.as_str()), (false, 80, "/"));
        let u = split_url("ws://[::1]:5280/ws").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 5280));
        assert!(split_url("ws://:80/").is_err());
        assert!(split_url("ws://h:notaport/").is_err());
        assert!(split_url("nothing").is_err());
    }
}
