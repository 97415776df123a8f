//! The manager of one worker (seed 000's ConnectionManager): it owns the
//! one real WebSocket and a list of ports. The first handle drives the
//! login; until the session is up only it hears the server. Afterwards
//! every stanza goes to every port and any port may send. A port that
//! leaves detaches only; `disconnect()` from any port ends the session
//! for all; with no port left the session ends after a grace period.
//!
//! It lives in the process that opened the socket, and serves handles of
//! that process (in-memory ports) and, for a worker named by a path,
//! handles of other processes (ports on the Unix socket). Its own thread
//! waits on the sockets; a handle of this process that finds the manager
//! free serves its own request on its thread (a stanza goes out without a
//! hand-off), else leaves it in the inbox for the manager's thread.

use super::ports::{Delivery, Link, LocalPort, Port, PortId};
use super::socket::Listener;
use super::{unregister, GRACE};
use crate::error::Error;
use crate::jid;
use crate::liveness::{Verdict, Watch};
use crate::mailbox::{lock, Mailbox};
use crate::options::Options;
use crate::transport::handshake_line::HandshakeLine;
use crate::transport::websocket::WebSocketTransport;
use crate::transport::{Incoming, Transport};
use crate::xml::{Element, StreamEvent};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod remote_ports;
mod thread;

pub(crate) use thread::spawn;

pub(crate) enum JoinMode {
    /// `connect()` as this JID: attach if that account's session is up.
    Connect(String),
    /// `attach()`: join whatever session is up.
    Attach,
}

/// What the handles of this process ask of the manager.
pub(crate) enum Request {
    Join {
        port: PortId,
        local: Arc<LocalPort>,
        mode: JoinMode,
    },
    Send {
        port: PortId,
        xml: Arc<str>,
    },
    /// The driver's SASL succeeded: restart the stream.
    Restart {
        port: PortId,
        domain: String,
    },
    /// The driver is bound: the session is up as this JID.
    Established {
        port: PortId,
        jid: String,
    },
    /// `disconnect()`: end the session for everyone.
    Close {
        port: PortId,
    },
    Leave {
        port: PortId,
    },
}

/// How handles reach a manager: its inbox, closed once it has ended, and
/// the manager itself.
pub(crate) struct ManagerHandle {
    inbox: Mailbox<Request>,
    open: Mutex<bool>,
    next_port: Arc<AtomicU64>,
    /// The port logging in, and the socket of its handshake: the manager
    /// connects on its own thread, so the driver's `disconnect()` or
    /// `free` cuts the handshake here rather than wait in the inbox.
    driver: PortId,
    handshake: HandshakeLine,
    /// Held by the manager's thread while it works, not while it sleeps
    /// in poll(): a handle that finds it free serves its own request.
    manager: Mutex<Manager>,
}

impl ManagerHandle {
    pub fn new_port(&self) -> PortId {
        self.next_port.fetch_add(1, Ordering::Relaxed)
    }

    /// Hands `request` to the manager, unless it has ended (then the
    /// caller looks again). Served at once on the caller's thread when the
    /// manager is free, which saves a thread hand-off per stanza sent;
    /// queued for the manager's thread otherwise. Other handles' requests
    /// wait for a handshake in progress (it ends within `connect_timeout`).
    pub fn post(&self, request: Request) -> bool {
        if let Request::Close { port } | Request::Leave { port } = &request {
            if *port == self.driver {
                self.handshake.abort();
            }
        }
        let open = lock(&self.open);
        if *open {
            match self.manager.try_lock() {
                // An ended manager answers what it is sent as it shuts down.
                Ok(mut manager) if !manager.ended => manager.serve_now(&self.inbox, request),
                _ => self.inbox.post(request),
            }
        }
        *open
    }
}

pub(crate) struct Manager {
    key: String,
    next_port: Arc<AtomicU64>,
    options: Options,
    ws: WebSocketTransport,
    listener: Option<Listener>,
    ports: Vec<Port>,
    driver: Option<PortId>,
    /// The session's full JID, once the driver is bound.
    jid: Option<String>,
    closing: bool,
    close_deadline: Option<Instant>,
    grace_deadline: Option<Instant>,
    ended: bool,
    incoming: Vec<Incoming>,
    /// The session's liveness check: the socket is ours to watch.
    watch: Watch,
}

impl Manager {
    /// A port id for a handle of another process (they share one counter
    /// with the handles of this one).
    fn new_port(&self) -> PortId {
        self.next_port.fetch_add(1, Ordering::Relaxed)
    }

    /// Serves `request` on a handle's thread, after what the inbox holds
    /// (the same handle's earlier requests may wait there), and wakes the
    /// manager's thread if what it waits on or for how long has changed.
    fn serve_now(&mut self, inbox: &Mailbox<Request>, request: Request) {
        let mut queued = Vec::new();
        inbox.drain(&mut queued);
        let same_wait = queued.is_empty() && matches!(request, Request::Send { .. });
        for earlier in queued {
            self.request(earlier);
        }
        self.request(request);
        self.flush();
        if !same_wait || self.ended || self.output_waiting() {
            inbox.wake();
        }
    }

    /// Output the sockets have not taken: poll() must wait for POLLOUT.
    fn output_waiting(&self) -> bool {
        self.ws.poll_fd().is_some_and(|(_, write)| write)
            || self
                .ports
                .iter()
                .any(|p| matches!(&p.link, Link::Remote(r) if !r.output.is_empty()))
    }

    fn next_deadline(&self) -> Option<Instant> {
        [
            self.close_deadline,
            self.grace_deadline,
            self.ws.next_deadline(),
            self.watch_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The liveness check's next deadline (its socket is ours to watch).
    fn watch_deadline(&self) -> Option<Instant> {
        let (interval, timeout) = (self.options.ping_interval, self.options.ping_timeout);
        self.watch.deadline(interval, timeout, self.ws.last_heard())
    }

    fn port(&mut self, id: PortId) -> Option<&mut Port> {
        self.ports.iter_mut().find(|p| p.id == id)
    }

    // ---- what handles ask ----

    fn request(&mut self, request: Request) {
        match request {
            Request::Join { port, local, mode } => {
                self.ports.push(Port {
                    id: port,
                    link: Link::Local(local),
                    attached: false,
                    waiting: None,
                });
                self.join(port, mode);
            }
            Request::Send { port, xml } => self.send(port, xml),
            Request::Restart { port, domain } => {
                if self.driver == Some(port) && self.jid.is_none() {
                    if let Err(e) = self.ws.restart(&domain) {
                        self.fail(e);
                    }
                }
            }
            Request::Established { port, jid } => {
                if self.driver == Some(port) && self.jid.is_none() {
                    self.established(jid);
                }
            }
            Request::Close { port } => self.close(port),
            Request::Leave { port } => self.leave(port),
        }
    }

    fn join(&mut self, id: PortId, mode: JoinMode) {
        self.grace_deadline = None;
        let wanted = match mode {
            JoinMode::Connect(jid) => Some(jid),
            JoinMode::Attach => None,
        };
        if self.closing {
            let why = "the shared session is ending".to_string();
            self.deliver_to(id, Delivery::AttachFailed(why));
        } else if let Some(session) = self.jid.clone() {
            let verdict = admit(&session, wanted.as_deref());
            if let Some(port) = self.port(id) {
                port.attached = matches!(verdict, Delivery::Attached(_));
            }
            self.deliver_to(id, verdict);
        } else if let Some(port) = self.port(id) {
            port.waiting = Some(wanted);
        }
    }

    fn established(&mut self, session: String) {
        self.jid = Some(session.clone());
        if !self.options.ping_interval.is_zero() {
            self.watch.start(Instant::now());
        }
        let mut none = None;
        for port in self.ports.iter_mut() {
            if let Some(wanted) = port.waiting.take() {
                let verdict = admit(&session, wanted.as_deref());
                port.attached = matches!(verdict, Delivery::Attached(_));
                port.send(verdict, &mut none);
            }
        }
    }

    fn send(&mut self, id: PortId, xml: Arc<str>) {
        let allowed = !self.closing
            && self.ports.iter().any(|p| p.id == id && p.attached)
            && (self.jid.is_some() || self.driver == Some(id));
        if allowed {
            if let Err(e) = self.ws.send_text(xml) {
                self.fail(e);
            }
        }
    }

    fn close(&mut self, id: PortId) {
        let attached = self.ports.iter().any(|p| p.id == id && p.attached);
        if !attached {
            // A handle still waiting for the login gives up waiting.
            self.deliver_to(id, lost("closed before the shared session was up"));
            if let Some(port) = self.port(id) {
                port.waiting = None;
            }
            return;
        }
        if self.closing {
            return;
        }
        // Every other handle learns at once, not when it next sends.
        let mut none = None;
        for port in self.ports.iter_mut().filter(|p| p.id != id && p.attached) {
            port.attached = false;
            let why = "the shared session was ended by another handle".to_string();
            port.send(Delivery::Closed(why), &mut none);
        }
        self.begin_close(self.options.disconnection_timeout);
    }

    fn begin_close(&mut self, timeout: Duration) {
        self.closing = true;
        self.grace_deadline = None;
        self.close_deadline = Some(Instant::now() + timeout);
        if self.ws.close().is_err() {
            self.end_session(lost("the WebSocket closed"));
        }
    }

    fn leave(&mut self, id: PortId) {
        self.ports.retain(|p| p.id != id);
        if self.driver == Some(id) && self.jid.is_none() {
            self.driver = None;
            self.end_session(Delivery::AttachFailed(
                "the handle logging in went away".into(),
            ));
        } else if self.ports.is_empty() && !self.closing {
            self.grace_deadline = Some(Instant::now() + GRACE);
        }
    }

    // ---- the server ----

    fn read_server(&mut self) {
        let mut incoming = std::mem::take(&mut self.incoming);
        if !self.ended {
            let want_raw = self.ports.iter().any(Port::wants_raw);
            self.ws.set_raw_input(want_raw);
            let result = self.ws.read(&mut incoming);
            for event in incoming.drain(..) {
                self.on_server_event(event);
            }
            if let Err(e) = result {
                self.fail(e);
            }
        }
        self.incoming = incoming;
    }

    fn on_server_event(&mut self, event: Incoming) {
        if self.ended {
            return;
        }
        match event {
            Incoming::Stream(StreamEvent::Close(close)) => {
                if self.jid.is_none() {
                    // The login's own business (a redirect, say): the driver decides.
                    self.tell_hearers(Delivery::Stream(StreamEvent::Close(close)));
                    self.end_session(Delivery::AttachFailed(
                        "the server closed the stream".into(),
                    ));
                } else {
                    self.end_session(Delivery::Closed("the server closed the stream".into()));
                }
            }
            Incoming::Stream(StreamEvent::Stanza(stanza)) => {
                self.answer_ping(&stanza);
                self.tell_hearers(Delivery::Stream(StreamEvent::Stanza(stanza)))
            }
            Incoming::Stream(open) => self.tell_hearers(Delivery::Stream(open)),
            Incoming::Raw(text) => {
                let mut none = None;
                for port in self
                    .ports
                    .iter_mut()
                    .filter(|p| p.attached && p.wants_raw())
                {
                    port.send(Delivery::Raw(text.clone()), &mut none);
                }
            }
            Incoming::Lost { code, reason } => {
                let mut none = None;
                for port in self.ports.iter_mut().filter(|p| p.attached) {
                    let reason = reason.clone();
                    port.send(Delivery::Lost { code, reason }, &mut none);
                    port.attached = false;
                }
                self.end_session(Delivery::AttachFailed(reason));
            }
            _ => {}
        }
    }

    /// A ping to the session is answered once, here: every handle hears
    /// it, and none may answer for the others.
    fn answer_ping(&mut self, stanza: &Element) {
        let pong = crate::ping::pong_for(stanza).filter(|_| self.jid.is_some());
        if let Some(pong) = pong {
            if let Err(e) = self.ws.send_text(pong.to_xml().into()) {
                self.fail(e);
            }
        }
    }

    /// One delivery to every port that hears the session: in-memory ports
    /// get it (the last one without a copy), ports in other processes a
    /// stanza's text, serialized once for all of them.
    fn tell_hearers(&mut self, d: Delivery) {
        let hearers: Vec<usize> = (0..self.ports.len())
            .filter(|&i| self.ports[i].attached)
            .collect();
        let mut text = None;
        let mut d = Some(d);
        for (n, &i) in hearers.iter().enumerate() {
            let this = if n + 1 == hearers.len() {
                d.take()
            } else {
                d.clone()
            };
            if let Some(this) = this {
                self.ports[i].send(this, &mut text);
            }
        }
    }

    /// The server broke the stream, or a write failed: everyone hears why.
    fn fail(&mut self, e: Error) {
        let mut none = None;
        for port in self.ports.iter_mut().filter(|p| p.attached) {
            port.send(Delivery::Error(e.clone()), &mut none);
            port.attached = false;
        }
        self.end_session(Delivery::AttachFailed(e.to_string()));
    }

    /// The socket is gone: waiters hear `to_waiters`, and so do hearers
    /// when it says why the session ended (lost or closed).
    fn end_session(&mut self, to_waiters: Delivery) {
        self.ws.abort();
        let mut none = None;
        let to_hearers = matches!(to_waiters, Delivery::Lost { .. } | Delivery::Closed(_));
        for port in self.ports.iter_mut() {
            if port.waiting.take().is_some() || (port.attached && to_hearers) {
                port.send(to_waiters.clone(), &mut none);
            }
            port.attached = false;
        }
        self.ended = true;
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        if self.grace_deadline.is_some_and(|d| d <= now) {
            self.grace_deadline = None;
            // Nobody is left to hear the server's answer: wait briefly.
            self.begin_close(Duration::from_secs(2));
        }
        if self.close_deadline.is_some_and(|d| d <= now) {
            self.close_deadline = None;
            self.end_session(lost("the server did not answer the close"));
        }
        if !self.ended && !self.closing {
            let (interval, timeout) = (self.options.ping_interval, self.options.ping_timeout);
            match self
                .watch
                .check(now, interval, timeout, self.ws.last_heard())
            {
                Verdict::Nothing => {}
                Verdict::Probe => {
                    if let Err(e) = self.ws.ping_frame() {
                        self.fail(e);
                    }
                }
                Verdict::Dead(reason) => {
                    self.on_server_event(Incoming::Lost { code: None, reason })
                }
            }
        }
    }

    fn flush(&mut self) {
        if !self.ended {
            if let Err(e) = self.ws.flush() {
                self.fail(e);
            }
        }
        self.write_remotes();
    }

    fn deliver_to(&mut self, id: PortId, d: Delivery) {
        let mut none = None;
        if let Some(port) = self.port(id) {
            port.send(d, &mut none);
        }
    }
}

fn lost(reason: &str) -> Delivery {
    Delivery::Lost {
        code: None,
        reason: reason.to_string(),
    }
}

/// Who may join a session of `session`: `connect()` only as its account.
fn admit(session: &str, wanted: Option<&str>) -> Delivery {
    match wanted {
        // Normalised: `Alice@LocalHost` is the account bound as alice@localhost.
        Some(want) if !jid::same_account(want, session) => Delivery::Refused(format!(
            "the worker is logged in as {}, not {}",
            jid::bare(session),
            jid::bare(want)
        )),
        _ => Delivery::Attached(session.to_string()),
    }
}
