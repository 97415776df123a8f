//! The HTTP client of a BOSH session, driven by the engine's own steps:
//! every request slot is a non-blocking socket (TLS for https) that the
//! step which makes a request writes, and the step its answer wakes reads.
//! No thread stands in between. A hand-off to a request thread and back
//! cost two thread wake-ups per round trip (0.1–0.3 ms each on the test
//! machine, far more with its cores busy): most of the gap between a BOSH
//! login and a WebSocket one. The two threads' stacks and malloc arenas
//! were also most of a session's memory.
//!
//! The caller waits on one descriptor, an epoll set of the slots'
//! sockets, and calls `drive` when it is readable or `next_deadline` has
//! come. Answers queue here until the transport takes them.

use super::http1::{self, Progress, ResponseReader};
use crate::mailbox::poll_fds;
use crate::options::Options;
use crate::readiness::Readiness;
use crate::transport::net::{self, UrlParts};
use native_tls::{HandshakeError, MidHandshakeTlsStream, TlsConnector, TlsStream};
use std::collections::VecDeque;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The largest answer body taken (a BOSH body holds stanzas the server
/// queued: large, but not without bound).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// How much one read takes from a socket.
const READ_CHUNK: usize = 4 * 1024;

/// Idle keep-alive connections kept for later requests.
const MAX_IDLE: usize = 4;

/// While a TLS handshake waits, how often it is tried again anyway:
/// native-tls does not say whether it waits to read or to write, and
/// the socket is watched for reading only (writable, it would wake the
/// loop without end).
const HANDSHAKE_RETRY: Duration = Duration::from_millis(20);

/// One request for the client to make.
pub(super) struct Job {
    pub rid: u64,
    pub attempt: u32,
    pub body: Arc<str>,
    pub cookie: Option<String>,
    pub timeout: Duration,
}

/// What became of a request, for the session.
pub(super) struct Answer {
    pub rid: u64,
    pub attempt: u32,
    pub outcome: Outcome,
}

pub(super) enum Outcome {
    /// The request is on the wire in full: the socket took its last byte.
    Written,
    Reply(Reply),
    Failed(Failure),
}

/// A request that got no HTTP answer. `fatal`: retrying cannot help
/// (an untrusted certificate, an address that does not resolve), so the
/// session fails at once.
pub(super) struct Failure {
    pub fatal: bool,
    pub message: String,
}

impl Failure {
    pub fn transient(message: impl Into<String>) -> Failure {
        Failure {
            fatal: false,
            message: message.into(),
        }
    }

    fn fatal(message: impl Into<String>) -> Failure {
        Failure {
            fatal: true,
            message: message.into(),
        }
    }
}

pub(super) struct Reply {
    pub status: u16,
    pub body: String,
    pub set_cookies: Vec<String>,
}

/// What every request of a session carries besides its body.
#[derive(Clone)]
pub(super) struct Endpoint {
    pub url: String,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
}

/// A connection to the server, as far as it has come.
enum Link {
    /// A non-blocking connect to `addrs[index]` under way, given up at `until`.
    Connecting {
        socket: TcpStream,
        index: usize,
        until: Instant,
    },
    Handshaking {
        tls: MidHandshakeTlsStream<TcpStream>,
        retry_at: Instant,
    },
    Open(Stream),
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    fn fd(&self) -> RawFd {
        match self {
            Stream::Plain(s) => s.as_raw_fd(),
            Stream::Tls(s) => s.get_ref().as_raw_fd(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

impl Link {
    fn fd(&self) -> RawFd {
        match self {
            Link::Connecting { socket, .. } => socket.as_raw_fd(),
            Link::Handshaking { tls, .. } => tls.get_ref().as_raw_fd(),
            Link::Open(stream) => stream.fd(),
        }
    }
}

/// A request on its way: its bytes, how far they went, and the answer so far.
struct Request {
    job: Job,
    bytes: Vec<u8>,
    sent: usize,
    reader: ResponseReader,
    deadline: Instant,
    /// Sent again once on a fresh connection after a kept one turned out
    /// closed (the server may close an idle connection as we reuse it).
    retried: bool,
}

/// One connection and the request it carries, if any.
struct Slot {
    link: Option<Link>,
    /// The open link has carried a request before.
    reused: bool,
    request: Option<Request>,
}

/// How far one turn of a slot's exchange got.
enum Step {
    /// The socket has nothing more for now.
    Wait,
    /// The request's last byte went out.
    Written(u64, u32),
    Answered(http1::Response),
    Broken(String),
    /// The server closed (or wrote on) a connection with no request.
    IdleClosed,
}

impl Slot {
    fn exchange_step(&mut self) -> Step {
        let Some(Link::Open(stream)) = self.link.as_mut() else {
            return Step::Wait;
        };
        let Some(request) = self.request.as_mut() else {
            let mut byte = [0u8; 1];
            return match stream.read(&mut byte) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => Step::Wait,
                _ => Step::IdleClosed,
            };
        };
        while request.sent < request.bytes.len() {
            match stream.write(&request.bytes[request.sent..]) {
                Ok(0) => return Step::Broken("the server closed the connection".into()),
                Ok(n) => {
                    request.sent += n;
                    if request.sent == request.bytes.len() {
                        return Step::Written(request.job.rid, request.job.attempt);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Wait,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Step::Broken(e.to_string()),
            }
        }
        // Small: the pages a read touches stay in every engine thread's
        // stack for good (16 KiB here was a quarter of an idle session).
        let mut buf = [0u8; READ_CHUNK];
        loop {
            let progress = match stream.read(&mut buf) {
                Ok(0) => request.reader.eof(),
                Ok(n) => request.reader.feed(buf.get(..n).unwrap_or_default()),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Wait,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Step::Broken(e.to_string()),
            };
            match progress {
                Ok(Progress::NeedMore) => {}
                Ok(Progress::Done(response)) => return Step::Answered(response),
                Err(message) => return Step::Broken(message),
            }
        }
    }

    /// Whether request bytes wait for the socket.
    fn writing(&self) -> bool {
        self.request
            .as_ref()
            .is_some_and(|r| r.sent < r.bytes.len())
    }
}

/// The request slots of one session, and the answers they produced.
pub(super) struct Client {
    endpoint: Endpoint,
    url: UrlParts,
    /// The Host header.
    host_header: String,
    options: Options,
    addrs: Vec<SocketAddr>,
    tls: Option<TlsConnector>,
    slots: Vec<Slot>,
    answers: VecDeque<Answer>,
    /// The descriptor the engine waits on (made with the first request).
    readiness: Option<Readiness>,
    /// What `readiness` holds now; None: bring it up to date.
    registered: Option<Vec<(RawFd, i16)>>,
}

impl Client {
    pub fn new(endpoint: Endpoint, url: UrlParts, options: &Options) -> Client {
        let default_port = if url.secure { 443 } else { 80 };
        let host = if url.host.contains(':') {
            format!("[{}]", url.host)
        } else {
            url.host.clone()
        };
        let host_header = if url.port == default_port {
            host
        } else {
            format!("{host}:{}", url.port)
        };
        Client {
            endpoint,
            url,
            host_header,
            options: options.clone(),
            addrs: Vec::new(),
            tls: None,
            slots: Vec::new(),
            answers: VecDeque::new(),
            readiness: None,
            registered: None,
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Looks the server up and builds the TLS settings: the blocking part,
    /// done once, when the session opens (`open` may block; steps may not).
    pub fn prepare(&mut self) -> crate::error::Result<()> {
        if self.readiness.is_none() {
            self.readiness = Some(Readiness::new()?);
        }
        if self.url.secure && self.tls.is_none() {
            self.tls = Some(net::tls_connector(&self.options, &[])?);
        }
        if self.addrs.is_empty() {
            self.resolve()?;
        }
        Ok(())
    }

    fn resolve(&mut self) -> crate::error::Result<()> {
        self.addrs = net::resolve(&self.url.host, self.url.port)?;
        Ok(())
    }

    /// The descriptor to wait on for reading; None before `prepare`.
    pub fn poll_fd(&self) -> Option<RawFd> {
        self.readiness.as_ref().map(Readiness::fd)
    }

    /// Sends `job` on an idle kept connection, or a new one.
    pub fn start(&mut self, job: Job) {
        let bytes = match self.request_bytes(&job) {
            Ok(b) => b,
            Err(message) => {
                let (rid, attempt) = (job.rid, job.attempt);
                self.push(rid, attempt, Outcome::Failed(Failure::fatal(message)));
                return;
            }
        };
        let request = Request {
            deadline: Instant::now() + job.timeout,
            job,
            bytes,
            sent: 0,
            reader: ResponseReader::new(MAX_BODY),
            retried: false,
        };
        let free = self
            .slots
            .iter()
            .position(|s| s.request.is_none() && matches!(s.link, Some(Link::Open(_))))
            .or_else(|| self.slots.iter().position(|s| s.request.is_none()));
        let index = match free {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    link: None,
                    reused: false,
                    request: None,
                });
                self.slots.len() - 1
            }
        };
        self.slots[index].request = Some(request);
        self.progress(index, 0);
        self.sync_readiness();
    }

    fn request_bytes(&self, job: &Job) -> Result<Vec<u8>, String> {
        let ua = concat!("epode/", env!("CARGO_PKG_VERSION"));
        let mut headers: Vec<(&str, &str)> = vec![
            ("Content-Type", self.endpoint.content_type.as_str()),
            ("User-Agent", ua),
        ];
        for (name, value) in &self.endpoint.headers {
            headers.push((name, value));
        }
        if let Some(cookie) = &job.cookie {
            headers.push(("Cookie", cookie));
        }
        let mut bytes = Vec::with_capacity(256 + job.body.len());
        http1::write_request(
            &mut bytes,
            &self.host_header,
            &self.url.path,
            &headers,
            job.body.as_bytes(),
        )?;
        Ok(bytes)
    }

    /// Does whatever the sockets allow now, and gives up requests whose
    /// time is over. Never blocks.
    pub fn drive(&mut self) {
        let fds = self.watched();
        let revents = if fds.is_empty() {
            Vec::new()
        } else {
            poll_fds(&fds, Some(Duration::ZERO)).unwrap_or_default()
        };
        let mut ready = revents.into_iter();
        for i in 0..self.slots.len() {
            let events = if self.slots[i].link.is_some() {
                ready.next().unwrap_or(0)
            } else {
                0
            };
            self.progress(i, events);
        }
        self.tick(Instant::now());
    }

    /// What is due at `now` without any socket event: timeouts, a
    /// handshake to try again, idle connections to close.
    pub fn tick(&mut self, now: Instant) {
        self.expire(now);
        self.trim_idle();
        self.sync_readiness();
    }

    /// Moves slot `i` on as far as it goes without waiting. `events`: what
    /// poll reported for its socket (0: nothing, or not polled yet).
    fn progress(&mut self, i: usize, mut events: i16) {
        loop {
            let slot = &mut self.slots[i];
            let link = match slot.link.take() {
                Some(link) => link,
                None if slot.request.is_some() => match self.connect(0, Instant::now()) {
                    Ok(link) => {
                        self.slots[i].reused = false;
                        self.registered = None;
                        link
                    }
                    Err(failure) => return self.fail(i, failure),
                },
                None => return,
            };
            let next = match link {
                // Only a socket event says a connect or handshake moved on.
                waiting @ (Link::Connecting { .. } | Link::Handshaking { .. }) if events == 0 => {
                    self.slots[i].link = Some(waiting);
                    return;
                }
                Link::Connecting { socket, index, .. } => match socket.take_error() {
                    Ok(None) => self.secure(socket),
                    Ok(Some(e)) | Err(e) => {
                        self.registered = None;
                        self.next_address(index, &e)
                    }
                },
                Link::Handshaking { tls, .. } => match tls.handshake() {
                    Ok(stream) => Ok(Link::Open(Stream::Tls(Box::new(stream)))),
                    Err(HandshakeError::WouldBlock(tls)) => Ok(Link::Handshaking {
                        tls,
                        retry_at: Instant::now() + HANDSHAKE_RETRY,
                    }),
                    Err(HandshakeError::Failure(e)) => Err(Failure::fatal(format!("TLS: {e}"))),
                },
                Link::Open(stream) => {
                    let slot = &mut self.slots[i];
                    slot.link = Some(Link::Open(stream));
                    // Waiting for an answer that poll did not report: no read.
                    if events != 0 || slot.writing() {
                        self.exchange(i);
                    }
                    return;
                }
            };
            match next {
                Ok(link @ Link::Open(_)) => {
                    self.slots[i].link = Some(link);
                    events = 0; // the request's bytes go out below
                }
                Ok(link) => {
                    // A new connect or a handshake that waits for the server.
                    self.slots[i].link = Some(link);
                    return;
                }
                Err(failure) => return self.fail(i, failure),
            }
        }
    }

    /// Starts a connect to `addrs[index]`, or to one after it.
    fn connect(&mut self, index: usize, now: Instant) -> Result<Link, Failure> {
        if self.addrs.is_empty() {
            self.resolve()
                .map_err(|e| Failure::transient(e.to_string()))?;
        }
        let mut last = None;
        for (index, addr) in self.addrs.iter().enumerate().skip(index) {
            let left = self.addrs.len() - index;
            let share = self.options.connect_timeout / left as u32;
            match connect_nonblocking(addr) {
                Ok(socket) => {
                    return Ok(Link::Connecting {
                        socket,
                        index,
                        until: now + share.max(Duration::from_millis(1)),
                    })
                }
                Err(e) => last = Some(format!("connecting to {addr}: {e}")),
            }
        }
        Err(Failure::transient(last.unwrap_or_else(|| {
            format!("{} has no address left to try", self.url.host)
        })))
    }

    fn next_address(&mut self, index: usize, e: &io::Error) -> Result<Link, Failure> {
        let addr = self
            .addrs
            .get(index)
            .map(|a| a.to_string())
            .unwrap_or_default();
        if index + 1 < self.addrs.len() {
            return self.connect(index + 1, Instant::now());
        }
        Err(Failure::transient(format!("connecting to {addr}: {e}")))
    }

    /// A connected socket: TLS on top for https.
    fn secure(&mut self, socket: TcpStream) -> Result<Link, Failure> {
        let _ = socket.set_nodelay(true);
        // As on the other transports' sockets: the kernel gives a silent
        // link up within the liveness check's bound. Best effort.
        let (idle, timeout) = (self.options.ping_interval, self.options.ping_timeout);
        let _ = net::set_keepalive(&socket, idle, timeout);
        let Some(tls) = &self.tls else {
            return Ok(Link::Open(Stream::Plain(socket)));
        };
        match tls.connect(&self.url.host, socket) {
            Ok(stream) => Ok(Link::Open(Stream::Tls(Box::new(stream)))),
            Err(HandshakeError::WouldBlock(tls)) => Ok(Link::Handshaking {
                tls,
                retry_at: Instant::now() + HANDSHAKE_RETRY,
            }),
            Err(HandshakeError::Failure(e)) => Err(Failure::fatal(format!("TLS: {e}"))),
        }
    }

    /// Writes slot `i`'s request and reads its answer, as far as the
    /// socket allows; an idle link is only watched for the server's close.
    fn exchange(&mut self, i: usize) {
        loop {
            match self.slots[i].exchange_step() {
                Step::Wait => return,
                Step::Written(rid, attempt) => self.push(rid, attempt, Outcome::Written),
                Step::Answered(response) => return self.answered(i, response),
                Step::Broken(why) => return self.broken(i, &why),
                Step::IdleClosed => {
                    self.slots[i].link = None;
                    self.registered = None;
                    return;
                }
            }
        }
    }

    fn answered(&mut self, i: usize, response: http1::Response) {
        let slot = &mut self.slots[i];
        let Some(request) = slot.request.take() else {
            return;
        };
        if response.keep_alive {
            slot.reused = true;
        } else {
            slot.link = None;
            self.registered = None;
        }
        let (rid, attempt) = (request.job.rid, request.job.attempt);
        let outcome = match String::from_utf8(response.body) {
            Ok(body) => Outcome::Reply(Reply {
                status: response.status,
                body,
                set_cookies: response.set_cookies,
            }),
            Err(_) => Outcome::Failed(Failure::transient("the answer is not UTF-8")),
        };
        self.push(rid, attempt, outcome);
    }

    /// The link failed under a request. A kept connection that the server
    /// had closed before any answer came is replaced and the request sent
    /// again, once; anything else fails the request.
    fn broken(&mut self, i: usize, why: &str) {
        let slot = &mut self.slots[i];
        slot.link = None;
        self.registered = None;
        let stale = slot.reused;
        slot.reused = false;
        if let Some(request) = slot.request.as_mut() {
            if stale && !request.retried && !request.reader.started() {
                request.retried = true;
                request.sent = 0;
                request.reader = ResponseReader::new(MAX_BODY);
                return self.progress(i, 0);
            }
        }
        self.fail(i, Failure::transient(why.to_string()));
    }

    fn fail(&mut self, i: usize, failure: Failure) {
        let slot = &mut self.slots[i];
        slot.link = None;
        self.registered = None;
        if let Some(request) = slot.request.take() {
            let (rid, attempt) = (request.job.rid, request.job.attempt);
            self.push(rid, attempt, Outcome::Failed(failure));
        }
    }

    /// Requests past their timeout fail; connects past their share of it
    /// move on to the next address; waiting handshakes are tried again.
    fn expire(&mut self, now: Instant) {
        for i in 0..self.slots.len() {
            let slot = &self.slots[i];
            if slot.request.as_ref().is_some_and(|r| now >= r.deadline) {
                self.fail(i, Failure::transient("timed out"));
                continue;
            }
            let connect_over = match &slot.link {
                Some(Link::Connecting { index, until, .. }) if now >= *until => Some(*index),
                _ => None,
            };
            let handshake_due = matches!(&slot.link,
                Some(Link::Handshaking { retry_at, .. }) if now >= *retry_at);
            if let Some(index) = connect_over {
                self.registered = None;
                let timed_out = io::Error::from(ErrorKind::TimedOut);
                match self.next_address(index, &timed_out) {
                    Ok(link) => self.slots[i].link = Some(link),
                    Err(failure) => self.fail(i, failure),
                }
            } else if handshake_due {
                self.progress(i, libc::POLLIN);
            }
        }
    }

    /// Closes idle connections beyond MAX_IDLE.
    fn trim_idle(&mut self) {
        let mut idle = 0;
        for slot in &mut self.slots {
            if slot.request.is_none() && slot.link.is_some() {
                idle += 1;
                if idle > MAX_IDLE {
                    slot.link = None;
                    self.registered = None;
                }
            }
        }
        // Slots at the end with nothing in them go.
        while self
            .slots
            .last()
            .is_some_and(|s| s.link.is_none() && s.request.is_none())
        {
            self.slots.pop();
        }
    }

    /// When `drive` is due without any socket event.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.slots
            .iter()
            .flat_map(|s| {
                let link = match &s.link {
                    Some(Link::Connecting { until, .. }) => Some(*until),
                    Some(Link::Handshaking { retry_at, .. }) => Some(*retry_at),
                    _ => None,
                };
                [link, s.request.as_ref().map(|r| r.deadline)]
            })
            .flatten()
            .min()
    }

    /// Each connection's socket and what it is watched for, in slot order.
    fn watched(&self) -> Vec<(RawFd, i16)> {
        self.slots
            .iter()
            .filter_map(|s| s.link.as_ref().map(|l| (l.fd(), interest(s))))
            .collect()
    }

    /// Brings the descriptor the engine waits on up to date.
    fn sync_readiness(&mut self) {
        let Some(readiness) = &self.readiness else {
            return;
        };
        let wanted = self.watched();
        if self.registered.as_ref() == Some(&wanted) {
            return;
        }
        // On failure the set stays as it was; next_deadline still wakes us.
        if readiness.update(&wanted).is_ok() {
            self.registered = Some(wanted);
        }
    }

    fn push(&mut self, rid: u64, attempt: u32, outcome: Outcome) {
        self.answers.push_back(Answer {
            rid,
            attempt,
            outcome,
        });
    }

    pub fn next_answer(&mut self) -> Option<Answer> {
        self.answers.pop_front()
    }

    pub fn has_answers(&self) -> bool {
        !self.answers.is_empty()
    }

    /// Takes every answer left and returns the highest rid among those
    /// reported written: after `abort`, what reached the server for certain.
    pub fn take_last_written(&mut self) -> Option<u64> {
        self.answers
            .drain(..)
            .filter(|a| matches!(a.outcome, Outcome::Written))
            .map(|a| a.rid)
            .max()
    }

    /// Makes one request and waits for its answer until `deadline` (for
    /// the terminate sent while the connection is being freed).
    pub fn post_and_wait(&mut self, job: Job, deadline: Instant) {
        let rid = job.rid;
        self.start(job);
        let done = |c: &Client| {
            c.answers
                .iter()
                .any(|a| a.rid == rid && !matches!(a.outcome, Outcome::Written))
        };
        while !done(self) {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            let fds = self.watched();
            let wait = self
                .next_deadline()
                .map_or(deadline, |d| d.min(deadline))
                .saturating_duration_since(now);
            if fds.is_empty() || poll_fds(&fds, Some(wait)).is_err() {
                return;
            }
            self.drive();
        }
    }

    /// Drops every connection and every request in flight at once.
    pub fn abort(&mut self) {
        self.slots.clear();
        self.registered = None;
        self.sync_readiness();
    }
}

/// What a slot's socket is watched for: writing while a connect is under
/// way or request bytes wait, reading otherwise (an answer, or the
/// server's close of an idle connection).
fn interest(slot: &Slot) -> i16 {
    let writing = slot
        .request
        .as_ref()
        .is_some_and(|r| r.sent < r.bytes.len());
    match slot.link {
        Some(Link::Connecting { .. }) => libc::POLLOUT,
        Some(Link::Open(_)) if writing => libc::POLLIN | libc::POLLOUT,
        _ => libc::POLLIN,
    }
}

/// A TCP connect that returns at once (EINPROGRESS); the socket becomes
/// writable when it has succeeded or failed.
fn connect_nonblocking(addr: &SocketAddr) -> io::Result<TcpStream> {
    let family = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: a plain syscall; the descriptor is owned by the TcpStream below.
    let fd = unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new socket that nothing else owns.
    let socket = unsafe { TcpStream::from_raw_fd(fd) };
    let (storage, len) = sockaddr(addr);
    // SAFETY: `storage` holds a sockaddr of `len` bytes for the call.
    let rc = unsafe { libc::connect(fd, (&storage as *const libc::sockaddr_storage).cast(), len) };
    if rc == 0 {
        return Ok(socket);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EINPROGRESS) {
        Ok(socket)
    } else {
        Err(e)
    }
}

fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in and aligned for it.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: as above, for sockaddr_in6.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}
