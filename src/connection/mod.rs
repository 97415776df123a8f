//! `Connection`: the public handle. API calls post commands to the engine;
//! the engine runs on its own thread, or on the caller's in sync mode.
//! This file holds the handle itself (creating it, borrowed handles,
//! posting, dropping); its methods live by concern beside it: lifecycle.rs
//! (connect, attach, disconnect, close), sending.rs (send, IQs, pause),
//! handlers.rs (callbacks and hooks), getters.rs (reading the session),
//! driving.rs (the engine thread and sync mode).

mod driving;
mod getters;
mod handlers;
mod lifecycle;
mod sending;

use crate::engine::{Command, Core, Engine, PublicState};
use crate::error::{Error, Result};
use crate::log::Logger;
use crate::mailbox::{lock, Mailbox};
use crate::options::{select_transport, Options};
use crate::sm::StreamManagement;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};

/// An XMPP connection (Strophe's `Connection`).
///
/// The owning handle from [`Connection::new`] ends the session and stops
/// the engine when dropped; the handles passed to callbacks borrow it.
///
/// Every method may be called from any thread and from inside callbacks.
/// Callbacks run on the connection's engine thread (or, in sync mode, on
/// the thread inside `connect`/`send`/`run_once`), one at a time. A
/// blocking program waits for what its callbacks report, for instance on a
/// channel:
///
/// ```no_run
/// use epode::{Connection, Options, Status};
/// use std::sync::mpsc;
///
/// let conn = Connection::new("wss://example.com/xmpp-websocket", Options::default())?;
/// let (tx, rx) = mpsc::channel();
/// conn.connect("alice@example.com", Some("secret"), move |_, status, _, _| {
///     tx.send(status).ok();
/// })?;
/// for status in rx {
///     match status {
///         Status::Connected => println!("online"),
///         Status::Disconnected => break,
///         _ => {}
///     }
/// }
/// # Ok::<(), epode::Error>(())
/// ```
pub struct Connection {
    core: Arc<Core>,
    owner: bool,
}

impl Connection {
    /// Creates a connection to `service` (a ws/wss/http/https URL, or a
    /// path resolved against the `origin` option). Nothing is sent yet.
    /// The scheme picks the transport: ws/wss WebSocket, http/https BOSH.
    ///
    /// ```
    /// use epode::{Connection, Options};
    ///
    /// let mut options = Options::default();
    /// options.set("origin", "https://example.com/chat")?;
    /// options.set("protocol", "wss")?;
    /// let conn = Connection::new("/xmpp-websocket", options)?;
    /// assert_eq!(conn.service(), "wss://example.com/xmpp-websocket");
    /// assert!(Connection::new("/http-bind", Options::default()).is_err()); // no origin
    /// # Ok::<(), epode::Error>(())
    /// ```
    pub fn new(service: &str, options: Options) -> Result<Connection> {
        let kind = select_transport(service, &options)?;
        let mut options = options;
        if options.keepalive && options.keepalive_path.is_none() {
            options.keepalive_path = Some(crate::transport::keepalive::default_path()?);
        }
        let mailbox = Arc::new(Mailbox::new()?);
        // Pollable is sync mode in which no call waits for the engine.
        let sync = options.sync || options.pollable;
        let bosh = matches!(kind, crate::options::TransportKind::Bosh { .. });
        let service = match &kind {
            crate::options::TransportKind::WebSocket { url }
            | crate::options::TransportKind::Bosh { url }
            | crate::options::TransportKind::Shared { url, .. } => url.clone(),
            crate::options::TransportKind::Tcp { target } => target.to_string(),
        };
        let id_prefix = id_prefix()?;
        let sm = Arc::new(Mutex::new(StreamManagement::default()));
        let log = Logger::new();
        let core = Arc::new_cyclic(|weak| Core {
            mailbox,
            engine: Mutex::new(Engine::new(
                weak.clone(),
                kind,
                options.clone(),
                Arc::clone(&sm),
                log.clone(),
            )),
            sm,
            state: Mutex::new(PublicState {
                service: service.clone(),
                ..PublicState::default()
            }),
            thread: Mutex::new(None),
            driver: Mutex::new(None),
            sync: AtomicBool::new(sync),
            pollable: options.pollable,
            readiness: Default::default(),
            tickets: Default::default(),
            inline: Default::default(),
            xml_output_hooked: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            id_prefix,
            log,
            options,
            service,
            bosh,
        });
        Ok(Connection { core, owner: true })
    }

    pub(crate) fn borrowed(core: Arc<Core>) -> Connection {
        Connection { core, owner: false }
    }

    /// Another handle to the same connection that does not own it.
    pub fn handle(&self) -> Connection {
        Connection::borrowed(Arc::clone(&self.core))
    }

    fn post(&self, command: Command) {
        if self.on_engine_thread() {
            // Inside the engine's step: it runs this before it sleeps.
            self.core.mailbox.post_quietly(command);
        } else {
            self.core.mailbox.post(command);
        }
    }

    fn on_engine_thread(&self) -> bool {
        *lock(&self.core.driver) == Some(std::thread::current().id())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if self.owner && !self.on_engine_thread() {
            let _ = self.close();
        }
    }
}

/// `text` as a valid JID, or `Error::InvalidJid` naming `what` it was.
fn parse_jid(what: &str, text: &str) -> Result<crate::jid::Jid> {
    crate::jid::Jid::parse(text).map_err(|e| Error::InvalidJid(format!("{what} {text:?}: {e}")))
}

/// Eight random hex digits from the OS source.
fn id_prefix() -> Result<String> {
    let bytes = crate::sasl::random::bytes(4)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
