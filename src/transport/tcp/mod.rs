//! RFC 6120 over TCP: one `<stream:stream>` per direction, restarted after
//! SASL, on a socket with TLS from the first byte (XEP-0368) or after
//! STARTTLS. Reaching the server (SRV, TCP, TLS, STARTTLS) happens on a
//! helper thread (`establish.rs`); from the stream the engine sees on, this
//! is a non-blocking socket, a streaming parser and an output buffer.

mod establish;
mod framing;
mod link;

use super::handshake_line::HandshakeLine;
use super::{send_queue_full, HookOutput, Incoming, Notify, Transport};
use crate::error::{Error, Result};
use crate::mailbox::lock;
use crate::options::{Options, TcpTarget};
use crate::outgoing::Outgoing;
use crate::status::Status;
use crate::xml::{Limits, StreamEvent, StreamParser};
use establish::Established;
use link::Link;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long freeing a connection waits for the server's `</stream:stream>`.
const END_TIMEOUT: Duration = Duration::from_secs(2);

/// Bytes taken from the socket per read: as tungstenite's read buffer for
/// WebSocket, small enough to keep an idle connection light.
const READ_CHUNK: usize = 4 * 1024;

/// Output buffer capacity kept between bursts.
const KEEP_OUTPUT: usize = 64 * 1024;

type Pending = Arc<Mutex<Option<Result<Established>>>>;

/// The connect thread at work.
struct Connecting {
    result: Pending,
    domain: String,
    line: HandshakeLine,
}

pub(crate) struct TcpTransport {
    target: TcpTarget,
    options: Options,
    notify: Notify,
    link: Option<Link>,
    connecting: Option<Connecting>,
    parser: StreamParser,
    /// The server's stream header of the current stream was checked.
    header_seen: bool,
    /// Written into the socket as far as it takes it; `sent` bytes of it are gone.
    output: Vec<u8>,
    sent: usize,
    raw_input: bool,
    /// Received bytes that end inside a UTF-8 character, for the rawInput hook.
    raw_carry: Vec<u8>,
    hook_output: HookOutput,
    /// What happened on the connect thread, for the engine's next read.
    early: Vec<Incoming>,
    events: Vec<StreamEvent>,
    buf: Box<[u8]>,
    heard: Option<Instant>,
}

impl TcpTransport {
    pub fn new(target: &TcpTarget, options: &Options, notify: Notify) -> TcpTransport {
        TcpTransport {
            target: target.clone(),
            options: options.clone(),
            notify,
            link: None,
            connecting: None,
            parser: StreamParser::with_limits(limits(options)),
            header_seen: false,
            output: Vec::new(),
            sent: 0,
            raw_input: false,
            raw_carry: Vec::new(),
            hook_output: HookOutput::default(),
            early: Vec::new(),
            events: Vec::new(),
            buf: Vec::new().into_boxed_slice(),
            heard: None,
        }
    }

    /// Queues text for the socket (and the rawOutput hook).
    fn queue(&mut self, text: &Arc<str>) -> Result<()> {
        if self.link.is_none() {
            return Err(Error::io("the TCP connection is closed"));
        }
        let waiting = self.output.len() - self.sent;
        if waiting + text.len() > self.options.max_send_queue_bytes {
            return Err(send_queue_full(self.options.max_send_queue_bytes));
        }
        self.hook_output.raw(text);
        self.output.extend_from_slice(text.as_bytes());
        Ok(())
    }

    fn open_stream(&mut self, domain: &str) -> Result<()> {
        self.parser.reset();
        self.header_seen = false;
        let header = framing::stream_header(domain);
        self.hook_output.xml(|| framing::header_element(domain));
        self.queue(&header.into())
    }

    /// Takes the connect thread's result: the socket goes non-blocking
    /// (the engine waits in poll() from now on) and the stream opens, or,
    /// over plaintext, the stream it already opened carries on.
    fn finish_connect(&mut self, established: Established, domain: &str) -> Result<()> {
        established.link.tcp().set_nonblocking(true)?;
        self.link = Some(established.link);
        for raw in established.prelude {
            match raw {
                Incoming::Raw(_) if self.raw_input => self.early.push(raw),
                Incoming::RawOut(text) => self.hook_output.raw(&text),
                _ => {}
            }
        }
        match established.opened {
            Some((parser, mut events)) => {
                self.parser = parser;
                self.header_seen = false;
                self.take_events(&mut events);
                Ok(())
            }
            None => self.open_stream(domain),
        }
    }

    /// Parse events for the engine, after checking the server's stream
    /// header (the first event of each stream).
    fn take_events(&mut self, events: &mut Vec<StreamEvent>) {
        for event in events.drain(..) {
            if let (StreamEvent::Open(open), false) = (&event, self.header_seen) {
                self.header_seen = true;
                if let Some(condition) = framing::check_header(open) {
                    self.early.push(Incoming::Failed {
                        status: Status::ConnFail,
                        condition,
                        code: None,
                    });
                    self.drop_link();
                    return; // the rest of the batch goes with the drain
                }
            }
            self.early.push(Incoming::Stream(event));
        }
    }

    fn drop_link(&mut self) {
        if let Some(link) = self.link.take() {
            let _ = link.tcp().shutdown(std::net::Shutdown::Both);
        }
        self.output.clear();
        self.sent = 0;
    }

    fn lost(&mut self, out: &mut Vec<Incoming>, reason: String) {
        out.push(Incoming::Lost { code: None, reason });
        self.drop_link();
    }
}

/// The rawInput hook's copy of `bytes`: whole characters only, the rest
/// kept in `carry` for the next read.
fn raw_text(carry: &mut Vec<u8>, bytes: &[u8]) -> Option<String> {
    carry.extend_from_slice(bytes);
    let valid = match std::str::from_utf8(carry) {
        Ok(s) => s.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        // Not UTF-8 at all: the parser refuses it; show what it is.
        Err(_) => return Some(String::from_utf8_lossy(&std::mem::take(carry)).into_owned()),
    };
    let rest = carry.split_off(valid);
    let text = String::from_utf8(std::mem::replace(carry, rest)).ok()?;
    (!text.is_empty()).then_some(text)
}

fn limits(options: &Options) -> Limits {
    Limits {
        max_stanza_bytes: options.max_stanza_bytes,
        max_depth: options.max_depth,
    }
}

impl Transport for TcpTransport {
    fn open(&mut self, domain: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let pending: Pending = Arc::new(Mutex::new(None));
        let line = HandshakeLine::default();
        let (slot, notify) = (Arc::clone(&pending), Arc::clone(&self.notify));
        let (target, options, thread_line) =
            (self.target.clone(), self.options.clone(), line.clone());
        let name = domain.to_string();
        std::thread::Builder::new()
            .name("epode-connect".into())
            .spawn(move || {
                let result = establish::establish(&target, &name, &options, deadline, &thread_line);
                thread_line.done();
                *lock(&slot) = Some(result);
                notify();
            })
            .map_err(|e| Error::io_from(format!("cannot start the connect thread: {e}"), e))?;
        self.connecting = Some(Connecting {
            result: pending,
            domain: domain.to_string(),
            line,
        });
        Ok(())
    }

    fn open_blocking(
        &mut self,
        domain: &str,
        deadline: Instant,
        line: &HandshakeLine,
    ) -> Result<()> {
        let result = establish::establish(&self.target, domain, &self.options, deadline, line);
        line.done();
        self.finish_connect(result?, domain)
    }

    fn restart(&mut self, domain: &str) -> Result<()> {
        self.open_stream(domain)
    }

    fn send(&mut self, item: &Outgoing) -> Result<()> {
        self.queue(item.shared_text())
    }

    fn close(&mut self) -> Result<()> {
        self.hook_output.xml(framing::close_element);
        self.queue(&framing::STREAM_CLOSE.into())
    }

    fn flush(&mut self) -> Result<()> {
        let Some(link) = self.link.as_mut() else {
            return Ok(());
        };
        while self.sent < self.output.len() {
            match link.write(&self.output[self.sent..]) {
                Ok(0) => return Err(Error::io("the TCP connection took no more output")),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io_from(format!("writing to the server: {e}"), e)),
            }
        }
        if self.sent == self.output.len() {
            self.sent = 0;
            if self.output.capacity() > KEEP_OUTPUT {
                // A burst is over: an idle connection keeps no megabytes.
                self.output = Vec::new();
            } else {
                self.output.clear();
            }
        } else if self.sent > READ_CHUNK && self.sent * 2 > self.output.len() {
            // Keep the buffer from growing with a slow reader.
            self.output.drain(..self.sent);
            self.sent = 0;
        }
        Ok(())
    }

    fn has_pending(&self) -> bool {
        self.hook_output.pending()
            || !self.early.is_empty()
            || self
                .connecting
                .as_ref()
                .is_some_and(|c| lock(&c.result).is_some())
    }

    fn read(&mut self, out: &mut Vec<Incoming>) -> Result<()> {
        if let Some(connecting) = self.connecting.take() {
            let result = lock(&connecting.result).take();
            match result {
                Some(result) => self.finish_connect(result?, &connecting.domain)?,
                None => {
                    self.connecting = Some(connecting);
                    return Ok(());
                }
            }
        }
        out.append(&mut self.early);
        self.hook_output.drain_into(out);
        if self.buf.is_empty() && self.link.is_some() {
            self.buf = vec![0; READ_CHUNK].into_boxed_slice();
        }
        loop {
            let Some(link) = self.link.as_mut() else {
                return Ok(());
            };
            let n = match link.read(&mut self.buf) {
                Ok(0) => {
                    self.lost(out, "the server closed the TCP connection".into());
                    return Ok(());
                }
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.lost(out, e.to_string());
                    return Ok(());
                }
            };
            self.heard = Some(Instant::now());
            let chunk = &self.buf[..n];
            if self.raw_input {
                if let Some(text) = raw_text(&mut self.raw_carry, chunk) {
                    out.push(Incoming::Raw(text));
                }
            }
            let mut events = std::mem::take(&mut self.events);
            let fed = self
                .parser
                .feed_into(chunk, &mut events)
                .map_err(Error::Xml);
            self.take_events(&mut events);
            self.events = events;
            out.append(&mut self.early);
            fed?;
        }
    }

    fn poll_fd(&self) -> Option<(RawFd, bool)> {
        let link = self.link.as_ref()?;
        Some((link.fd(), self.sent < self.output.len()))
    }

    fn abort(&mut self) {
        if let Some(connecting) = self.connecting.take() {
            connecting.line.abort();
        }
        self.drop_link();
    }

    /// Freed: what is queued and our `</stream:stream>` go out, and the
    /// server's close is awaited for up to END_TIMEOUT, so that the server
    /// ends the session at once instead of keeping it for resumption.
    fn end(&mut self) {
        if self.link.is_some() && self.connecting.is_none() {
            super::close_and_wait(self, END_TIMEOUT);
        }
        self.abort();
    }

    fn set_raw_input(&mut self, on: bool) {
        self.raw_input = on;
    }

    fn set_raw_output(&mut self, on: bool) {
        self.hook_output.want_raw(on);
    }

    fn set_xml_hooks(&mut self, _input: bool, output: bool) {
        self.hook_output.want_xml(output);
    }

    fn idle(&self) -> bool {
        self.sent >= self.output.len()
    }

    fn last_heard(&self) -> Option<Instant> {
        self.heard
    }
}
