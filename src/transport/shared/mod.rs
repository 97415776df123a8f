//! The shared connection (seed 000's SharedWorker, done natively): every
//! handle that names the same `worker` uses one WebSocket, owned by a
//! manager. A worker name without '/' is shared inside one process; a
//! path names a Unix socket shared by every process of the same user.
//!
//! This is the handle's side: a `Transport` that speaks to the manager,
//! in memory when the manager runs in this process, over the Unix socket
//! when another process hosts it.

mod manager;
mod ports;
mod socket;
pub(crate) mod wire;

use crate::error::{Error, Result};
use crate::mailbox::lock;
use crate::options::Options;
use crate::outgoing::Outgoing;
use crate::status::Status;
use crate::transport::websocket::{close_element, open_element};
use crate::transport::{HookOutput, Incoming, Notify, Transport};
use crate::xml::{Element, Limits, StreamEvent, StreamParser};
use manager::{JoinMode, ManagerHandle, Request};
use ports::{Delivery, LocalPort, PortId};
use socket::{find_host, Found, Listener, TakeoverLock};
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wire::{ToManager, ToPort};

/// How long a session with no handle left stays up (Strophe: 10 s), so
/// that a program restarting its only handle does not log in again.
pub(crate) const GRACE: Duration = Duration::from_secs(10);

/// The managers running in this process, by worker key.
static MANAGERS: Mutex<Option<HashMap<String, Arc<ManagerHandle>>>> = Mutex::new(None);

/// Forgets `key`'s manager, if it is still `handle` (a newer one may have
/// taken the key after this one ended).
pub(crate) fn unregister(key: &str, handle: &Arc<ManagerHandle>) {
    let mut managers = lock(&MANAGERS);
    let map = managers.get_or_insert_with(HashMap::new);
    if map.get(key).is_some_and(|h| Arc::ptr_eq(h, handle)) {
        map.remove(key);
    }
}

/// A worker: a name inside this process, or a Unix socket path.
#[derive(Debug, Clone)]
enum Worker {
    Name(String),
    Path(PathBuf),
}

impl Worker {
    fn parse(worker: &str) -> Result<Worker> {
        if worker.is_empty() {
            return Err(Error::InvalidArgument("the worker name is empty".into()));
        }
        if !worker.contains('/') {
            return Ok(Worker::Name(worker.to_string()));
        }
        let path = PathBuf::from(worker);
        let path = if path.is_absolute() {
            path
        } else {
            std::env::current_dir()?.join(path)
        };
        Ok(Worker::Path(path))
    }

    fn key(&self) -> String {
        match self {
            Worker::Name(name) => format!("name:{name}"),
            Worker::Path(path) => format!("path:{}", path.display()),
        }
    }
}

/// How this handle reaches its manager.
enum PortLink {
    Local {
        manager: Arc<ManagerHandle>,
        port: PortId,
        inbox: Arc<LocalPort>,
    },
    Remote {
        stream: UnixStream,
        input: Vec<u8>,
        output: Vec<u8>,
    },
}

pub(crate) struct SharedTransport {
    worker: Worker,
    url: String,
    options: Options,
    notify: Notify,
    /// The JID `connect()` asked for; None for `attach()`.
    account: Option<String>,
    link: Option<PortLink>,
    /// This handle opened the socket and logs in through it.
    driver: bool,
    /// A failure found before any manager was reached, reported by `read`.
    early: Option<Incoming>,
    domain: String,
    rejoins: u8,
    parser: StreamParser,
    raw_input: bool,
    /// For the output hooks: the text sent, the `<open/>`s and `<close/>`.
    hook_output: HookOutput,
    deliveries: Vec<Delivery>,
    frames: Vec<ToPort>,
    events: Vec<StreamEvent>,
}

impl SharedTransport {
    /// A handle of `worker` that will `connect()` as `account`, or
    /// `attach()` when `account` is None.
    pub fn new(
        worker: &str,
        url: &str,
        options: &Options,
        notify: Notify,
        account: Option<&str>,
    ) -> Result<SharedTransport> {
        Ok(SharedTransport {
            worker: Worker::parse(worker)?,
            url: url.to_string(),
            options: options.clone(),
            notify,
            account: account.map(str::to_string),
            link: None,
            driver: false,
            early: None,
            domain: String::new(),
            rejoins: 0,
            parser: StreamParser::with_limits(Limits {
                max_stanza_bytes: options.max_stanza_bytes,
                max_depth: options.max_depth,
            }),
            raw_input: false,
            hook_output: HookOutput::default(),
            deliveries: Vec::new(),
            frames: Vec::new(),
            events: Vec::new(),
        })
    }

    fn join_mode(&self) -> JoinMode {
        match &self.account {
            Some(jid) => JoinMode::Connect(jid.clone()),
            None => JoinMode::Attach,
        }
    }

    /// Finds the worker's manager and joins it; with none anywhere,
    /// `connect()` starts one here (and hosts the socket of a path worker).
    fn join(&mut self) -> Result<()> {
        let key = self.worker.key();
        let mut managers = lock(&MANAGERS);
        let map = managers.get_or_insert_with(HashMap::new);
        if let Some(manager) = map.get(&key).cloned() {
            let (inbox, port) = (LocalPort::new(Arc::clone(&self.notify)), manager.new_port());
            let local = Arc::clone(&inbox);
            if manager.post(Request::Join {
                port,
                local,
                mode: self.join_mode(),
            }) {
                self.link = Some(PortLink::Local {
                    manager,
                    port,
                    inbox,
                });
                return Ok(());
            }
            map.remove(&key);
        }
        let mut listener = None;
        if let Worker::Path(path) = &self.worker {
            if let Found::Host(stream) = find_host(path)? {
                return self.join_remote(stream);
            }
            if self.account.is_some() {
                let _lock = TakeoverLock::acquire(path, Duration::from_secs(2))?;
                // Another process may have won the race for the socket.
                if let Found::Host(stream) = find_host(path)? {
                    return self.join_remote(stream);
                }
                listener = Some(Listener::bind(path)?);
            }
        }
        if self.account.is_none() {
            self.early = Some(attach_failed("no shared session is up on this worker"));
            (self.notify)();
            return Ok(());
        }
        let inbox = LocalPort::new(Arc::clone(&self.notify));
        inbox
            .want_raw
            .store(self.raw_input, std::sync::atomic::Ordering::Relaxed);
        let (manager, port) = manager::spawn(
            key.clone(),
            &self.url,
            &self.options,
            listener,
            Arc::clone(&inbox),
            &self.domain,
        )?;
        map.insert(key, Arc::clone(&manager));
        self.driver = true;
        self.record_framing(open_element(&self.domain));
        self.link = Some(PortLink::Local {
            manager,
            port,
            inbox,
        });
        Ok(())
    }

    fn join_remote(&mut self, stream: UnixStream) -> Result<()> {
        stream.set_nonblocking(true)?;
        let mut output = Vec::new();
        match &self.account {
            Some(jid) => ToManager::Connect(jid.clone()).encode(&mut output),
            None => ToManager::Attach.encode(&mut output),
        }
        self.link = Some(PortLink::Remote {
            stream,
            input: Vec::new(),
            output,
        });
        Ok(())
    }

    fn record_out(&mut self, text: Arc<str>) {
        self.hook_output.raw(&text);
    }

    /// An `<open/>` or `<close/>`, for the raw and xml output hooks.
    fn record_framing(&mut self, elem: Element) {
        self.record_out(elem.to_string().into());
        self.hook_output.xml(|| elem);
    }

    fn ask_manager(&mut self, ask: ToManager) -> Result<()> {
        match self.link.as_mut() {
            Some(PortLink::Local { manager, port, .. }) => {
                let port = *port;
                let request = match ask {
                    ToManager::Send(xml) => Request::Send { port, xml },
                    ToManager::Close => Request::Close { port },
                    ToManager::Connect(_) | ToManager::Attach => return Ok(()),
                };
                manager.post(request);
                Ok(())
            }
            Some(PortLink::Remote { output, .. }) => {
                ask.encode(output);
                Ok(())
            }
            None => Err(Error::WrongState("not joined to a worker".into())),
        }
    }

    fn read_local(&mut self, out: &mut Vec<Incoming>) -> Result<()> {
        let Some(PortLink::Local { inbox, .. }) = &self.link else {
            return Ok(());
        };
        let mut deliveries = std::mem::take(&mut self.deliveries);
        inbox.take(&mut deliveries);
        let mut result = Ok(());
        for d in deliveries.drain(..) {
            match d {
                Delivery::Stream(event) => out.push(Incoming::Stream(event)),
                Delivery::Raw(text) => out.push(Incoming::Raw(text)),
                Delivery::Attached(jid) => out.push(Incoming::Attached { jid }),
                Delivery::AttachFailed(why) => out.push(attach_failed(&why)),
                Delivery::Refused(why) => out.push(refused(&why)),
                Delivery::Lost { code, reason } => out.push(Incoming::Lost { code, reason }),
                Delivery::Closed(reason) => out.push(Incoming::Closed { reason }),
                Delivery::Error(e) => {
                    result = Err(e);
                    break;
                }
                Delivery::Ended => {
                    // The manager ended just as we joined: look again.
                    self.link = None;
                    self.rejoins += 1;
                    if self.rejoins > 3 {
                        out.push(attach_failed("the worker kept ending"));
                    } else {
                        result = self.join();
                    }
                    break;
                }
            }
        }
        self.deliveries = deliveries;
        result
    }

    fn read_remote(&mut self, out: &mut Vec<Incoming>) -> Result<()> {
        let Some(PortLink::Remote { stream, input, .. }) = self.link.as_mut() else {
            return Ok(());
        };
        let mut buf = [0u8; 16 * 1024];
        let mut closed = false;
        loop {
            match stream.read(&mut buf) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => input.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        let mut frames = std::mem::take(&mut self.frames);
        let limit = self.options.max_stanza_bytes + 1024;
        let decoded = wire::take_to_port(input, limit, &mut frames);
        let mut result = Ok(());
        for frame in frames.drain(..) {
            if let Err(e) = self.remote_frame(frame, out) {
                result = Err(e);
                break;
            }
        }
        self.frames = frames;
        result?;
        decoded?;
        if closed {
            self.link = None;
            out.push(Incoming::Lost {
                code: None,
                reason: "the process hosting the shared connection went away".into(),
            });
        }
        Ok(())
    }

    fn remote_frame(&mut self, frame: ToPort, out: &mut Vec<Incoming>) -> Result<()> {
        match frame {
            ToPort::Attached(jid) => out.push(Incoming::Attached { jid }),
            ToPort::AttachFailed(why) => out.push(attach_failed(&why)),
            ToPort::Refused(why) => out.push(refused(&why)),
            ToPort::Lost(reason) => out.push(Incoming::Lost { code: None, reason }),
            ToPort::Closed(reason) => out.push(Incoming::Closed { reason }),
            ToPort::Error(why) => return Err(Error::io(why)),
            ToPort::Message(xml) => {
                // One stanza per frame, as one per WebSocket message.
                self.parser.reset();
                self.parser.feed_into(xml.as_bytes(), &mut self.events)?;
                if self.raw_input {
                    out.push(Incoming::Raw(xml));
                }
                out.extend(self.events.drain(..).map(Incoming::Stream));
            }
        }
        Ok(())
    }
}

fn attach_failed(why: &str) -> Incoming {
    Incoming::Failed {
        status: Status::AttachFail,
        condition: why.to_string(),
        code: None,
    }
}

fn refused(why: &str) -> Incoming {
    Incoming::Failed {
        status: Status::ConnFail,
        condition: why.to_string(),
        code: None,
    }
}

impl Transport for SharedTransport {
    fn open(&mut self, domain: &str, _timeout: Duration) -> Result<()> {
        self.domain = domain.to_string();
        self.join()
    }

    fn restart(&mut self, domain: &str) -> Result<()> {
        match &self.link {
            Some(PortLink::Local { manager, port, .. }) if self.driver => {
                manager.post(Request::Restart {
                    port: *port,
                    domain: domain.to_string(),
                });
                self.parser.reset();
                self.record_framing(open_element(domain));
                Ok(())
            }
            _ => Err(Error::WrongState(
                "only the handle that opened the shared socket logs in".into(),
            )),
        }
    }

    fn send(&mut self, item: &Outgoing) -> Result<()> {
        self.record_out(Arc::clone(item.shared_text()));
        self.ask_manager(ToManager::Send(Arc::clone(item.shared_text())))
    }

    fn close(&mut self) -> Result<()> {
        self.record_framing(close_element());
        self.ask_manager(ToManager::Close)
    }

    fn flush(&mut self) -> Result<()> {
        let Some(PortLink::Remote { stream, output, .. }) = self.link.as_mut() else {
            return Ok(());
        };
        while !output.is_empty() {
            match stream.write(output) {
                Ok(n) => {
                    output.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io_from(format!("the shared connection: {e}"), e)),
            }
        }
        Ok(())
    }

    fn read(&mut self, out: &mut Vec<Incoming>) -> Result<()> {
        if let Some(early) = self.early.take() {
            out.push(early);
        }
        self.hook_output.drain_into(out);
        match &self.link {
            Some(PortLink::Local { .. }) => self.read_local(out),
            Some(PortLink::Remote { .. }) => self.read_remote(out),
            None => Ok(()),
        }
    }

    fn poll_fd(&self) -> Option<(RawFd, bool)> {
        match &self.link {
            Some(PortLink::Remote { stream, output, .. }) => {
                Some((stream.as_raw_fd(), !output.is_empty()))
            }
            _ => None,
        }
    }

    /// Also what was sent but not yet shown to the output hooks (as for
    /// the WebSocket and BOSH transports): they run as the text goes out.
    fn has_pending(&self) -> bool {
        self.hook_output.pending()
            || self.early.is_some()
            || matches!(&self.link, Some(PortLink::Local { inbox, .. }) if !inbox.is_empty())
    }

    fn abort(&mut self) {
        if let Some(PortLink::Local { manager, port, .. }) = self.link.take() {
            manager.post(Request::Leave { port });
        }
        // A remote link closes as its stream drops: the manager sees EOF.
    }

    fn set_raw_input(&mut self, on: bool) {
        self.raw_input = on;
        if let Some(PortLink::Local { inbox, .. }) = &self.link {
            inbox
                .want_raw
                .store(on, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn set_raw_output(&mut self, on: bool) {
        self.hook_output.want_raw(on);
    }

    fn set_xml_hooks(&mut self, _input: bool, output: bool) {
        self.hook_output.want_xml(output);
    }

    fn idle(&self) -> bool {
        !matches!(&self.link, Some(PortLink::Remote { output, .. }) if !output.is_empty())
    }

    /// The driver is bound: the other handles may join now.
    fn keepalive(&mut self, jid: Option<&str>) {
        if let (Some(jid), Some(PortLink::Local { manager, port, .. }), true) =
            (jid, &self.link, self.driver)
        {
            manager.post(Request::Established {
                port: *port,
                jid: jid.to_string(),
            });
        }
    }
}

impl Drop for SharedTransport {
    fn drop(&mut self) {
        self.abort();
    }
}
