//! The ports of a worker's manager: what a handle receives, and the two
//! ends a port can have (a queue in this process, or a Unix socket to a
//! handle in another process, with its framed input and output).

use super::wire::{self, ToManager, ToPort};
use crate::error::Error;
use crate::mailbox::lock;
use crate::transport::Notify;
use crate::xml::StreamEvent;
use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub(crate) type PortId = u64;

/// A port's output may not grow past this: a handle in another process
/// that stops reading is dropped rather than let the manager's memory grow.
const MAX_BACKLOG: usize = 16 << 20;

/// What a port in this process receives.
#[derive(Debug, Clone)]
pub(crate) enum Delivery {
    Stream(StreamEvent),
    Raw(String),
    Attached(String),
    AttachFailed(String),
    Refused(String),
    Lost {
        code: Option<u16>,
        reason: String,
    },
    /// The session was ended on purpose (a handle's disconnect, the server's close).
    Closed(String),
    Error(Error),
    /// The manager had ended before it saw this join: look again.
    Ended,
}

/// The in-memory end of a port: what the manager delivered, not yet read.
pub(crate) struct LocalPort {
    queue: Mutex<VecDeque<Delivery>>,
    notify: Notify,
    pub want_raw: AtomicBool,
}

impl LocalPort {
    pub fn new(notify: Notify) -> Arc<LocalPort> {
        Arc::new(LocalPort {
            queue: Mutex::new(VecDeque::new()),
            notify,
            want_raw: AtomicBool::new(false),
        })
    }

    pub(super) fn deliver(&self, d: Delivery) {
        lock(&self.queue).push_back(d);
        (self.notify)();
    }

    pub fn take(&self, out: &mut Vec<Delivery>) {
        out.extend(lock(&self.queue).drain(..));
    }

    pub fn is_empty(&self) -> bool {
        lock(&self.queue).is_empty()
    }
}

pub(super) enum Link {
    Local(Arc<LocalPort>),
    Remote(RemotePort),
}

pub(super) struct RemotePort {
    pub stream: UnixStream,
    pub input: Vec<u8>,
    pub output: Vec<u8>,
}

pub(super) struct Port {
    pub id: PortId,
    pub link: Link,
    /// Hears the session (joined, or the driver).
    pub attached: bool,
    /// Waits for the login in progress; `Some` carries the JID it asked for.
    pub waiting: Option<Option<String>>,
}

impl Port {
    pub fn send(&mut self, d: Delivery, text: &mut Option<String>) {
        match &mut self.link {
            Link::Local(local) => local.deliver(d),
            Link::Remote(remote) => {
                let frame = match d {
                    Delivery::Stream(StreamEvent::Stanza(e)) => {
                        ToPort::Message(text.get_or_insert_with(|| e.to_string()).clone())
                    }
                    Delivery::Stream(_) | Delivery::Raw(_) | Delivery::Ended => return,
                    Delivery::Attached(jid) => ToPort::Attached(jid),
                    Delivery::AttachFailed(why) => ToPort::AttachFailed(why),
                    Delivery::Refused(why) => ToPort::Refused(why),
                    Delivery::Lost { reason, .. } => ToPort::Lost(reason),
                    Delivery::Closed(reason) => ToPort::Closed(reason),
                    Delivery::Error(e) => ToPort::Error(e.to_string()),
                };
                frame.encode(&mut remote.output);
            }
        }
    }

    pub fn wants_raw(&self) -> bool {
        matches!(&self.link, Link::Local(l) if l.want_raw.load(Ordering::Relaxed))
    }
}

/// Reads what a remote port sent. False: its link closed or it sent garbage.
pub(super) fn read_port(port: &mut RemotePort, limit: usize, out: &mut Vec<ToManager>) -> bool {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match port.stream.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => port.input.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
        if wire::take_to_manager(&mut port.input, limit, out).is_err() {
            return false;
        }
    }
    wire::take_to_manager(&mut port.input, limit, out).is_ok()
}

/// Writes a remote port's backlog. False: its link is gone, or it stopped
/// reading and the backlog passed MAX_BACKLOG.
pub(super) fn write_port(port: &mut RemotePort) -> bool {
    while !port.output.is_empty() {
        match port.stream.write(&port.output) {
            Ok(0) => return false,
            Ok(n) => {
                port.output.drain(..n);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    port.output.len() <= MAX_BACKLOG
}
