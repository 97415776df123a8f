//! Reading a connection: the state the engine publishes (JID, statuses,
//! flags, the service in use, the last failure's detail), the options,
//! and the XEP-0198 state that moves a session to another connection.
//! Kept apart because none of it posts to the engine: each reads under a
//! lock, and so never waits for a step.

use super::Connection;
use crate::engine::PublicState;
use crate::error::{Error, Result};
use crate::mailbox::lock;
use crate::options::Options;
use crate::sm::StreamManagement;
use crate::status::Status;
use std::sync::atomic::Ordering;
use std::time::Duration;

impl Connection {
    /// The options the connection was created with.
    pub fn options(&self) -> &Options {
        &self.core.options
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
}
