//! The shared session's liveness check. Its socket belongs to the
//! manager, so the manager watches it: a handle could not tell what a
//! probe of another's socket proves. After `pingInterval` with nothing
//! heard, a WebSocket ping frame goes out (answered below XMPP, so no
//! handle sees a stray IQ result); nothing heard `pingTimeout` later, the
//! link is lost for every handle, and each reconnects as its options say.

use std::time::{Duration, Instant};

/// What the check asks the manager to do now.
#[derive(Debug, PartialEq)]
pub(super) enum Verdict {
    Nothing,
    Probe,
    /// The link is silent past the bound: the text says for how long.
    Dead(String),
}

pub(super) struct Watch {
    interval: Duration,
    timeout: Duration,
    /// When the watched session came up (None: nothing to watch).
    since: Option<Instant>,
    /// When the probe that is out was sent.
    probe: Option<Instant>,
}

impl Watch {
    /// A check with `interval` (zero: off) and `timeout`.
    pub fn new(interval: Duration, timeout: Duration) -> Watch {
        Watch {
            interval,
            timeout,
            since: None,
            probe: None,
        }
    }

    /// The session is up: watch it from `now`.
    pub fn start(&mut self, now: Instant) {
        if !self.interval.is_zero() {
            self.since = Some(now);
        }
    }

    fn last_sign_of_life(&self, heard: Option<Instant>) -> Option<Instant> {
        let since = self.since?;
        Some(heard.map_or(since, |h| h.max(since)))
    }

    /// When the check next has something to do.
    pub fn deadline(&self, heard: Option<Instant>) -> Option<Instant> {
        let last = self.last_sign_of_life(heard)?;
        Some(match self.probe {
            Some(sent) if last <= sent => sent + self.timeout,
            _ => last + self.interval,
        })
    }

    /// Looks at the link at `now`, `heard` being the last input.
    pub fn check(&mut self, now: Instant, heard: Option<Instant>) -> Verdict {
        let Some(last) = self.last_sign_of_life(heard) else {
            return Verdict::Nothing;
        };
        if let Some(sent) = self.probe {
            if last <= sent {
                if now < sent + self.timeout {
                    return Verdict::Nothing;
                }
                self.since = None;
                self.probe = None;
                let silent = now.saturating_duration_since(last).as_secs_f64();
                return Verdict::Dead(format!(
                    "ping-timeout: nothing heard from the server for {silent:.1} s"
                ));
            }
            self.probe = None;
        }
        if now >= last + self.interval {
            self.probe = Some(now);
            return Verdict::Probe;
        }
        Verdict::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn silence_gets_a_probe_after_the_interval_and_is_dead_after_the_timeout() {
        let t0 = Instant::now();
        let mut w = Watch::new(10 * S, 3 * S);
        assert_eq!(w.deadline(None), None, "nothing watched before start");
        w.start(t0);
        assert_eq!(w.deadline(None), Some(t0 + 10 * S));
        assert_eq!(w.check(t0 + 9 * S, None), Verdict::Nothing);
        assert_eq!(w.check(t0 + 10 * S, None), Verdict::Probe);
        assert_eq!(w.deadline(None), Some(t0 + 13 * S));
        assert_eq!(w.check(t0 + 12 * S, None), Verdict::Nothing);
        assert_eq!(
            w.check(t0 + 13 * S, None),
            Verdict::Dead("ping-timeout: nothing heard from the server for 13.0 s".into())
        );
        assert_eq!(w.deadline(None), None, "a dead link is not watched");
    }

    #[test]
    fn anything_heard_answers_the_probe_and_restarts_the_interval() {
        let t0 = Instant::now();
        let mut w = Watch::new(10 * S, 3 * S);
        w.start(t0);
        assert_eq!(w.check(t0 + 10 * S, None), Verdict::Probe);
        let pong = t0 + 11 * S;
        assert_eq!(w.check(t0 + 12 * S, Some(pong)), Verdict::Nothing);
        assert_eq!(w.deadline(Some(pong)), Some(pong + 10 * S));
        // A busy link never gets a probe.
        assert_eq!(w.check(t0 + 20 * S, Some(t0 + 19 * S)), Verdict::Nothing);
    }

    #[test]
    fn a_zero_interval_turns_the_check_off() {
        let t0 = Instant::now();
        let mut w = Watch::new(Duration::ZERO, 3 * S);
        w.start(t0);
        assert_eq!(w.deadline(None), None);
        assert_eq!(w.check(t0 + 1000 * S, None), Verdict::Nothing);
    }
}
