//! Opening a TCP connection (with a deadline) and TLS on top of it, with
//! certificates verified unless the application explicitly said otherwise.

use super::handshake_line::HandshakeLine;
use crate::error::{Error, Result};
use crate::mailbox::poll_fds;
use crate::options::Options;
use native_tls::{Certificate, Identity, TlsConnector};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
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

/// Connects to host:port, trying each address until `deadline`; `line`
/// can cut it (and what follows on the socket).
pub fn connect_tcp(
    host: &str,
    port: u16,
    deadline: Instant,
    line: &HandshakeLine,
) -> Result<TcpStream> {
    connect_any(host, &resolve(host, port)?, deadline, line)
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
pub fn connect_any(
    host: &str,
    addrs: &[SocketAddr],
    deadline: Instant,
    line: &HandshakeLine,
) -> Result<TcpStream> {
    let mut last = Error::io(format!("{host} has no address"));
    for (i, addr) in addrs.iter().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout(format!("connecting to {host}")));
        }
        let share = left / (addrs.len() - i) as u32;
        match connect_one(addr, Instant::now() + share, line) {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(e) if line.aborted() => {
                return Err(Error::io_from(format!("connecting to {addr}: {e}"), e))
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                last = Error::Timeout(format!("connecting to {addr}"));
            }
            Err(e) => last = Error::io_from(format!("connecting to {addr}: {e}"), e),
        }
    }
    Err(last)
}

/// Connects to `addr` before `until`, blocking. The socket is on `line`
/// from the start: cutting the line ends even a connect that no SYN-ACK
/// answers (shutdown() of a connecting socket aborts it and wakes poll()),
/// which std's `connect_timeout` could not offer.
fn connect_one(
    addr: &SocketAddr,
    until: Instant,
    line: &HandshakeLine,
) -> std::io::Result<TcpStream> {
    use std::io::{Error as IoError, ErrorKind};
    let family = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    let kind = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: a plain syscall; the new descriptor is owned by `stream` below.
    let fd = unsafe { libc::socket(family, kind, 0) };
    if fd < 0 {
        return Err(IoError::last_os_error());
    }
    // SAFETY: fd is a socket just made, owned by nobody else.
    let stream = unsafe { TcpStream::from_raw_fd(fd) };
    line.attach(&stream)
        .map_err(|e| IoError::new(ErrorKind::ConnectionAborted, e.to_string()))?;
    let (address, len) = sockaddr(addr);
    // SAFETY: `address` holds a socket address of `len` bytes.
    let rc = unsafe { libc::connect(fd, (&address as *const libc::sockaddr_storage).cast(), len) };
    if rc != 0 {
        let e = IoError::last_os_error();
        if e.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(e);
        }
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(IoError::new(ErrorKind::TimedOut, "no answer in time"));
            }
            // EINTR reports nothing ready: look again.
            if poll_fds(&[(fd, libc::POLLOUT)], Some(left))?[0] != 0 {
                break;
            }
        }
        if line.aborted() {
            return Err(IoError::new(
                ErrorKind::ConnectionAborted,
                "the connection attempt was abandoned",
            ));
        }
        if let Some(e) = stream.take_error()? {
            return Err(e);
        }
    }
    stream.set_nonblocking(false)?;
    Ok(stream)
}

/// `addr` as the C socket address connect() takes.
fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all zeroes is a valid (empty) socket address of any kind.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: zeroes are a valid sockaddr_in; its fields are set below.
            let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
            // SAFETY: sockaddr_storage is larger than, and aligned for, sockaddr_in.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: zeroes are a valid sockaddr_in6; its fields are set below.
            let mut sin6: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_flowinfo = a.flowinfo();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            sin6.sin6_scope_id = a.scope_id();
            // SAFETY: sockaddr_storage is larger than, and aligned for, sockaddr_in6.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
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

    /// A listener whose accept queue is full: the kernel drops further
    /// SYNs, so a connect to it waits, as to a host that swallows them.
    fn swallowing_listener() -> (std::net::TcpListener, SocketAddr, Vec<TcpStream>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        // SAFETY: listen() on our own listening socket, to shrink its queue.
        assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
        let addr = listener.local_addr().unwrap();
        // One connection fills a queue of 0; a few more make sure.
        let fillers = (0..3)
            .filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok())
            .collect();
        (listener, addr, fillers)
    }

    #[test]
    fn a_connect_nobody_answers_ends_at_its_deadline_or_at_once_when_cut() {
        let (_listener, addr, _fillers) = swallowing_listener();
        let started = Instant::now();
        let line = HandshakeLine::default();
        let e = connect_any("test", &[addr], started + Duration::from_millis(500), &line)
            .expect_err("nobody answers");
        let took = started.elapsed();
        assert!(matches!(e, Error::Timeout(_)), "{e}");
        assert!(
            took >= Duration::from_millis(450) && took < Duration::from_secs(3),
            "{took:?}"
        );

        let line = HandshakeLine::default();
        let cutter = line.clone();
        let started = Instant::now();
        let connecting = std::thread::spawn(move || {
            connect_any(
                "test",
                &[addr],
                Instant::now() + Duration::from_secs(20),
                &line,
            )
        });
        std::thread::sleep(Duration::from_millis(200));
        cutter.abort();
        let e = connecting.join().unwrap().expect_err("cut");
        let took = started.elapsed();
        assert!(took < Duration::from_secs(2), "cut after {took:?}: {e}");
        assert!(e.to_string().contains("abandoned"), "{e}");
    }

    #[test]
    fn connects_over_ipv4_and_ipv6() {
        for host in ["127.0.0.1", "::1"] {
            let Ok(listener) = std::net::TcpListener::bind((host, 0)) else {
                // A machine without IPv6 on loopback: only ::1 may be missing.
                assert_eq!(host, "::1", "no {host} listener");
                continue;
            };
            let addr = listener.local_addr().unwrap();
            let line = HandshakeLine::default();
            let tcp = connect_any(
                host,
                &[addr],
                Instant::now() + Duration::from_secs(5),
                &line,
            )
            .unwrap();
            let (accepted, peer) = listener.accept().unwrap();
            assert_eq!(peer, tcp.local_addr().unwrap());
            assert_eq!(accepted.local_addr().unwrap(), tcp.peer_addr().unwrap());
        }
        // Refused: the error says so, at once.
        let free = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let line = HandshakeLine::default();
        let e = connect_any(
            "test",
            &[free],
            Instant::now() + Duration::from_secs(5),
            &line,
        )
        .expect_err("refused");
        assert!(e.to_string().contains("refused"), "{e}");
    }

    #[test]
    fn keepalive_matches_the_liveness_check() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let deadline = Instant::now() + Duration::from_secs(5);
        let on = connect_tcp("127.0.0.1", port, deadline, &HandshakeLine::default()).unwrap();
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
        let off = connect_tcp("127.0.0.1", port, deadline, &HandshakeLine::default()).unwrap();
        set_keepalive(&off, Duration::ZERO, Duration::from_secs(10)).unwrap();
        assert_eq!(
            getsockopt(off.as_raw_fd(), libc::SOL_SOCKET, libc::SO_KEEPALIVE),
            0
        );
    }
}
