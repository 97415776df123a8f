//! The connection engine: the loop, commands and statuses. One engine per
//! connection, driven either by its own thread or by the caller (sync
//! mode); it blocks in exactly one place, `step`. The protocol's phases
//! live beside it: connect.rs (opening the link), negotiation.rs and
//! auth.rs (features, SASL, bind, session), input.rs (what the transport
//! reports), outbox.rs (the send path), recovery.rs (reconnection, stream
//! management), liveness.rs (a silent link).

// The one tie back up: callbacks receive the `Connection` they were
// registered on, so the engine makes a borrowed handle to give them
// (`Connection::borrowed`). Everything else the engine needs sits at or
// below it (`core.rs`).
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::handler::iq::{IqFn, IqTracker};
use crate::handler::{Handler, HandlerId, Handlers, TimedHandler};
use crate::log::{log_at, Logger};
use crate::mailbox::{lock, poll_fds};
use crate::options::{Options, TransportKind};
use crate::outgoing::Outgoing;
use crate::sasl::Mechanism;
use crate::sm::StreamManagement;
use crate::status::Status;
use crate::transport::{Incoming, Transport};
use crate::xml::Element;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex, Weak};

mod auth;
mod close;
mod connect;
mod core;
mod input;
mod liveness;
mod negotiation;
mod outbox;
mod recovery;
pub(crate) use self::core::{Core, PublicState};
use negotiation::Login;
use outbox::{Hooks, Outbox};
use recovery::Recovery;
use std::time::{Duration, Instant};

pub type StatusFn = Box<dyn FnMut(&Connection, Status, Option<&str>, Option<&Element>) + Send>;
pub type TextHook = Box<dyn FnMut(&Connection, &str) + Send>;
pub type XmlHook = Box<dyn FnMut(&Connection, &Element) + Send>;
pub type ProtocolErrorFn = Box<dyn FnMut(&Connection, u16) + Send>;
/// Makes a fresh instance of a custom SASL mechanism for each login.
pub type MechanismFactory = Box<dyn Fn() -> Box<dyn Mechanism> + Send>;

/// What Connection::connect asks for.
pub struct ConnectRequest {
    pub jid: String,
    pub password: Option<String>,
    pub authcid: Option<String>,
    pub callback: StatusFn,
}

/// What Connection::attach / restore ask for.
pub struct AttachRequest {
    pub jid: String,
    pub sid: String,
    pub rid: u64,
    pub callback: StatusFn,
}

/// An IQ waiting for its answer.
pub struct IqRequest {
    pub stanza: Element,
    pub on_result: Option<IqFn>,
    pub on_error: Option<IqFn>,
    pub timeout: Option<Duration>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum HookKind {
    RawInput,
    RawOutput,
}

/// Everything an API call can ask of the engine.
pub enum Command {
    Connect(ConnectRequest),
    Attach(AttachRequest),
    /// Join the session of the `worker` this connection names.
    AttachShared(StatusFn),
    /// Who hears of stanzas that may not have arrived (XEP-0198).
    SetUnackedHandler(Option<XmlHook>),
    /// An element for the engine to serialize: the xmlOutput hook is set
    /// and needs it.
    Send(Element),
    /// Already serialized on the caller's thread (`send` without an
    /// xmlOutput hook, `send_raw`), its kind decided there.
    SendSerialized(Outgoing),
    SendIq(IqRequest),
    Disconnect(Option<String>),
    Bind,
    AddHandler(Handler),
    DeleteHandler(HandlerId),
    AddTimed(TimedHandler),
    DeleteTimed(HandlerId),
    AddProtocolErrorHandler(String, u16, ProtocolErrorFn),
    AddMechanism(MechanismFactory),
    SetTextHook(HookKind, Option<TextHook>),
    SetXmlInput(Option<XmlHook>),
    SetXmlOutput(Option<XmlHook>),
    Pause,
    Resume,
    Flush,
    /// Stop the engine thread and leave the engine to the caller (sync).
    Release,
    /// The connection is being freed.
    Shutdown,
}

impl Command {
    /// Ends a connection attempt, or takes the engine from its thread: a
    /// handshake must not block while one waits.
    fn ends_attempt(&self) -> bool {
        matches!(
            self,
            Command::Disconnect(_) | Command::Shutdown | Command::Release
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Idle,
    /// Joined a prebound BOSH session; waiting for its first answer.
    Attaching,
    /// Waiting for the server's stream header / features.
    Negotiating,
    /// A SASL exchange is running.
    Authenticating,
    /// Waiting for the features of the restarted stream.
    Restarting,
    BindRequired,
    Binding,
    Session,
    Connected,
    /// Our close is sent; waiting for the server's.
    Closing,
    /// The link was lost: waiting to try again (`reconnect` option).
    Reconnecting,
    /// `<resume/>` is sent; waiting for `<resumed/>` or `<failed/>`.
    Resuming,
}

/// How a session became ours.
enum Arrival {
    /// We logged in and bound a resource (CONNECTED).
    Bound,
    /// Stream management resumed it; `again` is what the server had not
    /// received (CONNECTED, "resumed").
    Resumed { again: Vec<Arc<str>> },
    /// Someone else logged it in: a prebound BOSH session (attach,
    /// restore) or a shared connection's (ATTACHED).
    Attached,
}

/// REDIRECT's condition, as in Strophe.
pub(super) const REDIRECTED: &str = "Received see-other-uri, resetting connection";

/// see-other-uri redirects followed in one login before it is CONNFAIL.
pub(super) const MAX_REDIRECTS: u32 = 5;

/// One connection's state, in parts of one concern each: the loop's own
/// fields here; `login` (negotiation.rs), `outbox` and `hooks`
/// (outbox.rs), `recovery` (recovery.rs), `liveness` (liveness.rs), the
/// handler tables and the IQs waiting for answers (handler.rs).
pub(crate) struct Engine {
    core: Weak<Core>,
    log: Logger,
    options: Options,
    kind: TransportKind,
    /// The service URL now in use (a redirect changes it).
    url: String,
    transport: Option<Box<dyn Transport>>,
    /// Bumped whenever the transport is replaced or dropped.
    generation: u64,
    phase: Phase,
    status_cb: Option<StatusFn>,
    connect_deadline: Option<Instant>,
    close_deadline: Option<Instant>,
    /// see-other-uri redirects followed since the last login or session up.
    redirects: u32,
    /// A session came up since the engine thread last looked.
    session_started: bool,
    released: bool,
    pub shutdown: bool,
    next_id: u64,
    /// This step may block in a handshake: its caller waits for the
    /// outcome anyway (the engine thread, sync mode's blocking calls).
    pub may_block: bool,
    /// The connection's count of cuts when the commands were last taken.
    cuts_seen: u64,
    /// A command that ends the attempt waits later in the batch being run.
    cut_queued: bool,
    /// Reused buffers for the mailbox's commands and the transport's events.
    commands: Vec<Command>,
    incoming: Vec<Incoming>,
    login: Login,
    handlers: Handlers,
    iqs: IqTracker,
    protocol_error_handlers: Vec<(String, u16, ProtocolErrorFn)>,
    hooks: Hooks,
    outbox: Outbox,
    recovery: Recovery,
    /// Probing a silent link (`pingInterval`).
    liveness: liveness::Liveness,
}

impl Engine {
    pub fn new(
        core: Weak<Core>,
        kind: TransportKind,
        options: Options,
        sm: Arc<Mutex<StreamManagement>>,
        log: Logger,
    ) -> Engine {
        let url = match &kind {
            TransportKind::WebSocket { url }
            | TransportKind::Bosh { url }
            | TransportKind::Shared { url, .. } => url.clone(),
            TransportKind::Tcp { target } => target.to_string(),
        };
        Engine {
            core,
            log,
            login: Login::new(options.resource.clone()),
            options,
            kind,
            url,
            transport: None,
            generation: 0,
            phase: Phase::Idle,
            status_cb: None,
            connect_deadline: None,
            close_deadline: None,
            redirects: 0,
            session_started: false,
            released: false,
            shutdown: false,
            next_id: 0,
            may_block: false,
            cuts_seen: 0,
            cut_queued: false,
            commands: Vec::new(),
            incoming: Vec::new(),
            handlers: Handlers::default(),
            iqs: IqTracker::default(),
            protocol_error_handlers: Vec::new(),
            hooks: Hooks::default(),
            outbox: Outbox::default(),
            recovery: Recovery::new(sm),
            liveness: Default::default(),
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Nothing sent by the application is still on its way (sync mode).
    pub fn transport_idle(&self) -> bool {
        self.transport.as_ref().is_none_or(|t| t.idle())
    }

    /// True once after a session came up (CONNECTED or ATTACHED): the
    /// engine thread then drops the stack pages the login used.
    pub fn take_session_started(&mut self) -> bool {
        std::mem::take(&mut self.session_started)
    }

    /// Whether the engine thread should stop driving (sync switch or free).
    pub fn take_released(&mut self) -> bool {
        std::mem::take(&mut self.released) || self.shutdown
    }

    fn handle(&self) -> Option<Connection> {
        self.core.upgrade().map(Connection::borrowed)
    }

    fn publish(&self, f: impl FnOnce(&mut PublicState)) {
        if let Some(core) = self.core.upgrade() {
            f(&mut lock(&core.state));
        }
    }

    // ---- the one blocking point ----

    /// Waits for the next event (or `timeout`), then handles everything that
    /// is ready: commands, input, due timers; finally writes what is queued.
    pub fn step(&mut self, timeout: Option<Duration>) -> Result<()> {
        let Some(core) = self.core.upgrade() else {
            self.shutdown = true;
            return Ok(());
        };
        let wait = self.wait_time(timeout);
        let fds = self.wanted_fds(&core);
        let revents = poll_fds(&fds, wait)?;
        drop(core);
        self.run_commands();
        // A transport without a descriptor (BOSH) reports through the mailbox.
        let fdless = fds.len() == 1;
        if fdless || revents.get(1).is_some_and(|r| *r != 0) {
            self.read_transport();
        }
        self.fire_timers();
        // Callbacks may have posted more: handle it before sleeping again.
        // A drain of the mailbox may also have eaten the wake-up of a BOSH
        // answer that arrived meanwhile, so look for one before sleeping.
        // And a callback's send is posted without a wake-up: look again.
        loop {
            self.run_commands();
            self.flush_transport();
            if self.transport.as_ref().is_some_and(|t| t.has_pending()) {
                self.read_transport();
            } else if !self.mailbox_is_empty() {
                continue;
            } else {
                break;
            }
        }
        self.update_readiness()
    }

    /// What a step waits on: the mailbox's wake-up, and the transport's
    /// socket (for writing too while output waits).
    fn wanted_fds(&self, core: &Core) -> Vec<(RawFd, i16)> {
        let mut fds = vec![(core.mailbox.wake_fd(), libc::POLLIN)];
        if let Some((fd, wants_write)) = self.transport.as_ref().and_then(|t| t.poll_fd()) {
            let events = if wants_write {
                libc::POLLIN | libc::POLLOUT
            } else {
                libc::POLLIN
            };
            fds.push((fd, events));
        }
        fds
    }

    /// Pollable mode: the caller's descriptor now covers what the next
    /// step would wait on.
    pub(crate) fn update_readiness(&self) -> Result<()> {
        let Some(core) = self.core.upgrade() else {
            return Ok(());
        };
        match core.readiness.get() {
            Some(r) => r
                .update(&self.wanted_fds(&core))
                .map_err(|e| Error::io_from(format!("cannot update the poll set: {e}"), e)),
            None => Ok(()),
        }
    }

    /// How long until a timer of the engine's is due (None: none is set).
    pub(crate) fn next_timeout(&self) -> Option<Duration> {
        self.wait_time(None)
    }

    /// No command waits (true too when the connection is gone).
    fn mailbox_is_empty(&self) -> bool {
        self.core
            .upgrade()
            .is_none_or(|core| core.mailbox.is_empty())
    }

    fn wait_time(&self, timeout: Option<Duration>) -> Option<Duration> {
        // Commands posted quietly from the engine's thread (a callback that
        // ran after a step's final look) must not wait for a wake-up.
        if !self.mailbox_is_empty() {
            return Some(Duration::ZERO);
        }
        let now = Instant::now();
        let deadlines = [
            self.handlers.next_deadline(),
            self.iqs.next_deadline(),
            self.connect_deadline,
            self.close_deadline,
            self.transport.as_ref().and_then(|t| t.next_deadline()),
            self.recovery.ack_deadline,
            self.recovery.reconnect_at,
            self.liveness_deadline(),
        ];
        let timer = deadlines
            .iter()
            .flatten()
            .min()
            .map(|d| d.saturating_duration_since(now));
        match (timer, timeout) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn run_commands(&mut self) {
        loop {
            let Some(core) = self.core.upgrade() else {
                return;
            };
            let mut commands = std::mem::take(&mut self.commands);
            self.cuts_seen = core.inline.cuts();
            core.mailbox.drain(&mut commands);
            drop(core);
            if commands.is_empty() {
                self.commands = commands;
                return;
            }
            let last_cut = commands.iter().rposition(Command::ends_attempt);
            for (i, command) in commands.drain(..).enumerate() {
                self.cut_queued = last_cut.is_some_and(|c| c > i);
                self.command(command);
            }
            self.cut_queued = false;
            self.commands = commands;
        }
    }

    fn read_transport(&mut self) {
        let mut incoming = std::mem::take(&mut self.incoming);
        let result = match self.transport.as_mut() {
            Some(t) => t.read(&mut incoming),
            None => Ok(()),
        };
        let generation = self.generation;
        for event in incoming.drain(..) {
            // A redirect or failure replaced the transport: the rest of
            // this batch belongs to the old one.
            if self.generation != generation {
                break;
            }
            self.on_incoming(event);
            // Handlers added or removed by a callback apply from the next stanza.
            self.run_commands();
        }
        incoming.clear();
        self.incoming = incoming;
        if let Err(e) = result {
            if self.generation == generation {
                self.on_transport_error(e);
            }
        }
    }

    fn flush_transport(&mut self) {
        if let Some(Err(e)) = self.transport.as_mut().map(|t| t.flush()) {
            self.on_transport_error(e);
        }
    }

    // ---- commands ----

    fn command(&mut self, command: Command) {
        match command {
            Command::Connect(req) => self.start_connect(req),
            Command::Attach(req) => self.start_attach(req),
            Command::AttachShared(callback) => self.start_shared_attach(callback),
            Command::SetUnackedHandler(h) => self.recovery.unacked_handler = h,
            Command::Send(elem) => self.send_stanza(elem),
            Command::SendSerialized(item) => self.send_out(item),
            Command::SendIq(req) => self.send_iq(req),
            Command::Disconnect(reason) => self.disconnect(reason),
            Command::Bind => {
                if self.phase == Phase::BindRequired {
                    self.send_bind();
                }
            }
            Command::AddHandler(h) => self.handlers.add(h),
            Command::DeleteHandler(id) => self.handlers.delete(id),
            Command::AddTimed(t) => self.handlers.add_timed(t, self.phase == Phase::Connected),
            Command::DeleteTimed(id) => self.handlers.delete_timed(id),
            Command::AddProtocolErrorHandler(proto, code, f) => self
                .protocol_error_handlers
                .push((proto.to_ascii_lowercase(), code, f)),
            Command::AddMechanism(make) => {
                let name = make().name().to_string();
                self.login
                    .custom_mechanisms
                    .retain(|c| !c().name().eq_ignore_ascii_case(&name));
                self.login.custom_mechanisms.push(make);
            }
            Command::SetTextHook(kind, hook) => self.set_text_hook(kind, hook),
            Command::SetXmlInput(h) => self.set_xml_input(h),
            Command::SetXmlOutput(h) => self.set_xml_output(h),
            // The public flag is set by pause() and resume() themselves.
            Command::Pause => self.pause(),
            Command::Resume => self.resume(),
            Command::Flush => {}
            Command::Release => self.released = true,
            Command::Shutdown => {
                // Freed while online: what disconnect() would say first, so
                // that contacts do not see us online until the server
                // notices (the transport's end() sends it if it can).
                if self.phase == Phase::Connected && !self.shared() {
                    self.say_unavailable();
                    self.final_ack();
                }
                if let Some(t) = self.transport.as_mut() {
                    t.end();
                }
                self.transport = None;
                self.shutdown = true;
            }
        }
    }

    fn next_id(&mut self, tag: &str) -> String {
        self.next_id += 1;
        format!("{}:{tag}", self.next_id)
    }

    // ---- statuses ----

    fn change_status(&mut self, status: Status, condition: Option<&str>, elem: Option<&Element>) {
        self.publish(|s| s.status = Some(status));
        self.log.status(status, condition);
        let Some(conn) = self.handle() else { return };
        if let Some(cb) = self.status_cb.as_mut() {
            cb(&conn, status, condition, elem);
        }
    }

    fn set_phase(&mut self, phase: Phase) {
        self.phase = phase;
        self.liveness_phase(phase);
        let connected = phase == Phase::Connected;
        let active = phase != Phase::Idle;
        let closing = phase == Phase::Closing;
        self.publish(|s| {
            s.authenticated = connected;
            s.connected = active;
            s.disconnecting = closing;
        });
    }

    // ---- the end ----

    /// After a panic inside a step (a bug, or a panicking callback): the
    /// session cannot be trusted any more. ERROR and DISCONNECTED are
    /// reported (a callback that panics again is not called twice), and the
    /// engine is ready for a new connect.
    pub fn recover(&mut self, why: &str) {
        if self.phase == Phase::Idle {
            return;
        }
        let recovered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.change_status(Status::Error, Some(why), None);
            self.finish(Some(why));
        }));
        if recovered.is_err() {
            self.status_cb = None;
            self.generation += 1;
            if let Some(mut t) = self.transport.take() {
                t.abort();
            }
            self.iqs.clear();
            self.set_phase(Phase::Idle);
        }
    }

    // ---- timers ----

    fn fire_timers(&mut self) {
        let now = Instant::now();
        if self.connect_deadline.is_some_and(|d| d <= now) {
            self.connect_deadline = None;
            self.login_timed_out();
            if !self.try_reconnect("connection timeout") {
                self.change_status(Status::ConnTimeout, Some("connection timeout"), None);
                self.finish(Some("connection timeout"));
            }
        }
        if self.close_deadline.is_some_and(|d| d <= now) {
            self.close_deadline = None;
            // The server never answered our close: Strophe's CONNTIMEOUT,
            // then the end anyway.
            log_at!(
                self.log,
                Warn,
                "no answer to our close within {:?}",
                self.options.disconnection_timeout
            );
            self.change_status(Status::ConnTimeout, None, None);
            self.finish(None);
        }
        self.fire_recovery_timers(now);
        self.check_liveness(now);
        if let Some(conn) = self.handle() {
            self.iqs.expire(&conn, now);
            if self.phase == Phase::Connected {
                self.handlers.fire_due(&conn, now);
            }
        }
    }

    // ---- the session is up ----

    /// Our address as the server knows it (bound, resumed, or shared).
    fn set_jid(&mut self, jid: String) {
        self.login.creds.jid = jid.clone();
        self.publish(|s| s.jid = jid);
    }

    /// The session is up, however it came: the one place that says so.
    /// What waited for it goes out first, then CONNECTED or ATTACHED.
    fn session_up(&mut self, how: Arrival) {
        self.redirects = 0;
        self.session_started = true;
        self.connect_deadline = None;
        self.set_phase(Phase::Connected);
        let jid = self.login.creds.jid.clone();
        if let Some(t) = self.transport.as_mut() {
            t.keepalive(Some(&jid));
        }
        let (status, condition) = match how {
            Arrival::Bound => {
                // <enable/> before any stanza, so that all are counted.
                self.enable_sm();
                (Status::Connected, self.back_online(false))
            }
            Arrival::Resumed { again } => {
                // Exactly what the server had not received, in the order sent.
                for text in again {
                    self.write(Outgoing::stanza(text));
                }
                (Status::Connected, self.back_online(true))
            }
            Arrival::Attached => {
                self.send_waiting();
                (Status::Attached, None)
            }
        };
        self.handlers.session_changed(true);
        self.change_status(status, condition.as_deref(), None);
    }
}
