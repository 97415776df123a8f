//! A session's life as the application drives it: `connect` (and
//! `connect_as`), attaching to a session someone else holds (`attach`,
//! `attach_shared`, `restore`), `bind` after BINDREQUIRED, `disconnect`,
//! and `close`, which ends everything. Kept together because each claims
//! or releases the one session a connection has, under the same checks.

use super::{parse_jid, Connection};
use crate::engine::{AttachRequest, Command, ConnectRequest, Phase};
use crate::error::{Error, Result};
use crate::mailbox::lock;
use crate::status::Status;
use crate::xml::Element;
use std::time::Duration;

impl Connection {
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
        self.let_engine_run(|phase| {
            matches!(phase, Phase::Connected | Phase::BindRequired | Phase::Idle)
        })
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
        self.let_engine_run(|phase| matches!(phase, Phase::Connected | Phase::Idle))
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
        self.core.inline.cut();
        self.let_engine_run(|phase| phase == Phase::Idle)
    }

    /// Binds the resource after BINDREQUIRED (explicitResourceBinding).
    pub fn bind(&self) -> Result<()> {
        if lock(&self.core.state).status != Some(Status::BindRequired) {
            return Err(Error::WrongState("bind() is for after BINDREQUIRED".into()));
        }
        self.post(Command::Bind);
        self.let_engine_run(|phase| matches!(phase, Phase::Connected | Phase::Idle))
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
        self.core.inline.cut();
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
