//! `Connection`: the public handle. API calls post commands to the engine;
//! the engine runs on its own thread, or on the caller's in sync mode.

use crate::engine::{
    AttachRequest, Command, ConnectRequest, Core, Engine, HookKind, IqRequest, Phase, PublicState,
};
use crate::error::{Error, Result};
use crate::handler::{Handler, HandlerId, Keep, Matcher, TimedHandler};
use crate::log::{LogLevel, Logger};
use crate::mailbox::{lock, Mailbox};
use crate::options::{select_transport, Options};
use crate::outgoing::Outgoing;
use crate::sasl::Mechanism;
use crate::sm::StreamManagement;
use crate::status::Status;
use crate::xml::{ns, Element};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
        let sync = options.sync;
        let bosh = matches!(kind, crate::options::TransportKind::Bosh { .. });
        let service = match &kind {
            crate::options::TransportKind::WebSocket { url }
            | crate::options::TransportKind::Bosh { url }
            | crate::options::TransportKind::Shared { url, .. } => url.clone(),
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

    /// The options the connection was created with.
    pub fn options(&self) -> &Options {
        &self.core.options
    }

    fn post(&self, command: Command) {
        self.core.mailbox.post(command);
    }

    fn on_engine_thread(&self) -> bool {
        *lock(&self.core.driver) == Some(std::thread::current().id())
    }

    /// Starts the engine thread unless it runs or the caller drives it.
    fn ensure_thread(&self) -> Result<()> {
        if self.core.sync.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut slot = lock(&self.core.thread);
        if slot.as_ref().is_some_and(|t| !t.is_finished()) {
            return Ok(());
        }
        if let Some(old) = slot.take() {
            let _ = old.join();
        }
        let core = Arc::clone(&self.core);
        let thread = std::thread::Builder::new()
            .name("epode-engine".into())
            .spawn(move || engine_thread(core))
            .map_err(|e| Error::io_from(format!("cannot start the engine thread: {e}"), e))?;
        *slot = Some(thread);
        Ok(())
    }

    /// Logs in as `jid` with `password` (Strophe's `connect`). Statuses
    /// arrive at `callback` with Strophe's condition strings. In sync mode
    /// this returns when the session is up or has failed; otherwise at once.
    /// A password of `None` is for ANONYMOUS (a bare domain as `jid`) and
    /// EXTERNAL.
    ///
    /// ```no_run
    /// use epode::{Connection, Options, Status};
    ///
    /// let mut options = Options::default();
    /// options.set("sync", "true")?; // connect() returns when it is decided
    /// let conn = Connection::new("https://example.com/http-bind", options)?;
    /// conn.connect("alice@example.com", Some("secret"), |_, status, condition, _| {
    ///     if status == Status::AuthFail {
    ///         eprintln!("wrong password: {}", condition.unwrap_or(""));
    ///     }
    /// })?;
    /// println!("authenticated: {}", conn.authenticated());
    /// # Ok::<(), epode::Error>(())
    /// ```
    pub fn connect<F>(&self, jid: &str, password: Option<&str>, callback: F) -> Result<()>
    where
        F: FnMut(&Connection, Status, Option<&str>, Option<&Element>) + Send + 'static,
    {
        self.connect_as(jid, password, None, callback)
    }

    /// `connect` with an explicit authcid (Strophe's 7th argument).
    pub fn connect_as<F>(
        &self,
        jid: &str,
        password: Option<&str>,
        authcid: Option<&str>,
        callback: F,
    ) -> Result<()>
    where
        F: FnMut(&Connection, Status, Option<&str>, Option<&Element>) + Send + 'static,
    {
        parse_jid("jid", jid)?;
        // A keepalive session that could not be kept is refused up front,
        // not discovered when restore() finds nothing.
        if let (true, true, Some(path)) = (
            self.core.bosh,
            self.core.options.keepalive,
            &self.core.options.keepalive_path,
        ) {
            crate::transport::keepalive::check_writable(path)?;
        }
        {
            let state = lock(&self.core.state);
            if state.connected {
                return Err(Error::WrongState(
                    "the connection is already connecting or connected".into(),
                ));
            }
        }
        lock(&self.core.state).connected = true;
        self.post(Command::Connect(ConnectRequest {
            jid: jid.to_string(),
            password: password.map(str::to_string),
            authcid: authcid.map(str::to_string),
            callback: Box::new(callback),
        }));
        if self.core.sync.load(Ordering::Acquire) {
            self.drive_until(
                |phase| matches!(phase, Phase::Connected | Phase::BindRequired | Phase::Idle),
                None,
            )
        } else {
            self.ensure_thread()
        }
    }

    fn require_bosh(&self, what: &str) -> Result<()> {
        if self.core.bosh {
            Ok(())
        } else {
            Err(Error::WrongState(format!("{what} needs a BOSH connection")))
        }
    }

    /// Strophe's `attach`: joins a BOSH session that someone else created
    /// (prebinding). `rid` is the next rid to use. ATTACHED once the server
    /// answered on it; ATTACHFAIL if the session is gone.
    pub fn attach<F>(&self, jid: &str, sid: &str, rid: u64, callback: F) -> Result<()>
    where
        F: FnMut(&Connection, Status, Option<&str>, Option<&Element>) + Send + 'static,
    {
        self.require_bosh("attach()")?;
        parse_jid("jid", jid)?;
        if sid.is_empty() {
            return Err(Error::InvalidArgument("sid is empty".into()));
        }
        self.start_attaching(Command::Attach(AttachRequest {
            jid: jid.to_string(),
            sid: sid.to_string(),
            rid,
            callback: Box::new(callback),
        }))
    }

    /// Claims the idle connection for an attach, posts it, and in sync
    /// mode drives it until ATTACHED or ATTACHFAIL.
    fn start_attaching(&self, command: Command) -> Result<()> {
        {
            let mut state = lock(&self.core.state);
            if state.connected {
                return Err(Error::WrongState(
                    "the connection is already connecting or connected".into(),
                ));
            }
            state.connected = true;
        }
        self.post(command);
        if self.core.sync.load(Ordering::Acquire) {
            self.drive_until(
                |phase| matches!(phase, Phase::Connected | Phase::Idle),
                None,
            )
        } else {
            self.ensure_thread()
        }
    }

    /// Joins the session of this connection's `worker` (seed 000's
    /// attach): ATTACHED, with the session's JID, if a handle of the same
    /// worker (in this process or, for a path, any process of this user)
    /// has a session up; ATTACHFAIL otherwise. Never logs in: after
    /// ATTACHFAIL, `connect()` does. (`connect()` itself also attaches when
    /// the session of its account is up.)
    pub fn attach_shared<F>(&self, callback: F) -> Result<()>
    where
        F: FnMut(&Connection, Status, Option<&str>, Option<&Element>) + Send + 'static,
    {
        if self.core.options.worker.is_none() {
            return Err(Error::WrongState(
                "attach_shared() needs the worker option".into(),
            ));
        }
        self.start_attaching(Command::AttachShared(Box::new(callback)))
    }

    /// Strophe's `restore`: attaches to the session kept by `keepalive`.
    /// `jid` (a JID or just a domain, or None) must match the stored one.
    /// Without a stored session: `Error::NoSession` (StropheSessionError).
    pub fn restore<F>(&self, jid: Option<&str>, callback: F) -> Result<()>
    where
        F: FnMut(&Connection, Status, Option<&str>, Option<&Element>) + Send + 'static,
    {
        self.require_bosh("restore()")?;
        let path =
            self.core.options.keepalive_path.clone().ok_or_else(|| {
                Error::NoSession("keepalive is off, so no session is kept".into())
            })?;
        let stored = crate::transport::keepalive::load(&path)?;
        if stored.service != self.core.service {
            return Err(Error::NoSession(format!(
                "the stored session belongs to {}",
                stored.service
            )));
        }
        if let Some(want) = jid {
            // Compared normalised, as the server wrote the stored one.
            let wanted = parse_jid("jid", want)?;
            let stored_jid = parse_jid("stored jid", &stored.jid)?;
            let same_account = wanted.bare_eq(&stored_jid);
            let same_domain = wanted.node().is_none()
                && wanted.is_bare()
                && wanted.domain() == stored_jid.domain();
            if !same_account && !same_domain {
                return Err(Error::NoSession(format!(
                    "the stored session is not {want}'s"
                )));
            }
        }
        self.attach(&stored.jid, &stored.sid, stored.rid, callback)
    }

    /// Ends the session (Strophe's `disconnect(reason)`): DISCONNECTING,
    /// then DISCONNECTED once the server closed or disconnection_timeout
    /// passed. In sync mode it returns only then. Without a session, as in
    /// Strophe, DISCONNECTING and DISCONNECTED follow at once (to the last
    /// status callback, if there was one).
    ///
    /// ```
    /// use epode::{Connection, Options, Status};
    ///
    /// let mut options = Options::default();
    /// options.set("sync", "true")?;
    /// let conn = Connection::new("ws://127.0.0.1:5280/xmpp-websocket", options)?;
    /// conn.disconnect(Some("bye"))?; // never connected: nothing to end
    /// assert_eq!(conn.status(), Some(Status::Disconnected));
    /// # Ok::<(), epode::Error>(())
    /// ```
    pub fn disconnect(&self, reason: Option<&str>) -> Result<()> {
        self.post(Command::Disconnect(reason.map(str::to_string)));
        if self.core.sync.load(Ordering::Acquire) {
            self.drive_until(|phase| phase == Phase::Idle, None)
        } else {
            self.ensure_thread()
        }
    }

    fn require_session(&self) -> Result<()> {
        if lock(&self.core.state).connected {
            Ok(())
        } else {
            Err(Error::WrongState("not connected".into()))
        }
    }

    /// Sends a stanza. It leaves at once (or at the next `run_once` in sync
    /// mode), in the order of the calls.
    ///
    /// ```no_run
    /// # let conn = epode::Connection::new("ws://h/ws", epode::Options::default())?;
    /// use epode::{xml::NO_ATTRS, Builder};
    ///
    /// let msg = Builder::msg([("to", "bob@example.com"), ("type", "chat")])
    ///     .c_text("body", NO_ATTRS, "hello")
    ///     .build();
    /// conn.send(&msg)?;
    /// # Ok::<(), epode::Error>(())
    /// ```
    pub fn send(&self, stanza: &Element) -> Result<()> {
        self.require_session()?;
        let namespaced;
        let stanza = if lacks_client_ns(stanza) {
            let mut copy = stanza.clone();
            copy.set_attr("xmlns", ns::CLIENT);
            namespaced = copy;
            &namespaced
        } else {
            stanza
        };
        // Serializing here (into the one text the stanza travels as) is
        // cheaper than a deep copy and spreads the work over the calling
        // threads; the xmlOutput hook needs the element.
        if self.core.xml_output_hooked.load(Ordering::Acquire) {
            self.post(Command::Send(stanza.clone()));
        } else {
            self.post(Command::SendSerialized(Outgoing::of(stanza)));
        }
        self.after_send()
    }

    /// Sends raw XML, exactly as written, after checking that it is one
    /// well-formed element that XMPP allows (see [`crate::xml::parse_element`]:
    /// no comments, processing instructions, XML declaration, DTD or CDATA).
    /// Anything else is refused whole with [`Error::Xml`] before it is
    /// queued, so nothing of it is sent and the connection goes on as if
    /// the call had not been made.
    ///
    /// A `<message/>`, `<presence/>` or `<iq/>` written without a namespace
    /// gets `xmlns="jabber:client"` (and is then sent as serialized), as
    /// [`Connection::send`] gives it.
    ///
    /// What the text is (a stanza stream management counts, a nonza, SASL
    /// the log must not show) is decided here, once, by the element it
    /// parses as: the text is never read again on its way out.
    pub fn send_raw(&self, xml: &str) -> Result<()> {
        self.require_session()?;
        let mut elem = crate::xml::parse_element(xml)?;
        let xml = if lacks_client_ns(&elem) {
            elem.set_attr("xmlns", ns::CLIENT);
            elem.to_xml()
        } else {
            xml.to_string()
        };
        let keep = self.core.xml_output_hooked.load(Ordering::Acquire);
        self.post(Command::SendSerialized(Outgoing::raw(xml, elem, keep)));
        self.after_send()
    }

    /// In sync mode a send returns when the exchange carrying it is done
    /// (for BOSH: when its HTTP request is answered).
    fn after_send(&self) -> Result<()> {
        if !self.core.sync.load(Ordering::Acquire) || self.on_engine_thread() {
            return Ok(());
        }
        let limit = self.core.options.connect_timeout;
        let deadline = Instant::now() + limit;
        loop {
            // Another thread driving the engine may have done our part
            // already: look before waiting in a step of our own, whose wait
            // nothing might end.
            let idle = lock(&self.core.engine).transport_idle();
            if idle && self.core.mailbox.is_empty() {
                return Ok(());
            }
            self.drive(Some(Duration::from_millis(250)))?;
            if Instant::now() >= deadline {
                return Err(Error::Timeout(
                    "the server did not take the data in time".into(),
                ));
            }
        }
    }

    /// Strophe's `sendIQ`: sends `iq` (an id is added if it has none) and
    /// calls `on_result` or `on_error` with the answer; on timeout
    /// `on_error` gets None. Returns the id.
    ///
    /// ```no_run
    /// # let conn = epode::Connection::new("ws://h/ws", epode::Options::default())?;
    /// use epode::Builder;
    /// use std::time::Duration;
    ///
    /// let ping = Builder::iq([("type", "get"), ("to", "example.com")])
    ///     .c("ping", [("xmlns", "urn:xmpp:ping")])
    ///     .build();
    /// conn.send_iq(
    ///     ping,
    ///     |_, _| println!("pong"),
    ///     |_, err| println!("failed: {err:?}"), // None: timed out
    ///     Some(Duration::from_secs(10)),
    /// )?;
    /// # Ok::<(), epode::Error>(())
    /// ```
    pub fn send_iq<R, E>(
        &self,
        iq: Element,
        on_result: R,
        on_error: E,
        timeout: Option<Duration>,
    ) -> Result<String>
    where
        R: FnOnce(&Connection, Option<&Element>) + Send + 'static,
        E: FnOnce(&Connection, Option<&Element>) + Send + 'static,
    {
        self.send_tracked(iq, "sendIQ", on_result, on_error, timeout)
    }

    /// Sends `stanza` (with an id ending in `:suffix` when it has none) and
    /// hands its answer to `on_result` / `on_error`.
    fn send_tracked<R, E>(
        &self,
        stanza: Element,
        suffix: &str,
        on_result: R,
        on_error: E,
        timeout: Option<Duration>,
    ) -> Result<String>
    where
        R: FnOnce(&Connection, Option<&Element>) + Send + 'static,
        E: FnOnce(&Connection, Option<&Element>) + Send + 'static,
    {
        self.require_session()?;
        // Its answer is matched to this address: one that is no JID could
        // never be (the server refuses it anyway, RFC 6120 §8.3.3.8).
        if let Some(to) = stanza.attr("to") {
            parse_jid("to", to)?;
        }
        let mut stanza = stanza;
        if lacks_client_ns(&stanza) {
            stanza.set_attr("xmlns", ns::CLIENT);
        }
        let id = match stanza.attr("id") {
            Some(id) => id.to_string(),
            None => {
                let id = self.unique_id(suffix);
                stanza.set_attr("id", id.clone());
                id
            }
        };
        self.post(Command::SendIq(IqRequest {
            stanza,
            on_result: Some(Box::new(on_result)),
            on_error: Some(Box::new(on_error)),
            timeout,
        }));
        self.after_send()?;
        Ok(id)
    }

    /// Strophe's `sendPresence`: like `send_iq`, for a presence whose answer
    /// (or error) is tracked by id; an id it adds ends in `:sendPresence`.
    pub fn send_presence<R, E>(
        &self,
        pres: Element,
        on_result: R,
        on_error: E,
        timeout: Option<Duration>,
    ) -> Result<String>
    where
        R: FnOnce(&Connection, Option<&Element>) + Send + 'static,
        E: FnOnce(&Connection, Option<&Element>) + Send + 'static,
    {
        self.send_tracked(pres, "sendPresence", on_result, on_error, timeout)
    }

    /// A unique id for a stanza (Strophe's `getUniqueId(suffix)`).
    pub fn unique_id(&self, suffix: &str) -> String {
        let n = self.core.next_id.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n}:{suffix}", self.core.id_prefix)
    }

    /// Strophe's `addHandler`: `callback` runs for every stanza `matcher`
    /// accepts, in registration order, until it returns `Keep::Remove`.
    /// Handlers may be added before `connect` and survive reconnection.
    /// `from` is compared normalised (RFC 7622: `Alice@LocalHost` matches
    /// `alice@localhost/phone`'s bare JID); a `from` that is not a valid JID
    /// is `Error::InvalidJid`, as it could never match.
    ///
    /// ```
    /// use epode::{Connection, Keep, Matcher, Options};
    ///
    /// let conn = Connection::new("ws://127.0.0.1:5280/xmpp-websocket", Options::default())?;
    /// let id = conn.add_handler(Matcher::new().name("message").type_("chat"), |_, msg| {
    ///     println!("{}", msg.child_text("body").unwrap_or_default());
    ///     Keep::Keep
    /// })?;
    /// conn.delete_handler(id);
    /// # Ok::<(), epode::Error>(())
    /// ```
    pub fn add_handler<F>(&self, matcher: Matcher, callback: F) -> Result<HandlerId>
    where
        F: FnMut(&Connection, &Element) -> Keep + Send + 'static,
    {
        matcher.check().map_err(|e| {
            let from = matcher.from.as_deref().unwrap_or_default();
            Error::InvalidJid(format!("handler from {from:?}: {e}"))
        })?;
        let id = self.core.next_id.fetch_add(1, Ordering::Relaxed);
        self.post(Command::AddHandler(Handler {
            id,
            matcher,
            callback: Box::new(callback),
        }));
        Ok(id)
    }

    /// Strophe's `deleteHandler`: the handler `id` runs no more (an id
    /// already gone is ignored).
    pub fn delete_handler(&self, id: HandlerId) {
        self.post(Command::DeleteHandler(id));
    }

    /// Strophe's `addTimedHandler`: runs every `period` while the session
    /// is up, until it returns `Keep::Remove`.
    ///
    /// ```no_run
    /// # let conn = epode::Connection::new("ws://h/ws", epode::Options::default())?;
    /// use epode::Keep;
    /// use std::time::Duration;
    ///
    /// let mut left = 3;
    /// conn.add_timed_handler(Duration::from_secs(60), move |conn| {
    ///     conn.send_raw("<presence xmlns='jabber:client'/>").ok();
    ///     left -= 1;
    ///     if left == 0 { Keep::Remove } else { Keep::Keep }
    /// });
    /// # Ok::<(), epode::Error>(())
    /// ```
    pub fn add_timed_handler<F>(&self, period: Duration, callback: F) -> HandlerId
    where
        F: FnMut(&Connection) -> Keep + Send + 'static,
    {
        let id = self.core.next_id.fetch_add(1, Ordering::Relaxed);
        self.post(Command::AddTimed(TimedHandler {
            id,
            period,
            next: None,
            callback: Box::new(callback),
        }));
        id
    }

    /// Strophe's `deleteTimedHandler`: the timed handler `id` runs no more.
    pub fn delete_timed_handler(&self, id: HandlerId) {
        self.post(Command::DeleteTimed(id));
    }

    /// Strophe's `addProtocolErrorHandler`: `protocol` is "websocket" (close
    /// codes) or "HTTP" (status codes), in any case. Another name is an
    /// invalid argument: the engine reports only these two, so its handler
    /// would never run.
    pub fn add_protocol_error_handler<F>(
        &self,
        protocol: &str,
        code: u16,
        callback: F,
    ) -> Result<()>
    where
        F: FnMut(&Connection, u16) + Send + 'static,
    {
        let name = protocol.to_ascii_lowercase();
        if name != "http" && name != "websocket" {
            return Err(Error::InvalidArgument(format!(
                "protocol must be \"HTTP\" or \"websocket\", not {protocol:?}"
            )));
        }
        self.post(Command::AddProtocolErrorHandler(
            name,
            code,
            Box::new(callback),
        ));
        Ok(())
    }

    /// Adds (or replaces by name, built-ins included) a SASL mechanism.
    /// `make` builds a fresh instance for each login.
    pub fn register_mechanism<F>(&self, make: F)
    where
        F: Fn() -> Box<dyn Mechanism> + Send + 'static,
    {
        self.post(Command::AddMechanism(Box::new(make)));
    }

    /// rawInput: every piece of text as received.
    pub fn set_raw_input<F: FnMut(&Connection, &str) + Send + 'static>(&self, hook: Option<F>) {
        self.post(Command::SetTextHook(
            HookKind::RawInput,
            hook.map(|h| Box::new(h) as _),
        ));
    }

    /// rawOutput: every piece of text as sent.
    pub fn set_raw_output<F: FnMut(&Connection, &str) + Send + 'static>(&self, hook: Option<F>) {
        self.post(Command::SetTextHook(
            HookKind::RawOutput,
            hook.map(|h| Box::new(h) as _),
        ));
    }

    /// xmlInput: every element received (stanzas, open, close).
    pub fn set_xml_input<F: FnMut(&Connection, &Element) + Send + 'static>(&self, hook: Option<F>) {
        self.post(Command::SetXmlInput(hook.map(|h| Box::new(h) as _)));
    }

    /// xmlOutput: every element sent: stanzas, SASL and bind, and over
    /// WebSocket the `<open/>`s and the `<close/>` (over BOSH without
    /// `strip`, each whole `<body>` instead).
    pub fn set_xml_output<F: FnMut(&Connection, &Element) + Send + 'static>(
        &self,
        hook: Option<F>,
    ) {
        self.core
            .xml_output_hooked
            .store(hook.is_some(), Ordering::Release);
        self.post(Command::SetXmlOutput(hook.map(|h| Box::new(h) as _)));
    }

    /// Sends this connection's log messages at `level` and above to
    /// `handler` instead of the process-wide default
    /// ([`crate::log::set_default_handler`]); see [`crate::log`] for what is
    /// logged. Replacing a handler drops the previous one. The handler runs
    /// on the thread driving the engine; from inside it this is
    /// `Error::WouldDeadlock`.
    ///
    /// ```
    /// use epode::{Connection, LogLevel, Options};
    ///
    /// let conn = Connection::new("ws://127.0.0.1:5280/xmpp-websocket", Options::default())?;
    /// conn.set_log_handler(LogLevel::Info, |level, message| eprintln!("{level} {message}"))?;
    /// # Ok::<(), epode::Error>(())
    /// ```
    pub fn set_log_handler<F>(&self, level: LogLevel, handler: F) -> Result<()>
    where
        F: FnMut(LogLevel, &str) + Send + 'static,
    {
        self.core.log.set(level, Some(Box::new(handler)))
    }

    /// Removes this connection's log handler: its messages go to the
    /// process-wide default again.
    pub fn clear_log_handler(&self) -> Result<()> {
        self.core.log.set(LogLevel::Error, None)
    }

    /// Binds the resource after BINDREQUIRED (explicitResourceBinding).
    pub fn bind(&self) -> Result<()> {
        if lock(&self.core.state).status != Some(Status::BindRequired) {
            return Err(Error::WrongState("bind() is for after BINDREQUIRED".into()));
        }
        self.post(Command::Bind);
        if self.core.sync.load(Ordering::Acquire) {
            self.drive_until(
                |phase| matches!(phase, Phase::Connected | Phase::Idle),
                None,
            )
        } else {
            Ok(())
        }
    }

    /// Holds outgoing stanzas until `resume` (Strophe's `pause`).
    /// `paused()` is true as soon as this returns.
    pub fn pause(&self) {
        // The flag changes with the command, under one lock, so that
        // pause and resume from several threads leave it as the engine
        // will: the last one posted wins.
        let mut state = lock(&self.core.state);
        state.paused = true;
        self.post(Command::Pause);
    }

    /// Sends what `pause` held, at once.
    pub fn resume(&self) -> Result<()> {
        {
            let mut state = lock(&self.core.state);
            state.paused = false;
            self.post(Command::Resume);
        }
        self.after_send()
    }

    /// Sends everything queued now. In sync mode, returns when written.
    pub fn flush(&self) -> Result<()> {
        self.post(Command::Flush);
        self.after_send()
    }

    /// Switches sync mode (Strophe's `options.sync`). Switching on while the
    /// engine thread runs hands the engine to the caller's thread.
    pub fn set_sync(&self, on: bool) -> Result<()> {
        if self.on_engine_thread() && on {
            return Err(Error::WouldDeadlock(
                "cannot take the engine from inside its own callback".into(),
            ));
        }
        let was = self.core.sync.swap(on, Ordering::AcqRel);
        if on && !was {
            self.post(Command::Release);
            if let Some(t) = lock(&self.core.thread).take() {
                let _ = t.join();
            }
        } else if !on && was && lock(&self.core.state).connected {
            self.ensure_thread()?;
        }
        Ok(())
    }

    /// Drives the engine on the caller's thread for at most `timeout`:
    /// waits for input, commands or timers, handles them, and returns.
    /// For sync mode and for programs with their own main loop.
    ///
    /// ```no_run
    /// use epode::{Connection, Options};
    /// use std::time::Duration;
    ///
    /// let mut options = Options::default();
    /// options.set("sync", "true")?;
    /// let conn = Connection::new("ws://127.0.0.1:5280/xmpp-websocket", options)?;
    /// conn.connect("alice@localhost", Some("secret"), |_, status, _, _| println!("{status}"))?;
    /// while conn.authenticated() {
    ///     conn.run_once(Duration::from_millis(100))?; // callbacks run in here
    ///     // ... the program's own work ...
    /// }
    /// # Ok::<(), epode::Error>(())
    /// ```
    pub fn run_once(&self, timeout: Duration) -> Result<()> {
        if self.on_engine_thread() {
            return Err(Error::WouldDeadlock(
                "run_once from inside a callback".into(),
            ));
        }
        if !self.core.sync.load(Ordering::Acquire) {
            return Err(Error::WrongState(
                "the engine runs on its own thread; set sync first".into(),
            ));
        }
        self.drive(Some(timeout))
    }

    fn drive(&self, timeout: Option<Duration>) -> Result<()> {
        let mut engine = lock(&self.core.engine);
        *lock(&self.core.driver) = Some(std::thread::current().id());
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.step(timeout)));
        *lock(&self.core.driver) = None;
        match result {
            Ok(r) => r,
            Err(panic) => Err(Error::Internal(format!(
                "the engine panicked: {}",
                crate::panic::panic_message(&panic)
            ))),
        }
    }

    fn drive_until(&self, done: impl Fn(Phase) -> bool, limit: Option<Duration>) -> Result<()> {
        if self.on_engine_thread() {
            return Ok(());
        }
        let deadline = limit.map(|l| Instant::now() + l);
        loop {
            self.drive(Some(Duration::from_millis(250)))?;
            let phase = lock(&self.core.engine).phase();
            if done(phase) && self.core.mailbox.is_empty() {
                return Ok(());
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(Error::Timeout("waiting for the engine".into()));
            }
        }
    }

    fn state(&self) -> PublicState {
        lock(&self.core.state).clone()
    }

    /// The full JID of the session ("" before connect).
    pub fn jid(&self) -> String {
        self.state().jid
    }

    /// The bare JID given at connect (Strophe's `authzid`).
    pub fn authzid(&self) -> String {
        self.state().authzid
    }

    /// The domain of the JID given at connect ("" before connect).
    pub fn domain(&self) -> String {
        self.state().domain
    }

    /// Whether the session came back by XEP-0198 resumption (the last
    /// CONNECTED said "resumed"): nothing was lost and nothing needs to be
    /// fetched again. False after a fresh login or a new session.
    pub fn resumed(&self) -> bool {
        self.state().resumed
    }

    /// The XEP-0198 state of a session that can be resumed (its id, the
    /// counters, the stanzas the server has not acknowledged) as bytes for
    /// [`Connection::set_sm_state`] on another connection, also in another
    /// process. None when the session cannot be resumed (stream management
    /// off or refused, or the session was ended on purpose).
    pub fn sm_state(&self) -> Option<Vec<u8>> {
        let sm = lock(&self.core.sm);
        sm.resumable().then(|| sm.to_bytes())
    }

    /// Takes over the state `sm_state` gave: the next `connect()` logs in
    /// and resumes that session (CONNECTED "resumed", the unacknowledged
    /// stanzas sent again), or, if the server no longer has it, reports
    /// them to the unacked handler and binds a new session. Only before
    /// `connect()`.
    pub fn set_sm_state(&self, state: &[u8]) -> Result<()> {
        let sm = StreamManagement::from_bytes(state)?;
        if self.state().connected {
            return Err(Error::WrongState(
                "set_sm_state() only before connect()".into(),
            ));
        }
        *lock(&self.core.sm) = sm;
        Ok(())
    }

    /// Who hears of stanzas that may not have arrived: when a lost session
    /// cannot be resumed (each stanza the server had not acknowledged), or
    /// when reconnection gives up (each stanza sent while reconnecting).
    /// None clears it.
    pub fn set_unacked_handler<F>(&self, handler: Option<F>)
    where
        F: FnMut(&Connection, &Element) + Send + 'static,
    {
        self.post(Command::SetUnackedHandler(
            handler.map(|h| Box::new(h) as _),
        ));
    }

    /// True while the session is established.
    pub fn authenticated(&self) -> bool {
        self.state().authenticated
    }

    /// True while a session attempt or session is under way.
    pub fn connected(&self) -> bool {
        self.state().connected
    }

    /// True while the session is being closed (after `disconnect()`,
    /// until DISCONNECTED).
    pub fn disconnecting(&self) -> bool {
        self.state().disconnecting
    }

    /// True between `pause()` and `resume()`: sends are held, not sent.
    pub fn paused(&self) -> bool {
        self.state().paused
    }

    /// The last status reported.
    pub fn status(&self) -> Option<Status> {
        self.state().status
    }

    /// The service URL in use: absolute, as resolved from a relative path
    /// and the `origin` option; after a see-other-uri redirect, the URL it
    /// led to (Strophe's `service` changes too, and so does where the next
    /// `connect` goes).
    pub fn service(&self) -> String {
        self.state().service
    }

    /// The error behind the last failure status, where its condition is
    /// one of Strophe's fixed texts that applications compare ("The
    /// WebSocket connection could not be established or was
    /// disconnected."): the I/O or TLS error, the URL. None after other
    /// failures, whose condition says it all.
    pub fn failure_detail(&self) -> Option<String> {
        self.state().failure_detail
    }

    /// An option by name, as text (see [`Options::get`]). `sync` is the
    /// current mode, which `set_sync` may have changed since creation.
    pub fn option(&self, key: &str) -> Result<String> {
        match key {
            "sync" => Ok(self.core.sync.load(Ordering::Acquire).to_string()),
            _ => self.core.options.get(key),
        }
    }

    /// Strophe's `maxRetries` option.
    pub fn max_retries(&self) -> u32 {
        self.core.options.max_retries
    }

    /// Strophe's `disconnection_timeout`: how long `disconnect` waits.
    pub fn disconnection_timeout(&self) -> Duration {
        self.core.options.disconnection_timeout
    }

    /// Whether the caller is inside one of this connection's callbacks.
    pub fn in_callback(&self) -> bool {
        self.on_engine_thread()
    }

    /// Ends everything now, as dropping the owning handle does. From inside
    /// a callback this would wait for itself, so it is refused there.
    pub fn close(&self) -> Result<()> {
        if self.on_engine_thread() {
            return Err(Error::WouldDeadlock(
                "cannot free a connection from its own callback".into(),
            ));
        }
        self.post(Command::Shutdown);
        let thread = lock(&self.core.thread).take();
        match thread {
            Some(t) => {
                let _ = t.join();
            }
            None => {
                // Sync mode: run the shutdown on this thread.
                let _ = self.drive(Some(Duration::ZERO));
            }
        }
        Ok(())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if self.owner && !self.on_engine_thread() {
            let _ = self.close();
        }
    }
}

/// A client's stanza written without a namespace: it can only mean
/// jabber:client, but a WebSocket server reads it as in no namespace and
/// ends the stream (RFC 7395 §3.3.3: every message declares its own), and
/// in a BOSH body it would be in httpbind's.
fn lacks_client_ns(elem: &Element) -> bool {
    matches!(elem.name(), "message" | "presence" | "iq") && elem.attr("xmlns").is_none()
}

/// `text` as a valid JID, or `Error::InvalidJid` naming `what` it was.
fn parse_jid(what: &str, text: &str) -> Result<crate::jid::Jid> {
    crate::jid::Jid::parse(text).map_err(|e| Error::InvalidJid(format!("{what} {text:?}: {e}")))
}

/// What went wrong in a step that did not return Ok: a panic (a bug, or
/// a panicking Rust callback: `Error::Internal`, never an I/O error) or a
/// failed poll().
fn failure_of(result: std::thread::Result<Result<()>>) -> Option<Error> {
    match result {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e),
        Err(panic) => Some(Error::Internal(crate::panic::panic_message(&panic))),
    }
}

fn engine_thread(core: Arc<Core>) {
    *lock(&core.driver) = Some(std::thread::current().id());
    loop {
        let mut engine = lock(&core.engine);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.step(None)));
        if let Some(why) = failure_of(result) {
            engine.recover(&why.to_string());
        }
        let stop = engine.take_released();
        let trim = engine.take_session_started();
        drop(engine);
        if stop {
            break;
        }
        if trim {
            crate::stack::trim_unused();
        }
    }
    *lock(&core.driver) = None;
}

/// Eight random hex digits from the OS source.
fn id_prefix() -> Result<String> {
    let bytes = crate::sasl::random::bytes(4)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_error_handlers_take_only_the_protocols_that_report() {
        let conn = Connection::new("ws://127.0.0.1:1/ws", Options::default()).unwrap();
        let held = Arc::new(());
        for name in ["HTTP", "http", "websocket", "WebSocket"] {
            let held = Arc::clone(&held);
            let added = conn.add_protocol_error_handler(name, 1008, move |_, _| {
                let _ = &held;
            });
            assert_eq!(added, Ok(()), "{name}");
        }
        for name in ["", "ws", "wss", "bosh", "https", "tcp", "websocket "] {
            let held = Arc::clone(&held);
            let err = conn
                .add_protocol_error_handler(name, 1008, move |_, _| {
                    let _ = &held;
                })
                .unwrap_err();
            let Error::InvalidArgument(msg) = err else {
                panic!("{name:?}: {err:?}");
            };
            assert!(
                msg.contains("\"HTTP\" or \"websocket\"") && msg.contains(&format!("{name:?}")),
                "{msg}"
            );
        }
        // The refused callbacks went at once; the four taken wait in the mailbox.
        assert_eq!(Arc::strong_count(&held), 5);
    }
}
