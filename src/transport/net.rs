//! Opening a TCP connection (with a deadline) and TLS on top of it, with
//! certificates verified unless the application explicitly said otherwise.

use crate::error::{Error, Result};
use crate::options::Options;
use native_tls::{Certificate, Identity, TlsConnector};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;
use std::sync::Mutex;
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
    connect_any(host, &resolve(host, port)?, deadline)
}

/// The addresses of host:port (the system's resolver; an IP address as
/// is): at least one, or an error.
pub fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| Error::io_from(format!("cannot resolve {host}: {e}"), e))?
        .collect();
    if addrs.is_empty() {
        return Err(Error::io(format!("{host} has no address")));
    }
    Ok(addrs)
}

/// Connects to the first of `addrs` that answers. Each address gets an
/// equal share of the time left, so that one that swallows SYNs (a dead
/// host, a firewall) cannot eat the time of those after it.
pub fn connect_any(host: &str, addrs: &[SocketAddr], deadline: Instant) -> Result<TcpStream> {
    let mut last = Error::io(format!("{host} has no address"));
    for (i, addr) in addrs.iter().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout(format!("connecting to {host}")));
        }
        let share = left / (addrs.len() - i) as u32;
        match TcpStream::connect_timeout(addr, share.max(Duration::from_millis(1))) {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                last = Error::Timeout(format!("connecting to {addr}"));
            }
            Err(e) => last = Error::io_from(format!("connecting to {addr}: {e}"), e),
        }
    }
    Err(last)
}

/// Keepalive probes the kernel sends before it gives a silent link up.
const KEEPALIVE_PROBES: u32 = 3;

/// TCP keepalive matched to the liveness check: the kernel's first probe
/// after `idle` without traffic, the link given up `timeout` later
/// (TCP_USER_TIMEOUT bounds unacknowledged output the same way, instead
/// of the ~15 minutes of retransmissions). It catches what the engine's
/// check cannot see (the phases before and after a session) but only to
/// the nearest TCP peer: a proxy in front of the server answers for it,
/// so the engine still asks the server itself. A zero `idle` leaves the
/// socket as it is.
pub fn set_keepalive(stream: &TcpStream, idle: Duration, timeout: Duration) -> Result<()> {
    if idle.is_zero() {
        return Ok(());
    }
    let secs = |d: Duration| d.as_secs().clamp(1, i32::MAX as u64) as libc::c_int;
    let probe_every = secs(timeout / KEEPALIVE_PROBES);
    let user_timeout = (idle + timeout).as_millis().min(u32::MAX as u128) as libc::c_uint;
    let fd = stream.as_raw_fd();
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1)?;
    setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, secs(idle))?;
    setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, probe_every)?;
    setsockopt(
        fd,
        libc::IPPROTO_TCP,
        libc::TCP_KEEPCNT,
        KEEPALIVE_PROBES as libc::c_int,
    )?;
    setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT, user_timeout)
}

fn setsockopt<T: Copy>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: T) -> Result<()> {
    // SAFETY: `value` lives for the call and its size is passed with it.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        let e = std::io::Error::last_os_error();
        Err(Error::io_from(
            format!("setsockopt({level}, {name}): {e}"),
            e,
        ))
    }
}

/// The TLS settings of a connection: the system's roots, or exactly the CA
/// in `ca_file` when one is given (as curl's --cacert; BOSH does the same);
/// verification off only with `accept_invalid_certs`; the client
/// certificate of `client_cert`/`client_key` (SASL EXTERNAL); and the ALPN
/// protocols to offer (XEP-0368's `xmpp-client` on direct TLS).
///
/// Building a connector makes OpenSSL read the system's whole CA bundle
/// (twice, even when only `ca_file` is trusted): ~50 ms of a login and
/// ~170 KB of every connection's memory here. So a connector is built once
/// per configuration and shared (it is a reference-counted SSL_CTX, safe
/// across threads); the files are read each time, so a changed file gets
/// a new one.
pub fn tls_connector(options: &Options, alpn: &[&str]) -> Result<TlsConnector> {
    type Built = (TlsSettings, TlsConnector);
    static BUILT: Mutex<Vec<Built>> = Mutex::new(Vec::new());
    const KEEP: usize = 16;
    let settings = TlsSettings::of(options, alpn)?;
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, connector)) = built.iter().find(|(s, _)| *s == settings) {
        return Ok(connector.clone());
    }
    let connector = settings.build()?;
    if built.len() == KEEP {
        built.remove(0);
    }
    built.push((settings, connector.clone()));
    Ok(connector)
}

/// What a connector is built from.
#[derive(PartialEq, Eq)]
struct TlsSettings {
    /// The PEM of `ca_file` and its path (for the error messages).
    ca: Option<(Vec<u8>, PathBuf)>,
    accept_invalid: bool,
    identity: Option<(Vec<u8>, Vec<u8>)>,
    alpn: Vec<String>,
}

impl TlsSettings {
    fn of(options: &Options, alpn: &[&str]) -> Result<TlsSettings> {
        let ca = match &options.ca_file {
            Some(path) => Some((read_pem("ca_file", path)?, path.clone())),
            None => None,
        };
        let identity = match (&options.client_cert, &options.client_key) {
            (Some(cert), Some(key)) => {
                Some((read_pem("client_cert", cert)?, read_pem("client_key", key)?))
            }
            (None, None) => None,
            _ => {
                return Err(Error::InvalidArgument(
                    "client_cert and client_key go together: set both or neither".into(),
                ))
            }
        };
        Ok(TlsSettings {
            ca,
            accept_invalid: options.accept_invalid_certs,
            identity,
            alpn: alpn.iter().map(|a| a.to_string()).collect(),
        })
    }

    fn build(&self) -> Result<TlsConnector> {
        let mut builder = TlsConnector::builder();
        if let Some((pem, path)) = &self.ca {
            let cert = Certificate::from_pem(pem).map_err(|e| {
                Error::tls_from(
                    format!("ca_file {} is not a PEM certificate: {e}", path.display()),
                    e,
                )
            })?;
            builder.add_root_certificate(cert);
            builder.disable_built_in_roots(true);
        }
        if self.accept_invalid {
            builder.danger_accept_invalid_certs(true);
        }
        if let Some((cert, key)) = &self.identity {
            let identity = Identity::from_pkcs8(cert, key)
                .map_err(|e| Error::tls_from(format!("client_cert/client_key: {e}"), e))?;
            builder.identity(identity);
        }
        if !self.alpn.is_empty() {
            let alpn: Vec<&str> = self.alpn.iter().map(String::as_str).collect();
            builder.request_alpns(&alpn);
        }
        builder
            .build()
            .map_err(|e| Error::tls_from(e.to_string(), e))
    }
}

fn read_pem(option: &str, path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| Error::io_from(format!("cannot read {option} {}: {e}", path.display()), e))
}

/// `e`, or a timeout if the deadline has passed: a read that the socket
/// timeout ended is the login's time running out (CONNTIMEOUT), which must
/// not depend on whether the engine's own deadline fires first.
pub fn past(deadline: Instant, e: Error) -> Error {
    if Instant::now() >= deadline {
        Error::Timeout(format!("no answer in time ({e})"))
    } else {
        e
    }
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

    fn getsockopt(fd: RawFd, level: libc::c_int, name: libc::c_int) -> libc::c_int {
        let mut value: libc::c_int = -1;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: value and len are valid for the call.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                level,
                name,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        assert_eq!(rc, 0, "getsockopt({level}, {name})");
        value
    }

    #[test]
    fn keepalive_matches_the_liveness_check() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let deadline = Instant::now() + Duration::from_secs(5);
        let on = connect_tcp("127.0.0.1", port, deadline).unwrap();
        set_keepalive(&on, Duration::from_secs(60), Duration::from_secs(10)).unwrap();
        let fd = on.as_raw_fd();
        let tcp = libc::IPPROTO_TCP;
        assert_eq!(getsockopt(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE), 1);
        assert_eq!(getsockopt(fd, tcp, libc::TCP_KEEPIDLE), 60);
        assert_eq!(getsockopt(fd, tcp, libc::TCP_KEEPINTVL), 3);
        assert_eq!(getsockopt(fd, tcp, libc::TCP_KEEPCNT), 3);
        assert_eq!(getsockopt(fd, tcp, libc::TCP_USER_TIMEOUT), 70_000);
        // A probe interval never rounds down to 0 (the kernel refuses it).
        set_keepalive(&on, Duration::from_secs(1), Duration::from_secs(1)).unwrap();
        assert_eq!(getsockopt(fd, tcp, libc::TCP_KEEPINTVL), 1);
        // The check off: the socket keeps the system's defaults.
        let off = connect_tcp("127.0.0.1", port, deadline).unwrap();
        set_keepalive(&off, Duration::ZERO, Duration::from_secs(10)).unwrap();
        assert_eq!(
            getsockopt(off.as_raw_fd(), libc::SOL_SOCKET, libc::SO_KEEPALIVE),
            0
        );
    }
}
