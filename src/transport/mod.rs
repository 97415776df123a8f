//! Transports: how stanzas reach the server. The engine drives one through
//! the `Transport` trait and never knows which it is.

pub mod bosh;
pub mod cookies;
pub(crate) mod handshake_line;
mod hook_output;
pub(crate) mod inline_handshake;
pub mod keepalive;
pub mod net;
pub mod shared;
pub(crate) mod tcp;
pub mod websocket;

use crate::error::Result;
use crate::outgoing::Outgoing;
use crate::status::Status;
use crate::xml::{Element, StreamEvent};
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What `send` says when `max_send_queue_bytes` of output are already
/// waiting: the server stopped reading, and the session ends (ERROR).
pub(crate) fn send_queue_full(limit: usize) -> crate::error::Error {
    crate::error::Error::io(format!(
        "send queue full: the server has not taken {limit} bytes of output"
    ))
}

/// Wakes the engine from a transport's helper thread (an HTTP answer, a
/// finished handshake); the engine then calls `read`.
pub(crate) type Notify = std::sync::Arc<dyn Fn() + Send + Sync>;

/// What a transport reports to the engine.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// Parsed stream input: the server's open, a stanza, or its close.
    Stream(StreamEvent),
    /// Raw text as received, for the rawInput hook.
    Raw(String),
    /// Raw text as sent, for the rawOutput hook: the text that went out,
    /// shared with it.
    RawOut(Arc<str>),
    /// The connection ended. `code` is the WebSocket close code that ended
    /// it, when there was one.
    Lost {
        code: Option<u16>,
        reason: String,
    },
    /// The transport gave the session up: report `status` with `condition`.
    Failed {
        status: Status,
        condition: String,
        code: Option<u16>,
    },
    /// An HTTP error status, for the protocol error handlers.
    ProtocolError {
        code: u16,
    },
    /// An attached session answered: it is alive.
    Alive,
    /// The session was ended on purpose elsewhere (a shared session's
    /// other handle, or the server): no reconnection.
    Closed {
        reason: String,
    },
    /// Joined a shared session that is up, as this full JID.
    Attached {
        jid: String,
    },
    /// A whole wrapper (a BOSH `<body>` with its stanzas) for the
    /// xmlInput / xmlOutput hooks, when the transport reports wrappers.
    XmlIn(Element),
    XmlOut(Element),
}

/// One way of carrying an XMPP stream. Every method is non-blocking except
/// `open`, which may connect within the timeout it is given.
pub(crate) trait Transport: Send {
    /// Connects and sends the stream header for `domain`.
    fn open(&mut self, domain: &str, timeout: Duration) -> Result<()>;
    /// `open` made on the caller's thread, blocking until connected or
    /// `deadline`; `line` lets another thread cut it. A transport that
    /// never blocks to open just opens.
    fn open_blocking(
        &mut self,
        domain: &str,
        deadline: Instant,
        _line: &handshake_line::HandshakeLine,
    ) -> Result<()> {
        self.open(domain, deadline.saturating_duration_since(Instant::now()))
    }
    /// Restarts the stream after SASL success (new header, fresh parser).
    fn restart(&mut self, domain: &str) -> Result<()>;
    /// Queues one serialized element (a stanza, a nonza, SASL, raw XML)
    /// for sending; a transport that keeps it clones the item, which
    /// shares the text.
    fn send(&mut self, item: &Outgoing) -> Result<()>;
    /// Queues the stream close.
    fn close(&mut self) -> Result<()>;
    /// Writes what is queued, as far as the link takes it now.
    fn flush(&mut self) -> Result<()>;
    /// Reports whatever has arrived, without blocking.
    fn read(&mut self, out: &mut Vec<Incoming>) -> Result<()>;
    /// The descriptor to wait on, and whether output is waiting for it.
    /// None: the transport wakes the engine through its mailbox instead.
    fn poll_fd(&self) -> Option<(RawFd, bool)>;
    /// When the transport next needs `read`/`flush` without any input.
    fn next_deadline(&self) -> Option<Instant> {
        None
    }
    /// Something arrived that `read` has not reported yet (a transport
    /// that wakes the engine through its mailbox, like BOSH).
    fn has_pending(&self) -> bool {
        false
    }
    /// Drops the connection at once.
    fn abort(&mut self);
    /// The connection is being freed: end the session if that can be done
    /// quickly, then drop it. A link kept for a later process (BOSH
    /// keepalive) is left for it.
    fn end(&mut self) {
        self.abort();
    }
    /// The xmlInput / xmlOutput hooks are set. A transport that returns
    /// true from `reports_wrappers` then reports whole wrappers itself.
    fn set_xml_hooks(&mut self, _input: bool, _output: bool) {}
    /// BOSH without `strip`: the hooks see `<body>`, not single stanzas.
    fn reports_wrappers(&self) -> bool {
        false
    }
    /// Whether `read` should also report raw input / raw output.
    fn set_raw_input(&mut self, on: bool);
    fn set_raw_output(&mut self, on: bool);
    /// Nothing the application sent is still on its way.
    fn idle(&self) -> bool {
        true
    }
    /// When something last arrived from the server (any message, frame or
    /// HTTP answer), for the liveness check. None: not yet, or unknown.
    fn last_heard(&self) -> Option<Instant> {
        None
    }
    /// How long this transport may hear nothing while the link is
    /// healthy: a BOSH long poll is answered only within TIMEOUT × wait.
    fn silence_allowed(&self) -> Duration {
        Duration::ZERO
    }
    /// Sends a transport-level probe the server answers without an XMPP
    /// session (a WebSocket ping frame). False: the transport has none.
    fn ping_frame(&mut self) -> Result<bool> {
        Ok(false)
    }
    /// The session is up as `jid` (None: it ended). BOSH keepalive
    /// persists it; the shared transport lets the other handles join.
    fn keepalive(&mut self, _jid: Option<&str>) {}
}

pub(crate) use hook_output::HookOutput;

/// For a transport with a descriptor being freed: sends what is queued
/// and the stream's close, then waits up to `timeout` for the server's
/// close, so that the server ends the session at once instead of keeping
/// it for resumption (ejabberd does when the TCP close comes first).
pub(crate) fn close_and_wait(t: &mut dyn Transport, timeout: Duration) {
    if t.close().is_err() {
        return;
    }
    let deadline = Instant::now() + timeout;
    let mut events = Vec::new();
    while Instant::now() < deadline {
        if t.flush().is_err() || t.read(&mut events).is_err() {
            return;
        }
        let closed = events.iter().any(|e| {
            matches!(
                e,
                Incoming::Lost { .. } | Incoming::Stream(StreamEvent::Close(_))
            )
        });
        let Some((fd, wants_write)) = t.poll_fd().filter(|_| !closed) else {
            return;
        };
        events.clear();
        let mask = if wants_write {
            libc::POLLIN | libc::POLLOUT
        } else {
            libc::POLLIN
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if crate::mailbox::poll_fds(&[(fd, mask)], Some(left)).is_err() {
            return;
        }
    }
}
