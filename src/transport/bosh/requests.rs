//! The requests in flight and the order they may leave in (XEP-0124 §14):
//! which rid may be sent now, which failed one goes again, and when.
//!
//! Requests travel on separate TCP connections, so one written after
//! another can still reach the server first. XEP-0124 wants the server to
//! sort them; ejabberd 23.01 parks the early one and, when its predecessor
//! is then held empty, never takes it up again: the session stalls until
//! the request times out, and sending it again crashes the session
//! (`key_exists` in its log, `item-not-found` here). So a request is sent
//! only once every earlier one is written and has *arrived*: answered,
//! sent before an answer to an earlier request came (the server answers a
//! held request when a newer one comes), or on the wire for `SETTLE`.
//! Without that, one run in ten of 1,000 messages with 20 link cuts lost
//! the session on a loaded machine.
//!
//! The answer counts even when it comes before the worker reports the
//! write: that report waits for the worker thread to run again, which on a
//! loaded machine can be after the server has already answered.

use super::retry_delay;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a written request must have been on the wire before the next
/// rid may follow without other evidence that it arrived. Strophe.js sends
/// on a 100 ms tick, so no Strophe user waits longer than this.
pub(super) const SETTLE: Duration = Duration::from_millis(100);

/// Failed sends of one request after which the session is given up.
pub(super) const MAX_ERRORS: u32 = 5;

struct InFlight {
    body: Arc<str>,
    attempt: u32,
    /// When it was on the wire in full (see transport/http.rs).
    written_at: Option<Instant>,
    /// An answer to an earlier rid came after it was sent.
    arrived: bool,
    /// Set while waiting to send it again after an error.
    resend_at: Option<Instant>,
}

impl InFlight {
    fn settled(&self, now: Instant) -> bool {
        match self.written_at {
            Some(t) => self.resend_at.is_none() && (self.arrived || now >= t + SETTLE),
            None => false,
        }
    }
}

/// What an error does to a request.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Retry {
    /// Sent again at this time.
    At(Instant),
    /// It failed too often: the session is over.
    GiveUp,
}

/// The requests sent and not yet answered, by rid.
#[derive(Default)]
pub(super) struct Requests {
    by_rid: BTreeMap<u64, InFlight>,
}

impl Requests {
    /// A request about to go out for the first time.
    pub fn add(&mut self, rid: u64, body: &Arc<str>) {
        let request = InFlight {
            body: Arc::clone(body),
            attempt: 0,
            written_at: None,
            arrived: false,
            resend_at: None,
        };
        self.by_rid.insert(rid, request);
    }

    pub fn len(&self) -> usize {
        self.by_rid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_rid.is_empty()
    }

    pub fn clear(&mut self) {
        self.by_rid.clear();
    }

    /// Whether an answer about `attempt` of `rid` is about the request as
    /// it stands (not one given up on or already sent again).
    pub fn is_current(&self, rid: u64, attempt: u32) -> bool {
        self.by_rid.get(&rid).is_some_and(|r| r.attempt == attempt)
    }

    pub fn on_written(&mut self, rid: u64, now: Instant) {
        if let Some(r) = self.by_rid.get_mut(&rid) {
            r.written_at = Some(now);
        }
    }

    /// `rid` was answered: it is done, and every later request on its way
    /// (not waiting to be sent again) has arrived.
    pub fn on_answered(&mut self, rid: u64) {
        self.by_rid.remove(&rid);
        for (_, later) in self.by_rid.range_mut(rid + 1..) {
            if later.resend_at.is_none() {
                later.arrived = true;
            }
        }
    }

    /// `rid` failed: the same rid and body go again after a delay that
    /// grows with its failures (only its own: one cut fails every request
    /// in flight at once), capped at `cap`.
    pub fn on_failed(&mut self, rid: u64, now: Instant, cap: Duration) -> Retry {
        let Some(r) = self.by_rid.get_mut(&rid) else {
            return Retry::GiveUp;
        };
        let failures = r.attempt + 1;
        if failures >= MAX_ERRORS {
            return Retry::GiveUp;
        }
        r.written_at = None;
        r.arrived = false;
        let at = now + retry_delay(failures).min(cap);
        r.resend_at = Some(at);
        Retry::At(at)
    }

    /// Whether a new rid may be sent: every request before it has arrived.
    pub fn all_settled(&self, now: Instant) -> bool {
        self.by_rid.values().all(|r| r.settled(now))
    }

    /// Whether everything sent is at least on the wire (for sync mode).
    pub fn all_written(&self) -> bool {
        self.by_rid
            .values()
            .all(|r| r.written_at.is_some() && r.resend_at.is_none())
    }

    /// The failed request to send again next, and when: the lowest, and
    /// only once every request before it has arrived, so that the server
    /// gets them in rid order.
    pub fn next_resend(&self, now: Instant) -> Option<(u64, Instant)> {
        for (rid, r) in &self.by_rid {
            if let Some(at) = r.resend_at {
                return Some((*rid, at));
            }
            if !r.settled(now) {
                return None;
            }
        }
        None
    }

    /// Whether a failed request waits to be sent again.
    pub fn resend_pending(&self) -> bool {
        self.by_rid.values().any(|r| r.resend_at.is_some())
    }

    /// Takes the resend that is due now: its rid, body and attempt number.
    pub fn take_due_resend(&mut self, now: Instant) -> Option<(u64, Arc<str>, u32)> {
        let (rid, at) = self.next_resend(now)?;
        if at > now {
            return None;
        }
        let r = self.by_rid.get_mut(&rid)?;
        r.resend_at = None;
        r.attempt += 1;
        Some((rid, Arc::clone(&r.body), r.attempt))
    }

    /// When the earliest request on the wire, not yet known to have
    /// arrived, counts as arrived.
    pub fn next_settle(&self) -> Option<Instant> {
        self.by_rid
            .values()
            .filter(|r| !r.arrived && r.resend_at.is_none())
            .filter_map(|r| r.written_at)
            .min()
            .map(|t| t + SETTLE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> Arc<str> {
        "<body/>".into()
    }

    #[test]
    fn a_new_rid_waits_until_the_one_before_has_arrived() {
        let t0 = Instant::now();
        let mut r = Requests::default();
        r.add(10, &body());
        assert!(!r.all_settled(t0), "not even written");
        r.on_written(10, t0);
        assert!(!r.all_settled(t0), "written is not arrived");
        assert_eq!(r.next_settle(), Some(t0 + SETTLE));
        assert!(r.all_settled(t0 + SETTLE), "on the wire long enough");
    }

    #[test]
    fn an_answer_to_an_earlier_rid_shows_the_later_ones_arrived() {
        let t0 = Instant::now();
        let mut r = Requests::default();
        r.add(10, &body());
        r.on_written(10, t0);
        r.add(11, &body());
        r.add(12, &body());
        r.on_written(11, t0);
        r.on_answered(10);
        assert!(!r.all_settled(t0), "12 is not written yet");
        r.on_written(12, t0);
        assert!(r.all_settled(t0), "both were sent before the answer");
        assert_eq!(r.next_settle(), None);
        r.add(13, &body());
        r.on_written(13, t0);
        assert!(!r.all_settled(t0), "13 was sent after the answer");
        r.on_answered(11);
        assert!(r.all_settled(t0));
    }

    #[test]
    fn failed_requests_go_again_lowest_first_each_once_the_one_before_arrived() {
        let t0 = Instant::now();
        let cap = Duration::from_secs(60);
        let mut r = Requests::default();
        for rid in [10, 11] {
            r.add(rid, &body());
            r.on_written(rid, t0);
        }
        // A cut fails both; 11's answer may come first.
        let Retry::At(at) = r.on_failed(11, t0, cap) else {
            panic!("gave up")
        };
        assert!(at > t0);
        assert_eq!(r.on_failed(10, t0, cap), Retry::At(at));
        assert_eq!(r.take_due_resend(t0), None, "not yet due");
        let (rid, _, attempt) = r.take_due_resend(at).unwrap();
        assert_eq!((rid, attempt), (10, 1));
        assert!(!r.is_current(10, 0) && r.is_current(10, 1));
        assert_eq!(r.take_due_resend(at), None, "10 is not written yet");
        r.on_written(10, at);
        assert_eq!(r.take_due_resend(at), None, "10 has not arrived yet");
        let (rid, _, _) = r.take_due_resend(at + SETTLE).unwrap();
        assert_eq!(rid, 11);
        assert!(!r.all_settled(at + SETTLE), "11 is not written yet");
    }

    #[test]
    fn a_request_that_keeps_failing_ends_the_session() {
        let t0 = Instant::now();
        let mut r = Requests::default();
        r.add(10, &body());
        for n in 1..MAX_ERRORS {
            assert!(matches!(r.on_failed(10, t0, SETTLE), Retry::At(_)));
            let (_, _, attempt) = r.take_due_resend(t0 + SETTLE).unwrap();
            assert_eq!(attempt, n);
        }
        assert_eq!(r.on_failed(10, t0, SETTLE), Retry::GiveUp);
    }
}
