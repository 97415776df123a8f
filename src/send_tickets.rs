//! What a send waits for in sync mode. Each send takes a ticket after
//! posting its command; whichever thread drives the engine marks every
//! ticket taken before its step as done once the step leaves the transport
//! idle. Senders wait here, on a condition variable, instead of queueing
//! for the engine's lock one after another: one driver then writes the
//! stanzas of all the waiting senders in one exchange (one BOSH body).

use crate::mailbox::lock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

#[derive(Default)]
pub(crate) struct SendTickets {
    taken: AtomicU64,
    state: Mutex<Progress>,
    changed: Condvar,
}

#[derive(Default)]
struct Progress {
    /// Every ticket up to this one is done.
    done: u64,
    /// Counts the drivers' releases of the engine, so that a sender that
    /// found the engine taken never sleeps through its release.
    releases: u64,
}

impl SendTickets {
    /// Called after the command is posted: every ticket up to the one
    /// returned belongs to a command already in the mailbox.
    pub fn take(&self) -> u64 {
        self.taken.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// The last ticket taken, read by a driver before it drains the mailbox.
    pub fn taken(&self) -> u64 {
        self.taken.load(Ordering::Acquire)
    }

    pub fn is_done(&self, ticket: u64) -> bool {
        lock(&self.state).done >= ticket
    }

    /// The commands of every ticket up to `through` are handled and their
    /// data written.
    pub fn mark_done(&self, through: u64) {
        let mut state = lock(&self.state);
        if through > state.done {
            state.done = through;
            self.changed.notify_all();
        }
    }

    /// A driver let go of the engine: a waiting sender may take it over.
    pub fn released(&self) {
        lock(&self.state).releases += 1;
        self.changed.notify_all();
    }

    /// How many times the engine was released so far; read before trying
    /// to take it, and handed to [`SendTickets::wait`] if that failed.
    pub fn releases(&self) -> u64 {
        lock(&self.state).releases
    }

    /// Sleeps until `ticket` is done, the engine was released since
    /// `releases` was read, or `deadline` passes.
    pub fn wait(&self, ticket: u64, releases: u64, deadline: Instant) {
        let mut state = lock(&self.state);
        while state.done < ticket && state.releases == releases {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return;
            };
            state = match self.changed.wait_timeout(state, left) {
                Ok((s, _)) => s,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn a_ticket_is_done_once_marked_through() {
        let t = SendTickets::default();
        let (a, b) = (t.take(), t.take());
        assert_eq!((a, b), (1, 2));
        t.mark_done(1);
        assert!(t.is_done(a) && !t.is_done(b));
        t.mark_done(0); // never goes back
        assert!(t.is_done(a));
    }

    #[test]
    fn a_waiter_wakes_when_its_ticket_is_done_or_the_engine_is_released() {
        let t = Arc::new(SendTickets::default());
        let ticket = t.take();
        let far = Instant::now() + Duration::from_secs(30);
        let t2 = Arc::clone(&t);
        let marker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            t2.mark_done(1);
        });
        t.wait(ticket, t.releases(), far);
        assert!(t.is_done(ticket));
        marker.join().unwrap();

        let ticket = t.take();
        let seen = t.releases();
        let t2 = Arc::clone(&t);
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            t2.released();
        });
        let start = Instant::now();
        t.wait(ticket, seen, far);
        assert!(!t.is_done(ticket));
        assert!(start.elapsed() < Duration::from_secs(10));
        releaser.join().unwrap();
        // A release before the wait began ends it at once.
        t.wait(ticket, seen, far);
    }

    #[test]
    fn a_wait_ends_at_its_deadline() {
        let t = SendTickets::default();
        let ticket = t.take();
        let start = Instant::now();
        t.wait(ticket, t.releases(), start + Duration::from_millis(30));
        assert!(start.elapsed() >= Duration::from_millis(30));
        assert!(!t.is_done(ticket));
    }
}
