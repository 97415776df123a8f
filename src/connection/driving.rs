//! Who runs the engine: its own thread, or the caller's in sync mode
//! (`set_sync`, `run_once`, and the waits of the blocking calls). The one
//! place that steps the engine and turns a panic inside a step into
//! `Error::Internal`, so that the rest of the handle only posts commands.

use super::Connection;
use crate::engine::{Command, Core, Engine, Phase};
use crate::error::{Error, Result};
use crate::mailbox::lock;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

impl Connection {
    /// Starts the engine thread unless it runs or the caller drives it.
    pub(super) fn ensure_thread(&self) -> Result<()> {
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

    /// Switches sync mode (Strophe's `options.sync`). Switching on while the
    /// engine thread runs hands the engine to the caller's thread (after
    /// the handshake it may be making: at most `connect_timeout`).
    pub fn set_sync(&self, on: bool) -> Result<()> {
        if self.on_engine_thread() && on {
            return Err(Error::WouldDeadlock(
                "cannot take the engine from inside its own callback".into(),
            ));
        }
        if self.core.pollable && !on {
            return Err(Error::WrongState(
                "a pollable connection is driven by the caller's loop; it cannot leave sync mode"
                    .into(),
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

    /// Pollable mode: the descriptor the caller's loop waits on for
    /// readability. While it is readable, `run_once(Duration::ZERO)` has
    /// work; it is level-triggered and stays the same for the
    /// connection's life (the caller must not close it).
    ///
    /// ```
    /// use epode::{Connection, Options};
    /// use std::time::Duration;
    ///
    /// let mut options = Options::default();
    /// options.set("pollable", "true")?;
    /// let conn = Connection::new("ws://127.0.0.1:5280/xmpp-websocket", options)?;
    /// let fd = conn.poll_fd()?; // wait on it in poll(), epoll, asyncio ...
    /// // ... and when it is readable, or conn.next_timeout() has passed:
    /// conn.run_once(Duration::ZERO)?; // never waits
    /// # let _ = fd;
    /// # Ok::<(), epode::Error>(())
    /// ```
    pub fn poll_fd(&self) -> Result<std::os::fd::RawFd> {
        if !self.core.pollable {
            return Err(Error::WrongState(
                "poll_fd() is for connections made with the pollable option".into(),
            ));
        }
        if let Some(r) = self.core.readiness.get() {
            return Ok(r.fd());
        }
        let made = crate::readiness::Readiness::new()?;
        let engine = lock(&self.core.engine);
        let fd = self.core.readiness.get_or_init(|| made).fd();
        engine.update_readiness()?;
        Ok(fd)
    }

    /// Pollable mode: how long the caller's loop may wait on
    /// [`poll_fd`](Self::poll_fd) before `run_once(Duration::ZERO)` is due
    /// anyway for a timer (None: no timer is set; wait for the descriptor).
    pub fn next_timeout(&self) -> Result<Option<Duration>> {
        if !self.core.pollable {
            return Err(Error::WrongState(
                "next_timeout() is for connections made with the pollable option".into(),
            ));
        }
        if self.on_engine_thread() {
            return Err(Error::WouldDeadlock(
                "next_timeout from inside a callback".into(),
            ));
        }
        Ok(lock(&self.core.engine).next_timeout())
    }

    /// After a command was posted: the engine thread takes it; in sync
    /// mode the caller drives until `done`; in pollable mode the caller's
    /// loop will (the post made the descriptor readable).
    pub(super) fn let_engine_run(&self, done: impl Fn(Phase) -> bool) -> Result<()> {
        if self.core.pollable {
            Ok(())
        } else if self.core.sync.load(Ordering::Acquire) {
            self.drive_until(done, None)
        } else {
            self.ensure_thread()
        }
    }

    pub(super) fn drive(&self, timeout: Option<Duration>) -> Result<()> {
        self.drive_locked(lock(&self.core.engine), timeout, false)
    }

    /// One step on the caller's thread. A step that leaves the transport
    /// idle has written every send whose ticket was taken before it began.
    /// `may_block`: the caller waits until the engine is done anyway (sync
    /// mode's `connect()`, `disconnect()` ...), so a handshake may block.
    pub(super) fn drive_locked(
        &self,
        mut engine: MutexGuard<'_, Engine>,
        timeout: Option<Duration>,
        may_block: bool,
    ) -> Result<()> {
        *lock(&self.core.driver) = Some(std::thread::current().id());
        let taken = self.core.tickets.taken();
        engine.may_block = may_block;
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.step(timeout)));
        engine.may_block = false;
        if matches!(result, Ok(Ok(()))) && engine.transport_idle() {
            self.core.tickets.mark_done(taken);
        }
        *lock(&self.core.driver) = None;
        drop(engine);
        self.core.tickets.released();
        match result {
            Ok(r) => r,
            Err(panic) => Err(Error::Internal(format!(
                "the engine panicked: {}",
                crate::panic::panic_message(&panic)
            ))),
        }
    }

    pub(super) fn drive_until(
        &self,
        done: impl Fn(Phase) -> bool,
        limit: Option<Duration>,
    ) -> Result<()> {
        if self.on_engine_thread() {
            return Ok(());
        }
        let deadline = limit.map(|l| Instant::now() + l);
        loop {
            let engine = lock(&self.core.engine);
            self.drive_locked(engine, Some(Duration::from_millis(250)), true)?;
            let phase = lock(&self.core.engine).phase();
            if done(phase) && self.core.mailbox.is_empty() {
                return Ok(());
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(Error::Timeout("waiting for the engine".into()));
            }
        }
    }

    /// Whether the caller is inside one of this connection's callbacks.
    pub fn in_callback(&self) -> bool {
        self.on_engine_thread()
    }
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
        // The caller waits for what this thread does: a handshake may block it.
        engine.may_block = true;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.step(None)));
        engine.may_block = false;
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
