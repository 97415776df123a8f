//! Handshakes made on the engine's own thread, where the caller waits for
//! the outcome anyway (the engine thread of threaded mode, sync mode's
//! blocking `connect()`): no helper thread to start, which with the cores
//! loaded can wait a time slice (milliseconds) per login. Two things a helper
//! thread gave for free are kept: the connect deadline still holds (the
//! watchdog cuts a handshake that outlives it, as the engine's timer
//! would), and `disconnect()` or freeing the connection still ends the
//! attempt at once (they cut it through the connection's `InlineSlot`).

use super::handshake_line::HandshakeLine;
use crate::mailbox::lock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Where a connection's inline handshake can be cut from other threads.
#[derive(Default)]
pub(crate) struct InlineSlot {
    line: Mutex<Option<HandshakeLine>>,
    /// How many cuts were asked for: one asked for after the engine last
    /// looked (its command may not have been seen yet) forbids blocking.
    /// Changed only with `line` locked; read without it on every batch of
    /// commands, so that the engine's hot path takes no lock for it.
    cuts: AtomicU64,
}

impl InlineSlot {
    /// The cuts so far; the engine reads it before it takes its commands.
    pub fn cuts(&self) -> u64 {
        self.cuts.load(Ordering::Acquire)
    }

    /// A line for a handshake about to block until `deadline`, unless a cut
    /// came after `seen` or no watchdog can keep the deadline (then the
    /// caller must not block).
    pub fn begin(&self, seen: u64, deadline: Instant) -> Option<HandshakeLine> {
        let mut slot = lock(&self.line);
        if self.cuts.load(Ordering::Acquire) != seen {
            return None;
        }
        let line = HandshakeLine::default();
        if !watch(&line, deadline) {
            return None;
        }
        *slot = Some(line.clone());
        Some(line)
    }

    pub fn end(&self) {
        *lock(&self.line) = None;
    }

    /// A command that ends the attempt was posted: cut the handshake in
    /// progress, and keep the next one from blocking until it is seen.
    pub fn cut(&self) {
        let mut slot = lock(&self.line);
        self.cuts.fetch_add(1, Ordering::AcqRel);
        if let Some(line) = slot.take() {
            line.abort();
        }
    }
}

/// How long the watchdog waits for more work before its thread ends.
const LINGER: Duration = Duration::from_secs(1);

struct Watched {
    lines: Vec<(Instant, HandshakeLine)>,
    running: bool,
}

static WATCHED: Mutex<Watched> = Mutex::new(Watched {
    lines: Vec::new(),
    running: false,
});
static CHANGED: Condvar = Condvar::new();

/// Has `line` cut at `deadline` if its handshake is still going then;
/// false if the watchdog's thread cannot start. The watchdog is woken only
/// when this deadline comes first: logins with the same connect timeout
/// add later ones, so it mostly sleeps on.
fn watch(line: &HandshakeLine, deadline: Instant) -> bool {
    let mut watched = lock(&WATCHED);
    watched.lines.retain(|(_, l)| !l.finished());
    let earliest = watched.lines.iter().all(|(d, _)| deadline < *d);
    watched.lines.push((deadline, line.clone()));
    if !watched.running {
        let started = std::thread::Builder::new()
            .name("epode-watchdog".into())
            .stack_size(64 * 1024)
            .spawn(watchdog);
        if started.is_err() {
            watched.lines.pop();
            return false;
        }
        watched.running = true;
    } else if earliest {
        CHANGED.notify_one();
    }
    true
}

fn watchdog() {
    let mut watched = lock(&WATCHED);
    loop {
        let now = Instant::now();
        watched.lines.retain(|(deadline, line)| {
            if *deadline <= now && !line.finished() {
                line.abort();
            }
            *deadline > now && !line.finished()
        });
        let wait = match watched.lines.iter().map(|(d, _)| *d).min() {
            Some(next) => next - now,
            None => LINGER,
        };
        let (again, waited) = CHANGED
            .wait_timeout(watched, wait)
            .unwrap_or_else(|p| p.into_inner());
        watched = again;
        if waited.timed_out() && watched.lines.is_empty() && wait == LINGER {
            watched.running = false;
            return;
        }
    }
}
