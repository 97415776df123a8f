//! Where to connect for an XMPP domain: DNS SRV discovery of client
//! endpoints (RFC 6120 §3.2, XEP-0368 for direct TLS) and the addresses of
//! an endpoint's host; and, in `host_meta.rs`, the domain's WebSocket and
//! BOSH URLs from its host-meta ([`HostMeta`], XEP-0156). A module of its own so that the TCP transport's
//! connect thread asks one question ("where do I try, in order?") and the
//! ordering rules (RFC 2782) are tested apart from any socket.
//!
//! The lookups go through the system's libresolv (`resolv.rs`), which
//! honours resolv.conf; [`Resolver::dns_server`] points them at one server
//! instead (a test's, on loopback). Nothing here logs. Linux with glibc.
//!
//! # Which endpoints, in which order
//!
//! - Each service's SRV records are sorted by priority, and within one
//!   priority picked by weight at random as RFC 2782 says: the records of
//!   weight 0 first in the list, then a uniform number from 0 to the sum of
//!   the weights, inclusive, selects the first record whose running sum
//!   reaches it. So a record of weight 0 keeps a small chance
//!   (1 in sum + 1) of coming first, as the RFC intends.
//! - A service whose records are only the target "." is decidedly not
//!   offered: it gives no endpoint, and no fallback.
//! - [`Services::Both`] merges the two lists by priority; at equal
//!   priority the direct-TLS (`_xmpps-client`) endpoints come first
//!   (XEP-0368 §3).
//! - Fallback, when a service's lookup finds no records at all (NXDOMAIN or
//!   no SRV records): `_xmpp-client` (with [`Services::Both`] or
//!   [`Services::StartTls`]) gives (domain, 5222, STARTTLS) as RFC 6120
//!   §3.2.2 says; [`Services::DirectTls`] alone gives (domain, 5223,
//!   direct TLS). With [`Services::Both`] only the `_xmpp-client` lookup
//!   decides the fallback; `_xmpps-client` having no records adds nothing.
//! - A failed lookup (timeout, SERVFAIL, an unreachable server) is an error
//!   only when it leaves no endpoint: with [`Services::Both`], records or
//!   the fallback of the other service are returned and the failure is
//!   dropped. A failed lookup never falls back, since the records may
//!   exist.
//! - A domain that is an IP literal has no SRV records: it gets the
//!   fallback without a lookup.
//!
//! # Example
//!
//! ```no_run
//! use epode::discovery::{Resolver, Services};
//!
//! let resolver = Resolver::new();
//! for endpoint in resolver.client_endpoints("example.com", Services::Both)? {
//!     for addr in resolver.addresses(&endpoint.host, endpoint.port)? {
//!         // connect to addr; TLS at once if endpoint.direct_tls, else STARTTLS
//!         # let _ = addr;
//!     }
//! }
//! # Ok::<(), epode::Error>(())
//! ```

mod host_meta;
mod resolv;
#[cfg(test)]
mod tests;

use crate::Error;
pub use host_meta::{parse_jrd, parse_xrd, ConnectionMethods, HostMeta, REL_BOSH, REL_WEBSOCKET};
use resolv::{Failure, Rr, Server};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// One place to try, in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// The host name (or IP literal) to resolve with [`Resolver::addresses`].
    pub host: String,
    /// The TCP port.
    pub port: u16,
    /// XEP-0368: TLS from the first byte (else STARTTLS).
    pub direct_tls: bool,
}

/// Which SRV services to look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Services {
    /// Both, merged (a bare JID): `_xmpps-client._tcp` and `_xmpp-client._tcp`.
    Both,
    /// `_xmpp-client._tcp` only (`tcp://domain`).
    StartTls,
    /// `_xmpps-client._tcp` only (`tls://domain`).
    DirectTls,
}

/// The port of RFC 6120's fallback (STARTTLS).
pub const FALLBACK_PORT: u16 = 5222;
/// The port of the direct-TLS fallback (XEP-0368's customary 5223).
pub const FALLBACK_DIRECT_TLS_PORT: u16 = 5223;

/// Where to resolve: the system's resolver (resolv.conf), or one DNS
/// server (a test's, on loopback). [`Resolver::default`] is the system's,
/// with a timeout of 5 s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolver {
    dns_server: Option<SocketAddr>,
    timeout: Duration,
}

impl Default for Resolver {
    fn default() -> Resolver {
        Resolver {
            dns_server: None,
            timeout: Duration::from_secs(5),
        }
    }
}

impl Resolver {
    /// The system's resolver (resolv.conf's servers), timeout 5 s.
    pub fn new() -> Resolver {
        Resolver::default()
    }

    /// Asks only this DNS server, over UDP (TCP for a truncated answer).
    /// Only IPv4 servers are supported: the lookups refuse an IPv6 one with
    /// [`Error::InvalidArgument`].
    pub fn dns_server(mut self, server: SocketAddr) -> Resolver {
        self.dns_server = Some(server);
        self
    }

    /// How long one call may wait for DNS, about (the lookups of one call
    /// run at once). glibc counts in whole seconds: the timeout is rounded
    /// up to one, and shared among resolv.conf's servers, one try each
    /// (resolv.conf's own `timeout:` and `attempts:` give way). Zero is refused
    /// by the lookups with [`Error::InvalidArgument`]. It does not bound
    /// [`Resolver::addresses`] without a DNS server, which asks
    /// getaddrinfo (resolv.conf's own timeouts apply there).
    pub fn timeout(mut self, timeout: Duration) -> Resolver {
        self.timeout = timeout;
        self
    }

    /// The endpoints for `domain`, in the order to try them (the rules are
    /// in the [module's documentation](self)).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a name that cannot be a domain (empty,
    /// a label over 63 bytes or the whole over 253, a NUL, a space …) or an
    /// unsupported resolver setting; [`Error::Timeout`] or [`Error::Io`]
    /// when the lookups failed and left no endpoint; [`Error::Io`] with
    /// [`std::io::ErrorKind::NotFound`] when the domain says ("." targets)
    /// that it offers none of the services asked for.
    pub fn client_endpoints(
        &self,
        domain: &str,
        services: Services,
    ) -> Result<Vec<Endpoint>, Error> {
        let server = self.server()?;
        if let Some(ip) = ip_literal(domain) {
            return Ok(vec![fallback(&ip.to_string(), services)]);
        }
        let domain = dns_name(domain)?;
        let lookup = |direct_tls: bool| {
            let service = if direct_tls {
                "_xmpps-client._tcp"
            } else {
                "_xmpp-client._tcp"
            };
            srv(server, &format!("{service}.{domain}"))
        };
        let (direct, starttls) = match services {
            Services::Both => {
                let (direct, starttls) = both(|| lookup(true), || lookup(false));
                (Some(direct), Some(starttls))
            }
            Services::StartTls => (None, Some(lookup(false))),
            Services::DirectTls => (Some(lookup(true)), None),
        };
        decide(&domain, services, direct, starttls, &mut random_upto)
    }

    /// Addresses of an endpoint's host (A and AAAA), through the same
    /// server; an IP literal (`::1`, `[::1]`, `127.0.0.1`) as is, without
    /// DNS. Without a DNS server this is getaddrinfo (/etc/hosts, nsswitch);
    /// with one, its AAAA records come before its A records.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a bad host name or resolver setting;
    /// [`Error::Io`] with [`std::io::ErrorKind::NotFound`] when the host
    /// has no address; [`Error::Timeout`] or [`Error::Io`] when the lookups
    /// failed and found none.
    pub fn addresses(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
        let server = self.server()?;
        if let Some(ip) = ip_literal(host) {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let name = dns_name(host)?;
        if server.addr.is_none() {
            return (name.as_str(), port)
                .to_socket_addrs()
                .map(Iterator::collect)
                .map_err(|e| Error::io_from(format!("resolving {name}: {e}"), e));
        }
        let ask = |rtype| match resolv::query(server, &name, rtype) {
            Ok(rrs) => Ok(rrs),
            Err(Failure::NoRecords) => Ok(Vec::new()),
            Err(Failure::Failed(e)) => Err(e),
        };
        let (v6, v4) = both(|| ask(resolv::T_AAAA), || ask(resolv::T_A));
        let mut out: Vec<SocketAddr> = [&v6, &v4]
            .into_iter()
            .flat_map(|found| found.iter().flatten())
            .filter_map(|rr| match rr {
                Rr::A(ip) => Some(SocketAddr::new(IpAddr::V4(*ip), port)),
                Rr::Aaaa(ip) => Some(SocketAddr::new(IpAddr::V6(*ip), port)),
                Rr::Srv { .. } => None,
            })
            .collect();
        out.dedup();
        if !out.is_empty() {
            return Ok(out);
        }
        v6.and(v4).and(Err(Error::Io {
            message: format!("{name} has no address (A or AAAA)"),
            kind: Some(std::io::ErrorKind::NotFound),
            source: None,
        }))
    }

    /// The settings as the lookups use them, checked.
    fn server(&self) -> Result<Server, Error> {
        let addr = match self.dns_server {
            None => None,
            Some(SocketAddr::V4(addr)) => Some(addr),
            Some(SocketAddr::V6(addr)) => {
                return Err(Error::InvalidArgument(format!(
                    "DNS server {addr}: only IPv4 DNS servers are supported"
                )))
            }
        };
        if self.timeout.is_zero() {
            return Err(Error::InvalidArgument("a DNS timeout of zero".into()));
        }
        Ok(Server {
            addr,
            timeout: self.timeout,
        })
    }
}

/// Runs `a` on a thread of its own and `b` here, so that two lookups wait
/// out one timeout, not two; one after the other if no thread can be had.
fn both<A: Send, B>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B) -> (A, B) {
    // Shared, so that `a` is still here to run if the thread is refused.
    let a = std::sync::Mutex::new(Some(a));
    let run_a = || {
        let a = a.lock().unwrap_or_else(|p| p.into_inner()).take();
        a.expect("run once")()
    };
    std::thread::scope(|s| {
        match std::thread::Builder::new()
            .name("epode-dns".into())
            .spawn_scoped(s, run_a)
        {
            Ok(handle) => {
                let b = b();
                let a = handle
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p));
                (a, b)
            }
            Err(_) => (run_a(), b()),
        }
    })
}

/// One SRV record.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Srv {
    priority: u16,
    weight: u16,
    port: u16,
    target: String,
}

/// What one service's lookup found.
#[derive(Debug)]
enum Found {
    /// Its usable records.
    Records(Vec<Srv>),
    /// Only "." targets: decidedly not offered.
    Refused,
    /// No records at all.
    Nothing,
    /// The lookup failed.
    Failed(Error),
}

fn srv(server: Server, name: &str) -> Found {
    let rrs = match resolv::query(server, name, resolv::T_SRV) {
        Ok(rrs) => rrs,
        Err(Failure::NoRecords) => return Found::Nothing,
        Err(Failure::Failed(e)) => return Found::Failed(e),
    };
    found(rrs.into_iter().filter_map(|rr| match rr {
        Rr::Srv {
            priority,
            weight,
            port,
            target,
        } => Some(Srv {
            priority,
            weight,
            port,
            target,
        }),
        _ => None,
    }))
}

/// Sorts a lookup's records into what it found. A "." target says "not
/// here", and a target that is no host name (dn_expand prints odd bytes
/// as `\DDD`) could not be connected to: neither is an endpoint.
fn found(records: impl IntoIterator<Item = Srv>) -> Found {
    let mut any = false;
    let usable: Vec<Srv> = records
        .into_iter()
        .inspect(|_| any = true)
        .filter_map(|mut r| {
            r.target = dns_name(&r.target).ok()?;
            Some(r)
        })
        .collect();
    match (any, usable.is_empty()) {
        (false, _) => Found::Nothing,
        (true, true) => Found::Refused,
        (true, false) => Found::Records(usable),
    }
}

/// The endpoints from what the lookups found (the module's rules);
/// `pick(n)` is a uniform random number in `0..=n`.
fn decide(
    domain: &str,
    services: Services,
    direct: Option<Found>,
    starttls: Option<Found>,
    pick: &mut impl FnMut(u32) -> u32,
) -> Result<Vec<Endpoint>, Error> {
    let mut endpoints: Vec<(u16, bool, Endpoint)> = Vec::new();
    let mut failure = None;
    let mut nothing = [false; 2]; // [direct, starttls]
    for (found, direct_tls) in [(direct, true), (starttls, false)] {
        match found {
            None | Some(Found::Refused) => {}
            Some(Found::Records(records)) => {
                endpoints.extend(ordered(records, pick).into_iter().map(|r| {
                    let endpoint = Endpoint {
                        host: r.target,
                        port: r.port,
                        direct_tls,
                    };
                    (r.priority, !direct_tls, endpoint)
                }))
            }
            Some(Found::Nothing) => nothing[usize::from(!direct_tls)] = true,
            Some(Found::Failed(e)) => {
                failure.get_or_insert(e);
            }
        }
    }
    // Stable: each list keeps its weighted order within a priority, and
    // direct TLS (false sorts first) goes before STARTTLS.
    endpoints.sort_by_key(|(priority, starttls, _)| (*priority, *starttls));
    if !endpoints.is_empty() {
        return Ok(endpoints.into_iter().map(|(_, _, e)| e).collect());
    }
    let falls_back = match services {
        Services::Both | Services::StartTls => nothing[1],
        Services::DirectTls => nothing[0],
    };
    if falls_back {
        return Ok(vec![fallback(domain, services)]);
    }
    Err(failure.unwrap_or_else(|| Error::Io {
        message: format!(
            "{domain} offers no XMPP client service here (SRV target \".\", or none usable)"
        ),
        kind: Some(std::io::ErrorKind::NotFound),
        source: None,
    }))
}

/// The endpoint to try when DNS has no records for the service.
fn fallback(domain: &str, services: Services) -> Endpoint {
    let direct_tls = services == Services::DirectTls;
    Endpoint {
        host: domain.to_owned(),
        port: if direct_tls {
            FALLBACK_DIRECT_TLS_PORT
        } else {
            FALLBACK_PORT
        },
        direct_tls,
    }
}

/// RFC 2782's order: by priority, and within a priority by weighted random
/// selection, the records of weight 0 first in the list each round.
/// `pick(n)` must return a number in `0..=n` (larger is taken as `n`).
fn ordered(mut records: Vec<Srv>, pick: &mut impl FnMut(u32) -> u32) -> Vec<Srv> {
    records.sort_by_key(|r| r.priority);
    let mut out = Vec::with_capacity(records.len());
    for group in records.chunk_by(|a, b| a.priority == b.priority) {
        let mut left: Vec<&Srv> = group.iter().filter(|r| r.weight == 0).collect();
        left.extend(group.iter().filter(|r| r.weight != 0));
        while !left.is_empty() {
            let sum: u32 = left.iter().map(|r| u32::from(r.weight)).sum();
            let chosen = pick(sum).min(sum);
            let mut running = 0;
            let at = left
                .iter()
                .position(|r| {
                    running += u32::from(r.weight);
                    running >= chosen
                })
                .unwrap_or(left.len() - 1);
            out.push(left.remove(at).clone());
        }
    }
    out
}

/// A uniform random number in `0..=n` from the crate's OS randomness. Only
/// load spreading depends on it: if the OS has none, 0 (the list's order).
fn random_upto(n: u32) -> u32 {
    let mut bytes = [0u8; 8];
    if crate::sasl::random::fill(&mut bytes).is_err() {
        return 0;
    }
    // The modulo's bias is below 2^-32 for any n < 2^32.
    (u64::from_ne_bytes(bytes) % (u64::from(n) + 1)) as u32
}

/// `host` as an IP address, if it is one (an IPv6 one with or without
/// brackets).
fn ip_literal(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

/// A host for a URL: an IP literal (IPv6 in brackets) or a DNS name.
fn host_name(host: &str) -> Result<String, Error> {
    match ip_literal(host) {
        Some(IpAddr::V6(ip)) => Ok(format!("[{ip}]")),
        Some(ip) => Ok(ip.to_string()),
        None => dns_name(host),
    }
}

/// `name` as DNS wants it: ASCII (IDNA for a Unicode name), without the
/// final dot, each label 1 to 63 bytes of letters, digits, '-' or '_',
/// 253 bytes in all at most.
fn dns_name(name: &str) -> Result<String, Error> {
    let bad = |why: &str| Error::InvalidArgument(format!("{name:?} is not a domain name: {why}"));
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return Err(bad("empty"));
    }
    let ascii = if trimmed.is_ascii() {
        trimmed.to_owned()
    } else {
        idna::domain_to_ascii_strict(trimmed).map_err(|_| bad("not a valid IDNA name"))?
    };
    if ascii.len() > 253 {
        return Err(bad("longer than 253 bytes"));
    }
    for label in ascii.split('.') {
        if label.is_empty() {
            return Err(bad("an empty label"));
        }
        if label.len() > 63 {
            return Err(bad("a label longer than 63 bytes"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(bad("a character other than a letter, digit, '-' or '_'"));
        }
    }
    Ok(ascii)
}
