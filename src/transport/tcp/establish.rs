//! Reaching an XMPP server over TCP, on the connect thread: the endpoints
//! to try (as given, or found by DNS SRV), a TCP connection with a share of
//! the time for each endpoint, then TLS, at once (XEP-0368, ALPN
//! `xmpp-client`) or after STARTTLS (RFC 6120 §5), the certificate always
//! verified for the JID's domain (RFC 6125; XEP-0368 §3 for SRV targets).
//! The plaintext exchange before STARTTLS happens here, so the engine
//! only sees the stream that carries the login.

use super::framing;
use super::link::Link;
use crate::discovery::{Endpoint, Resolver, Services};
use crate::error::{Error, Result};
use crate::options::{Options, TcpTarget};
use crate::transport::handshake_line::HandshakeLine;
use crate::transport::net::{connect_any, past, remaining, set_keepalive, tls_connector};
use crate::transport::Incoming;
use crate::xml::{ns, StreamEvent, StreamParser};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// XEP-0368 §3's ALPN protocol for direct TLS to a client port.
const ALPN: &str = "xmpp-client";

/// The most a DNS lookup may take of the login's time.
const DNS_TIMEOUT: Duration = Duration::from_secs(5);

/// RFC 6120 §5.4.2.1: the request to upgrade.
const STARTTLS: &str = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";

/// A connection ready for the engine.
pub(in crate::transport) struct Established {
    pub link: Link,
    /// The plaintext exchange before TLS, for the raw hooks
    /// (`Incoming::Raw` and `Incoming::RawOut`).
    pub prelude: Vec<Incoming>,
    /// Plaintext only: the stream is open already; the parser holds it and
    /// these events (the server's header and features, or its error) are
    /// the engine's to handle.
    pub opened: Option<(StreamParser, Vec<StreamEvent>)>,
}

/// Tries each endpoint of `target` in order until one gives a stream.
pub(super) fn establish(
    target: &TcpTarget,
    domain: &str,
    options: &Options,
    deadline: Instant,
    line: &HandshakeLine,
) -> Result<Established> {
    let resolver = resolver(options, deadline);
    let endpoints = endpoints(target, domain, &resolver)?;
    let mut failures: Vec<(String, Error)> = Vec::new();
    for (i, endpoint) in endpoints.iter().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        // An equal share of what is left, so a dead endpoint cannot eat
        // the time of those after it; the last one gets all the rest.
        let until = Instant::now() + left / (endpoints.len() - i) as u32;
        match attempt(endpoint, &resolver, domain, options, until, line) {
            Ok(established) => return Ok(established),
            Err(e) => failures.push((format!("{}:{}", endpoint.host, endpoint.port), e)),
        }
    }
    Err(summary(domain, failures))
}

/// The endpoints of `target`, in the order to try them.
fn endpoints(target: &TcpTarget, domain: &str, resolver: &Resolver) -> Result<Vec<Endpoint>> {
    match target {
        TcpTarget::Host {
            host,
            port,
            direct_tls,
        } => Ok(vec![Endpoint {
            host: host.clone(),
            port: *port,
            direct_tls: *direct_tls,
        }]),
        TcpTarget::Srv {
            domain: named,
            direct_tls,
        } => {
            let services = match direct_tls {
                None => Services::Both,
                Some(false) => Services::StartTls,
                Some(true) => Services::DirectTls,
            };
            resolver.client_endpoints(named.as_deref().unwrap_or(domain), services)
        }
    }
}

/// The resolver for this attempt: the system's or `dns_server`, waiting
/// no longer than the login may (and no longer than DNS's usual 5 s).
fn resolver(options: &Options, deadline: Instant) -> Resolver {
    let left = deadline.saturating_duration_since(Instant::now());
    let resolver = Resolver::new().timeout(left.clamp(Duration::from_millis(1), DNS_TIMEOUT));
    match options.dns_server {
        Some(server) => resolver.dns_server(server),
        None => resolver,
    }
}

/// What went wrong with every endpoint, as one error: the only one as it
/// is; several joined, a timeout only when every endpoint timed out.
fn summary(domain: &str, mut failures: Vec<(String, Error)>) -> Error {
    if failures.len() == 1 {
        return failures.remove(0).1;
    }
    if failures.is_empty() {
        return Error::Timeout(format!("no time left to reach {domain}"));
    }
    let all_timeouts = failures.iter().all(|(_, e)| matches!(e, Error::Timeout(_)));
    let text = failures
        .iter()
        .map(|(at, e)| format!("{at}: {e}"))
        .collect::<Vec<_>>()
        .join("; ");
    let text = format!("no endpoint of {domain} gave a stream ({text})");
    if all_timeouts {
        Error::Timeout(text)
    } else {
        Error::io(text)
    }
}

/// One endpoint: TCP, then TLS at once or by STARTTLS, before `deadline`.
fn attempt(
    endpoint: &Endpoint,
    resolver: &Resolver,
    domain: &str,
    options: &Options,
    deadline: Instant,
    line: &HandshakeLine,
) -> Result<Established> {
    let addresses = resolver.addresses(&endpoint.host, endpoint.port)?;
    let tcp = connect_any(&endpoint.host, &addresses, deadline, line)?;
    set_keepalive(&tcp, options.ping_interval, options.ping_timeout)?;
    tcp.set_read_timeout(Some(remaining(deadline)))?;
    tcp.set_write_timeout(Some(remaining(deadline)))?;
    if endpoint.direct_tls {
        let tls = handshake(tcp, domain, options, &[ALPN], deadline)?;
        return Ok(Established {
            link: tls,
            prelude: Vec::new(),
            opened: None,
        });
    }
    starttls(tcp, domain, options, deadline)
}

fn handshake(
    tcp: TcpStream,
    domain: &str,
    options: &Options,
    alpn: &[&str],
    deadline: Instant,
) -> Result<Link> {
    let connector = tls_connector(options, alpn)?;
    let tls = connector
        .connect(domain, tcp)
        .map_err(|e| past(deadline, Error::tls_from(e.to_string(), e)))?;
    Ok(Link::Tls(Box::new(tls)))
}

/// The plaintext stream up to TLS.
struct Plaintext {
    tcp: TcpStream,
    parser: StreamParser,
    events: Vec<StreamEvent>,
    prelude: Vec<Incoming>,
    deadline: Instant,
}

impl Plaintext {
    fn write(&mut self, text: &str) -> Result<()> {
        self.tcp
            .write_all(text.as_bytes())
            .map_err(|e| past(self.deadline, Error::io_from(format!("writing: {e}"), e)))?;
        self.prelude.push(Incoming::RawOut(Arc::from(text)));
        Ok(())
    }

    /// Reads until an element or the close follows the events seen so far
    /// (`seen` of them); its index.
    fn next_after(&mut self, seen: usize) -> Result<usize> {
        let mut buf = [0u8; 2048];
        loop {
            if let Some(i) =
                (seen..self.events.len()).find(|i| !matches!(self.events[*i], StreamEvent::Open(_)))
            {
                return Ok(i);
            }
            if Instant::now() >= self.deadline {
                return Err(Error::Timeout("no stream features in time".into()));
            }
            self.tcp.set_read_timeout(Some(remaining(self.deadline)))?;
            let n = match self.tcp.read(&mut buf) {
                Ok(0) => return Err(Error::io("the server closed the connection before TLS")),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(past(
                        self.deadline,
                        Error::io_from(format!("reading: {e}"), e),
                    ))
                }
            };
            self.prelude.push(Incoming::Raw(
                String::from_utf8_lossy(&buf[..n]).into_owned(),
            ));
            self.parser
                .feed_into(&buf[..n], &mut self.events)
                .map_err(Error::Xml)?;
        }
    }

    fn opened(self) -> Established {
        Established {
            link: Link::Plain(self.tcp),
            prelude: self.prelude,
            opened: Some((self.parser, self.events)),
        }
    }
}

/// RFC 6120 §5: the stream, its features, `<starttls/>`, `<proceed/>`,
/// then TLS. A server that offers no STARTTLS gets no login unless the
/// user allowed plaintext; a stream error or close before TLS goes to the
/// engine, which reports its condition.
fn starttls(
    tcp: TcpStream,
    domain: &str,
    options: &Options,
    deadline: Instant,
) -> Result<Established> {
    let mut plain = Plaintext {
        tcp,
        parser: StreamParser::with_limits(super::limits(options)),
        events: Vec::new(),
        prelude: Vec::new(),
        deadline,
    };
    plain.write(&framing::stream_header(domain))?;
    let first = plain.next_after(0)?;
    let header_ok = match plain.events.first() {
        Some(StreamEvent::Open(open)) => framing::check_header(open).is_none(),
        _ => false,
    };
    let offers_tls = match &plain.events[first] {
        StreamEvent::Stanza(f) if header_ok && f.local_name() == "features" => {
            Some(f.find_child("starttls", Some(ns::TLS)).is_some())
        }
        _ => None,
    };
    match offers_tls {
        // A bad header, a stream error or the close: the engine reports it.
        None => return Ok(plain.opened()),
        Some(false) if options.allow_plaintext => return Ok(plain.opened()),
        Some(false) => {
            return Err(Error::io(
                "the server offers no STARTTLS: refusing to log in without TLS \
                 (set allow_plaintext to allow it)",
            ))
        }
        Some(true) => {}
    }
    plain.write(STARTTLS)?;
    let answer = plain.next_after(first + 1)?;
    match &plain.events[answer] {
        StreamEvent::Stanza(p) if p.local_name() == "proceed" && p.xmlns() == Some(ns::TLS) => {}
        StreamEvent::Stanza(f) if f.local_name() == "failure" => {
            return Err(Error::io("the server refused STARTTLS (<failure/>)"))
        }
        other => {
            return Err(Error::io(format!(
                "the server answered STARTTLS with {}",
                describe(other)
            )))
        }
    }
    let Plaintext { tcp, prelude, .. } = plain;
    Ok(Established {
        link: handshake(tcp, domain, options, &[], deadline)?,
        prelude,
        opened: None,
    })
}

fn describe(event: &StreamEvent) -> String {
    match event {
        StreamEvent::Open(e) | StreamEvent::Stanza(e) => format!("<{}>", e.name()),
        StreamEvent::Close(_) => "the end of its stream".into(),
    }
}
