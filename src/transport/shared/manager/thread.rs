//! The manager's thread: it makes the handshake, then sleeps in poll()
//! on the inbox, the WebSocket and the Unix socket's ports, without the
//! manager's lock, and serves what woke it; at the end it leaves the
//! registry and answers what was posted too late.

use super::{unregister, Manager, ManagerHandle, Request};
use crate::error::Error;
use crate::liveness::Watch;
use crate::mailbox::{lock, poll_fds, Mailbox};
use crate::options::Options;
use crate::transport::handshake_line::HandshakeLine;
use crate::transport::shared::ports::{Delivery, Link, LocalPort, Port, PortId};
use crate::transport::shared::socket::Listener;
use crate::transport::websocket::WebSocketTransport;
use crate::transport::{Notify, Transport};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the manager's thread waits on in one poll(): the descriptors, and
/// which entries are the listener, the WebSocket and the remote ports.
struct PollSet {
    fds: Vec<(RawFd, i16)>,
    listener: Option<usize>,
    ws: Option<usize>,
    remotes: Vec<(usize, PortId)>,
    wait: Option<Duration>,
}

/// Starts the manager of `key` on its own thread, with `local` as the
/// driving port, and opens the WebSocket for `domain`.
pub(crate) fn spawn(
    key: String,
    url: &str,
    options: &Options,
    listener: Option<Listener>,
    local: Arc<LocalPort>,
    domain: &str,
) -> crate::error::Result<(Arc<ManagerHandle>, PortId)> {
    let driver: PortId = 1;
    let next_port = Arc::new(AtomicU64::new(driver + 1));
    // Only `open` wakes through it, and the manager connects with `open_here`.
    let notify: Notify = Arc::new(|| {});
    let manager = Manager {
        key,
        next_port: Arc::clone(&next_port),
        options: options.clone(),
        ws: WebSocketTransport::new(url, options, notify),
        listener,
        ports: vec![Port {
            id: driver,
            link: Link::Local(local),
            attached: true,
            waiting: None,
        }],
        driver: Some(driver),
        jid: None,
        closing: false,
        close_deadline: None,
        grace_deadline: None,
        ended: false,
        incoming: Vec::new(),
        watch: Watch::default(),
    };
    let handle = Arc::new(ManagerHandle {
        inbox: Mailbox::new()?,
        open: Mutex::new(true),
        next_port,
        driver,
        handshake: HandshakeLine::default(),
        manager: Mutex::new(manager),
    });
    let (domain, ours) = (domain.to_string(), Arc::clone(&handle));
    std::thread::Builder::new()
        .name("epode-worker".into())
        .stack_size(256 * 1024)
        .spawn(move || {
            connect(&ours, &domain);
            run(&ours);
            shut_down(&ours);
        })
        .map_err(|e| Error::io_from(format!("cannot start the worker thread: {e}"), e))?;
    Ok((handle, driver))
}

/// The handshake, holding the manager: requests queue until it is done.
fn connect(handle: &ManagerHandle, domain: &str) {
    let mut manager = lock(&handle.manager);
    let deadline = Instant::now() + manager.options.connect_timeout;
    let line = &handle.handshake;
    // Cut off by the driver: its Close or Leave, in the inbox, ends the
    // session as it would have without a handshake.
    if let Err(e) = manager.ws.open_here(domain, deadline, line) {
        if !line.aborted() {
            manager.fail(e);
        }
    }
}

/// The manager's thread: sleeps in poll() without the manager, then
/// serves whatever woke it, until the session has ended.
fn run(handle: &ManagerHandle) {
    let mut requests = Vec::new();
    loop {
        let set = {
            let manager = lock(&handle.manager);
            if manager.ended {
                return;
            }
            manager.poll_set(handle.inbox.wake_fd())
        };
        let Ok(revents) = poll_fds(&set.fds, set.wait) else {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        let mut manager = lock(&handle.manager);
        handle.inbox.drain(&mut requests);
        for request in requests.drain(..) {
            manager.request(request);
        }
        manager.on_ready(&set, &revents);
    }
}

/// Leaves the registry, then answers whatever was posted meanwhile.
fn shut_down(handle: &Arc<ManagerHandle>) {
    let key = lock(&handle.manager).key.clone();
    unregister(&key, handle);
    *lock(&handle.open) = false;
    let mut late = Vec::new();
    handle.inbox.drain(&mut late);
    for request in late {
        if let Request::Join { local, .. } = request {
            local.deliver(Delivery::Ended);
        }
    }
    let mut manager = lock(&handle.manager);
    manager.last_words_to_remotes();
    manager.ports.clear();
    manager.listener = None;
}

impl Manager {
    fn poll_set(&self, wake_fd: RawFd) -> PollSet {
        let mut set = PollSet {
            fds: vec![(wake_fd, libc::POLLIN)],
            listener: None,
            ws: None,
            remotes: Vec::new(),
            wait: self
                .next_deadline()
                .map(|d| d.saturating_duration_since(Instant::now())),
        };
        if let Some(l) = &self.listener {
            set.listener = Some(set.fds.len());
            set.fds.push((l.socket.as_raw_fd(), libc::POLLIN));
        }
        if let Some((fd, write)) = self.ws.poll_fd() {
            let out = if write { libc::POLLOUT } else { 0 };
            set.ws = Some(set.fds.len());
            set.fds.push((fd, libc::POLLIN | out));
        }
        for port in &self.ports {
            if let Link::Remote(r) = &port.link {
                let out = if r.output.is_empty() {
                    0
                } else {
                    libc::POLLOUT
                };
                set.remotes.push((set.fds.len(), port.id));
                set.fds.push((r.stream.as_raw_fd(), libc::POLLIN | out));
            }
        }
        set
    }

    /// Serves what poll() found ready, the timers, and the output.
    fn on_ready(&mut self, set: &PollSet, revents: &[i16]) {
        let ready = |slot: Option<usize>| slot.is_some_and(|i| revents[i] != 0);
        if ready(set.listener) {
            self.accept();
        }
        if ready(set.ws) || self.ws.has_pending() {
            self.read_server();
        }
        let remotes: Vec<PortId> = set
            .remotes
            .iter()
            .filter(|(i, _)| revents[*i] != 0)
            .map(|(_, id)| *id)
            .collect();
        self.read_remotes(&remotes);
        self.fire_timers();
        self.flush();
    }
}
